// The chatledger-migrate commands: each opens its connection, calls its building blocks and
// reports in plain words. Exit statuses follow docs/reference.md.
#include "migrator/commands.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cstdio>
#include <ostream>

#include "config/target.hpp"
#include "core/json.hpp"
#include "migrator/status_repository.hpp"
#include "schema/apply.hpp"
#include "schema/steps.hpp"

namespace chatledger::migrator {

pg::access_context access_for(const config& cfg, const std::string& command) {
    pg::access_context a{"chatledger-migrate " + command, "", command == "schema"};
    if (command == "status")
        a.grant_role = schema::roles_for(cfg).reader.name();
    return a;
}

pg::connection open_connection(const command_context& ctx, const char* command) {
    return pg::connection::open(ctx.cfg.database,
                                ctx.cfg.database.application_name + " migrate " + command,
                                access_for(ctx.cfg, command));
}

namespace {

/// The dry run's report: the SQL that would run, then what would be put back.
int print_schema_dry_run(const command_context& ctx, const schema::apply_report& report) {
    ctx.out << report.sql;
    for (const auto& why : {report.restored, report.guard_restored})
        if (why)
            ctx.out << "-- " << *why << "; the capture step above would restore it\n";
    for (const auto& problem : report.reenabled)
        ctx.out << "-- " << problem << "; would be enabled again (ENABLE ALWAYS)\n";
    for (const auto& d : report.deployment.restored)
        ctx.out << "-- " << d.problem << "; would be restored:\n" << d.remedy << ";\n";
    const bool restoring = report.restored || report.guard_restored;
    ctx.out << "-- dry run: " << report.applied.size() + (restoring ? 1 : 0)
            << " step(s) would be applied; nothing was changed\n";
    return 0;
}

/// What schema put back of the roles, owners and privileges, and what it could not.
void report_deployment(const command_context& ctx, const schema::restore_report& r) {
    if (r.joined_owner_role)
        ctx.out << "granted " << schema::roles_for(ctx.cfg).owner.name()
                << " to this login, as step 0001 does: only its members hand objects to it\n";
    for (const auto& d : r.restored) {
        spdlog::warn("{}; restoring it", d.problem);
        ctx.out << "fixed: " << d.problem << " (ran: " << d.remedy << ")\n";
    }
    for (const auto& [d, why] : r.unrestored) {
        spdlog::error(
            "cannot restore: {}: {} HINT: have a superuser (or the role that owns or "
            "granted it) run: {}",
            d.problem, why, d.remedy);
        ctx.out << "cannot restore: " << d.problem << ": " << why
                << " (to run as a superuser: " << d.remedy << ")\n";
    }
}

/// Fails `schema` after its transaction committed when something could not be put back.
void fail_on_unrestored(const schema::restore_report& r) {
    if (!r.unrestored.empty())
        throw error("schema restored what it could, but " + std::to_string(r.unrestored.size()) +
                        " problem(s) of the ledger's roles, owners or privileges remain (named "
                        "above)",
                    "run the statement logged with each as a superuser, then run schema again");
}

/// apply_schema(), again when another session's change of the same role or grant collided
/// with it: `schema` runs in one transaction, so a failed attempt left nothing behind.
schema::apply_report apply_schema_retrying(pg::connection& conn, const command_context& ctx) {
    constexpr int attempts = 5;
    for (int attempt = 1;; ++attempt) {
        try {
            return schema::apply_schema(conn, ctx.cfg, ctx.dry_run);
        } catch (const pg::catalog_conflict& e) {
            if (attempt == attempts)
                throw;
            spdlog::warn(
                "{}; another session changed the same role or grant at once, applying "
                "again (attempt {} of {})",
                e.what(), attempt + 1, attempts);
        }
    }
}

}  // namespace

int schema_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "schema");
    auto report = apply_schema_retrying(conn, ctx);
    for (const auto& w : report.warnings) {
        spdlog::warn("{}", w);
        // A dry run prints SQL, where a warning can only be a comment.
        ctx.out << (ctx.dry_run ? "-- warning: " : "warning: ") << w << "\n";
    }
    if (ctx.dry_run)
        return print_schema_dry_run(ctx, report);
    for (const auto& step : report.applied) spdlog::info("applied {}", step);
    if (report.restored) {
        spdlog::warn("{}; restoring it", *report.restored);
        ctx.out << "restored the capture trigger on " << ctx.cfg.legacy.table.display() << "\n";
    }
    if (report.guard_restored) {
        spdlog::warn("{}; restoring it", *report.guard_restored);
        ctx.out << "restored the guard trigger on " << ctx.cfg.backup.table.display() << "\n";
    }
    for (const auto& problem : report.reenabled) {
        spdlog::warn("{}; enabling it again", problem);
        ctx.out << "enabled again: " << problem << "\n";
    }
    report_deployment(ctx, report.deployment);
    const bool restored = report.restored || report.guard_restored || !report.reenabled.empty() ||
                          !report.deployment.restored.empty() ||
                          report.deployment.joined_owner_role;
    if (report.applied.empty() && restored) {
        ctx.out << "ledger schema " << ctx.cfg.ledger.schema.name() << " is at version "
                << report.version_after << "\n";
    } else if (report.applied.empty() && report.deployment.unrestored.empty()) {
        ctx.out << "ledger schema " << ctx.cfg.ledger.schema.name() << " is up to date at version "
                << report.version_after << "; nothing to do\n";
    } else if (!report.applied.empty()) {
        ctx.out << "ledger schema " << ctx.cfg.ledger.schema.name() << " upgraded from version "
                << report.version_before << " to " << report.version_after << " ("
                << report.applied.size() << " step(s) applied)\n";
    }
    fail_on_unrestored(report.deployment);
    return 0;
}

namespace {

/// status exits 1 when something needs someone: the capture trigger or a ledger trigger not in
/// place, a conversation the daemon cannot sync, or a legacy table that is not there (its
/// counts would read "7 of 0").
int status_exit(const status_figures& f) {
    const bool attention = f.capture_problem || !f.ledger_problems.empty() ||
                           !f.deployment_problems.empty() || !f.sync_failures.empty() ||
                           f.legacy_rows < 0;
    return attention ? static_cast<int>(exit_status::differences) : 0;
}

/// The triggers that carry the guarantees, and who holds the daemon role (lines of `status`).
void print_trust(const command_context& ctx, const status_figures& f) {
    ctx.out << "capture trigger        "
            << (f.schema_version == 0
                    ? std::string("not installed (run: chatledger-migrate schema)")
                : f.capture_problem ? "NEEDS ATTENTION: " + *f.capture_problem +
                                          " (run: chatledger-migrate schema, as the DBA)"
                                    : std::string("in place, ENABLE ALWAYS"))
            << "\n";
    if (f.schema_version > 0) {
        ctx.out << "ledger triggers        "
                << (f.ledger_problems.empty() ? "in place, ENABLE ALWAYS"
                                              : "NEEDS ATTENTION (run: chatledger-migrate schema)")
                << "\n";
        for (const auto& p : f.ledger_problems) ctx.out << "                       " << p << "\n";
        ctx.out << "roles and privileges   "
                << (f.deployment_problems.empty()
                        ? "as the schema steps set them up"
                        : "NEEDS ATTENTION (run: chatledger-migrate schema, as the DBA)")
                << "\n";
        for (const auto& p : f.deployment_problems)
            ctx.out << "                       " << p << "\n";
        std::string logins;
        for (const auto& l : f.daemon_logins) logins += (logins.empty() ? "" : ", ") + l;
        ctx.out << "daemon role held by    " << (logins.empty() ? "no login" : logins) << "\n";
    }
    // They run with the daemon login's privileges whenever its rewrite fires them.
    for (const auto& t : f.foreign_triggers)
        ctx.out << "on the legacy table    " << t << " (fired by the daemon's rewrites)\n";
}

/// A JSON array of strings.
std::string json_strings(const std::vector<std::string>& v) {
    std::string out = "[";
    for (size_t i = 0; i < v.size(); ++i) {
        // Appended piece by piece: `"," + string` trips GCC 12's -Wrestrict at -O2.
        if (i)
            out += ',';
        out += core::json_string(v[i]);
    }
    out += ']';
    return out;
}

/// The queue's size, dead rows and the oldest open transaction, as fields of the status object.
void print_queue_health_json(const command_context& ctx, const schema::queue_health& q) {
    ctx.out << ",\"sync_queue_bytes\":" << q.bytes << ",\"sync_queue_dead_rows\":" << q.dead_rows
            << ",\"oldest_transaction\":";
    if (!q.oldest) {
        ctx.out << "null";
        return;
    }
    const auto& o = *q.oldest;
    ctx.out << "{\"pid\":" << (o.pid ? std::to_string(*o.pid) : std::string("null"))
            << ",\"application_name\":" << core::json_string(o.application_name)
            << ",\"state\":" << core::json_string(o.state) << ",\"age_s\":";
    if (o.age_s)
        ctx.out << *o.age_s;
    else
        ctx.out << "null";
    ctx.out << ",\"xid_age\":" << o.xid_age << "}";
}

/// Two lines of `status`: what the queue occupies, and the transaction that keeps its dead rows.
void print_queue_health(const command_context& ctx, const schema::queue_health& q) {
    char line[512];
    std::snprintf(line, sizeof line, "sync queue size        %.1f MB, %lld dead rows\n",
                  static_cast<double>(q.bytes) / (1024 * 1024), q.dead_rows);
    ctx.out << line;
    if (!q.oldest) {
        ctx.out << "oldest transaction     "
                << (q.oldest_read ? "none open" : "not shown before schema step 0009") << "\n";
        return;
    }
    const auto& o = *q.oldest;
    const std::string age = o.age_s ? std::to_string(static_cast<long long>(*o.age_s)) + " s"
                                    : "age unknown (the owner role lacks pg_read_all_stats)";
    ctx.out << "oldest transaction     " << age << ", " << o.xid_age << " transactions ago, "
            << (o.pid ? "pid " + std::to_string(*o.pid) : std::string("prepared")) << ", "
            << "application '" << o.application_name << "'"
            << (o.state.empty() ? "" : ", " + o.state) << "\n";
}

void print_status_json(const command_context& ctx, const status_figures& f) {
    const auto t = resolve_target(ctx.cfg.database);
    auto number = [&](const std::optional<double>& v) {
        if (v)
            ctx.out << *v;
        else
            ctx.out << "null";
    };
    ctx.out << "{\"target\":{\"config\":" << core::json_string(ctx.cfg.source)
            << ",\"host\":" << core::json_string(t.host)
            << ",\"port\":" << core::json_string(t.port)
            << ",\"dbname\":" << core::json_string(t.dbname)
            << ",\"user\":" << core::json_string(t.user)
            << ",\"legacy_table\":" << core::json_string(ctx.cfg.legacy.table.display())
            << "},\"ledger_schema\":" << core::json_string(ctx.cfg.ledger.schema.name())
            << ",\"schema_version\":" << f.schema_version
            << ",\"latest_schema_version\":" << f.latest_version << ",\"schema_history\":[";
    for (size_t i = 0; i < f.schema_history.size(); ++i) {
        const auto& h = f.schema_history[i];
        auto text = [&](const std::string& v) {
            return h.applied ? core::json_string(v) : std::string("null");
        };
        ctx.out << (i ? "," : "") << "{\"version\":" << h.version
                << ",\"name\":" << core::json_string(h.name) << ",\"state\":\""
                << (h.applied ? "applied" : "pending") << "\",\"applied_at\":" << text(h.applied_at)
                << ",\"applied_by\":" << text(h.applied_by) << ",\"checksum\":" << text(h.checksum)
                << "}";
    }
    ctx.out << "],\"ledger_messages\":" << f.ledger_messages
            << ",\"legacy_table_exists\":" << (f.legacy_rows >= 0 ? "true" : "false")
            << ",\"legacy_rows\":"
            << (f.legacy_rows >= 0 ? std::to_string(f.legacy_rows) : std::string("null"))
            << ",\"conversations_migrated\":" << f.conversations_migrated
            << ",\"sync_queue_depth\":" << f.queue.waiting << ",\"sync_queue_oldest_age_s\":";
    number(f.queue.oldest_waiting_age_s);
    print_queue_health_json(ctx, f.queue);
    ctx.out << ",\"capture_trigger\":"
            << (f.capture_problem ? core::json_string(*f.capture_problem) : std::string("\"ok\""))
            << ",\"legacy_table_triggers\":" << json_strings(f.foreign_triggers)
            << ",\"daemon_logins\":" << json_strings(f.daemon_logins)
            << ",\"ledger_trigger_problems\":" << json_strings(f.ledger_problems)
            << ",\"deployment_problems\":" << json_strings(f.deployment_problems);
    ctx.out << ",\"daemons\":[";
    for (size_t i = 0; i < f.daemons.size(); ++i) {
        const auto& d = f.daemons[i];
        ctx.out << (i ? "," : "") << "{\"instance\":" << core::json_string(d.instance)
                << ",\"heartbeat_age_s\":" << d.heartbeat_age_s
                << ",\"stale\":" << (d.stale ? "true" : "false") << ",\"rewrites\":" << d.rewrites
                << ",\"drifts_healed\":" << d.drifts_healed
                << ",\"messages_captured\":" << d.messages_captured << ",\"lag_p50_ms\":";
        number(d.lag_p50_ms);
        ctx.out << ",\"lag_p99_ms\":";
        number(d.lag_p99_ms);
        ctx.out << "}";
    }
    ctx.out << "],\"sync_failures\":[";
    for (size_t i = 0; i < f.sync_failures.size(); ++i) {
        const auto& x = f.sync_failures[i];
        ctx.out << (i ? "," : "") << "{\"zoho_id\":" << core::json_string(x.zoho_id)
                << ",\"failures\":" << x.failures << ",\"failing_for_s\":" << x.failing_for_s
                << ",\"error\":" << core::json_string(x.error) << "}";
    }
    ctx.out << "]}\n";
}

/// Each versioned step as Flyway's info shows it: applied ones with when, by whom and the
/// checksum recorded (its first 12 hex digits; --json has it whole), then the pending ones.
void print_schema_history(const command_context& ctx, const status_figures& f) {
    ctx.out << "schema history\n";
    char line[256];
    std::snprintf(line, sizeof line, "  %-7s %-20s %-8s %-32s %-16s %s\n", "version", "name",
                  "state", "applied at", "applied by", "checksum");
    ctx.out << line;
    for (const auto& h : f.schema_history) {
        std::snprintf(line, sizeof line, "  %04d    %-20s %-8s %-32s %-16s %s\n", h.version,
                      h.name.c_str(), h.applied ? "applied" : "pending",
                      h.applied ? h.applied_at.c_str() : "-",
                      h.applied ? h.applied_by.c_str() : "-",
                      h.applied ? h.checksum.substr(0, 12).c_str() : "-");
        ctx.out << line;
    }
}

void print_daemons(const command_context& ctx, const status_figures& f) {
    const bool any_live =
        std::any_of(f.daemons.begin(), f.daemons.end(), [](const auto& d) { return !d.stale; });
    if (!any_live)
        ctx.out << "syncd instances        none running (no heartbeat in the last minute)\n";
    for (const auto& d : f.daemons) {
        char line[256];
        if (d.stale)
            std::snprintf(line, sizeof line,
                          "syncd %s: stale, last heartbeat %.0f s ago: not running (killed, or "
                          "its host or server went away)\n",
                          d.instance.c_str(), d.heartbeat_age_s);
        else
            std::snprintf(line, sizeof line,
                          "syncd %s: heartbeat %.0f s ago, %lld rewrites, %lld drifts healed, "
                          "%lld messages captured, lag p50 %.0f ms p99 %.0f ms\n",
                          d.instance.c_str(), d.heartbeat_age_s, d.rewrites, d.drifts_healed,
                          d.messages_captured, d.lag_p50_ms.value_or(0), d.lag_p99_ms.value_or(0));
        ctx.out << line;
    }
}

}  // namespace

int status_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "status");
    status_repository repo(conn, ctx.cfg);
    const auto f = repo.read();
    if (ctx.json) {
        print_status_json(ctx, f);
        return status_exit(f);
    }
    char age[64] = "-";
    if (f.queue.oldest_waiting_age_s)
        std::snprintf(age, sizeof age, "%.1f s", *f.queue.oldest_waiting_age_s);
    ctx.out << "ledger schema          " << ctx.cfg.ledger.schema.name() << "\n"
            << "schema version         " << f.schema_version << " of " << f.latest_version
            << (f.schema_version < f.latest_version ? "  (run: chatledger-migrate schema)" : "")
            << "\n"
            << "ledger messages        ~" << f.ledger_messages << "\n";
    if (f.legacy_rows >= 0)
        ctx.out << "legacy rows            " << f.legacy_rows << "\n"
                << "conversations migrated " << f.conversations_migrated << " of " << f.legacy_rows
                << "\n";
    else
        ctx.out << "legacy rows            none: legacy table " << ctx.cfg.legacy.table.display()
                << " does not exist (check legacy.table and that database.conninfo names the "
                   "right database)\n"
                << "conversations migrated " << f.conversations_migrated << "\n";
    ctx.out << "sync queue depth       " << f.queue.waiting << "\n"
            << "oldest queued event    " << age << "\n";
    if (f.schema_version > 0)
        print_queue_health(ctx, f.queue);
    print_trust(ctx, f);
    print_daemons(ctx, f);
    // Conversations the daemon cannot sync need someone: they make status exit 1.
    for (const auto& x : f.sync_failures)
        ctx.out << "cannot sync " << x.zoho_id << ": " << x.failures << " failed attempt(s) over "
                << static_cast<long long>(x.failing_for_s) << " s, last: " << x.error << "\n";
    print_schema_history(ctx, f);
    for (const auto& p : f.ledger_problems) spdlog::error("{}", p);
    for (const auto& p : f.deployment_problems) spdlog::error("{}", p);
    if (f.capture_problem)
        spdlog::error("{}", *f.capture_problem);
    return status_exit(f);
}

}  // namespace chatledger::migrator

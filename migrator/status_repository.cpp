// SQL for `status`. Counts come from catalog estimates where exact counts would scan the
// whole ledger; the queue depth is exact because it is small when healthy.
#include "migrator/status_repository.hpp"

#include "schema/apply.hpp"
#include "schema/schema_repository.hpp"
#include "schema/steps.hpp"

namespace chatledger::migrator {

status_figures status_repository::read() {
    status_figures f;
    pg::transaction tx(conn_, "BEGIN READ ONLY");
    f.schema_version = schema::schema_version(conn_, cfg_);
    f.latest_version = schema::latest_schema_version();
    std::vector<schema::applied_step> applied;
    if (f.schema_version > 0)
        applied = schema::schema_repository(conn_, cfg_).applied_steps();
    for (const auto& a : applied)
        f.schema_history.push_back(
            {a.version, a.name, true, a.applied_at, a.applied_by, a.checksum});
    for (const auto& s : schema::versioned_steps())
        if (s.version > f.schema_version)
            f.schema_history.push_back({s.version, s.name, false, {}, {}, {}});
    // Exact legacy count (the key's index makes it cheap); the ledger may be huge, so its size
    // is the planner's estimate unless the table was never analyzed.
    auto legacy = conn_.exec("counting legacy rows", "SELECT to_regclass($1) IS NOT NULL",
                             {cfg_.legacy.table.quoted()});
    if (legacy.boolean(0, 0)) {
        f.legacy_rows =
            conn_.exec("counting legacy rows", "SELECT count(*) FROM " + cfg_.legacy.table.quoted())
                .integer(0, 0);
    } else {
        f.legacy_rows = -1;
    }
    if (f.schema_version > 0) {
        const std::string s = cfg_.ledger.schema.quoted();
        auto r = conn_.exec("reading ledger figures",
                            "SELECT reltuples::bigint FROM pg_class WHERE oid = to_regclass($1)",
                            {s + ".chat_messages"});
        f.ledger_messages = r.integer(0, 0);
        if (f.ledger_messages < 0)
            f.ledger_messages = conn_
                                    .exec("counting ledger messages",
                                          "SELECT count(*) FROM " + s + ".chat_messages")
                                    .integer(0, 0);
        f.queue = schema::read_queue_health(conn_, cfg_);
    }
    read_trust(f);
    read_daemons(f);
    tx.commit();
    return f;
}

void status_repository::read_trust(status_figures& f) {
    if (f.schema_version > 0) {
        f.ledger_problems = schema::ledger_trigger_problems(conn_, cfg_);
        for (const auto& d : schema::deployment_drift(conn_, cfg_, f.schema_version))
            f.deployment_problems.push_back(d.problem);
        auto m = conn_.exec(
            "listing the logins holding the daemon role",
            "WITH RECURSIVE m AS (SELECT member FROM pg_catalog.pg_auth_members WHERE roleid = "
            "to_regrole($1) UNION SELECT a.member FROM pg_catalog.pg_auth_members a JOIN m ON "
            "a.roleid = m.member) SELECT rolname::text FROM pg_catalog.pg_roles WHERE rolcanlogin "
            "AND oid IN (SELECT member FROM m) ORDER BY 1",
            {schema::roles_for(cfg_).daemon.quoted()});
        for (int i = 0; i < m.rows(); ++i) f.daemon_logins.emplace_back(m.text(i, 0));
    }
    if (f.schema_version > 0 && f.legacy_rows >= 0) {
        f.capture_problem = schema::capture_trigger_problem(conn_, cfg_);
        f.foreign_triggers = schema::foreign_triggers(conn_, cfg_);
    }
    // The guard's function comes with step 0008; the capture step puts the trigger on the
    // backup table. Listed with the ledger's triggers: schema puts each back.
    if (f.schema_version >= 8) {
        if (auto problem = schema::backup_guard_problem(conn_, cfg_))
            f.ledger_problems.push_back(*problem);
    }
}

void status_repository::read_daemons(status_figures& f) {
    if (f.schema_version >= 2)
        f.conversations_migrated = conn_
                                       .exec("counting migrated conversations",
                                             "SELECT count(*) FROM " + cfg_.ledger.schema.quoted() +
                                                 ".migrated_conversations")
                                       .integer(0, 0);
    if (f.schema_version >= 3) {
        auto d = conn_.exec("reading daemon heartbeats",
                            "SELECT instance, extract(epoch FROM now() - heartbeat_at), rewrites, "
                            "drifts_healed, messages_captured, lag_p50_ms, lag_p99_ms FROM " +
                                cfg_.ledger.schema.quoted() +
                                ".syncd_instances WHERE heartbeat_at > now() - interval '1 day' "
                                "ORDER BY instance");
        for (int i = 0; i < d.rows(); ++i) {
            status_figures::daemon_row row;
            row.instance = std::string(d.text(i, 0));
            row.heartbeat_age_s = std::stod(std::string(d.text(i, 1)));
            row.stale = row.heartbeat_age_s > stale_after_s;
            row.rewrites = d.integer(i, 2);
            row.drifts_healed = d.integer(i, 3);
            row.messages_captured = d.integer(i, 4);
            if (!d.is_null(i, 5))
                row.lag_p50_ms = std::stod(std::string(d.text(i, 5)));
            if (!d.is_null(i, 6))
                row.lag_p99_ms = std::stod(std::string(d.text(i, 6)));
            f.daemons.push_back(std::move(row));
        }
    }
    if (f.schema_version >= 6) {
        auto r =
            conn_.exec("reading failed syncs",
                       "SELECT zoho_id, failures, extract(epoch FROM now() - first_failed_at), "
                       "coalesce('SQLSTATE ' || sqlstate || ': ', '') || error FROM " +
                           cfg_.ledger.schema.quoted() +
                           ".sync_failures ORDER BY first_failed_at, zoho_id LIMIT 100");
        for (int i = 0; i < r.rows(); ++i)
            f.sync_failures.push_back({std::string(r.text(i, 0)), static_cast<int>(r.integer(i, 1)),
                                       std::stod(std::string(r.text(i, 2))),
                                       std::string(r.text(i, 3))});
    }
}

}  // namespace chatledger::migrator

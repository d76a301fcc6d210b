// Applies the embedded schema steps in order, checks the recorded checksums, and keeps the
// capture trigger on the legacy table in step with the configuration.
#include "schema/apply.hpp"

#include <algorithm>
#include <cstdio>

#include "config/error.hpp"
#include "schema/schema_repository.hpp"
#include "schema/steps.hpp"

namespace chatledger::schema {

namespace {

std::string step_label(int version, const std::string& name) {
    char buf[16];
    std::snprintf(buf, sizeof buf, "%04d", version);
    return std::string(buf) + " " + name;
}

void check_legacy_table(schema_repository& repo, const config& cfg) {
    const auto& l = cfg.legacy;
    if (!repo.table_exists(l.table))
        throw config_error("legacy table " + l.table.display() + " does not exist",
                           "set legacy.table in " +
                               (cfg.source.empty() ? "the config" : cfg.source) +
                               " to the table that holds the chat histories");
    const std::vector<std::pair<const char*, const identifier*>> columns = {
        {"legacy.key_column", &l.key_column},
        {"legacy.name_column", &l.name_column},
        {"legacy.history_column", &l.history_column},
        {"legacy.comment_column", &l.comment_column},
        {"legacy.comment_author_column", &l.comment_author_column}};
    std::vector<std::string> names;
    for (const auto& c : columns) names.push_back(c.second->name());
    auto missing = repo.missing_columns(l.table, names);
    if (missing.empty())
        return;
    for (const auto& c : columns) {
        if (c.second->name() == missing.front())
            throw config_error("legacy table " + l.table.display() + " has no column \"" +
                                   missing.front() + "\" (" + c.first + ")",
                               std::string("set ") + c.first +
                                   " to the column's exact name, as psql's \\d shows it");
    }
}

}  // namespace

void require_legacy_table(pg::connection& conn, const config& cfg) {
    schema_repository repo(conn, cfg);
    check_legacy_table(repo, cfg);
}

std::optional<std::pair<std::string, std::string>> key_index_problem(pg::connection& conn,
                                                                     const config& cfg) {
    schema_repository repo(conn, cfg);
    const auto& l = cfg.legacy;
    if (repo.has_unique_index_on(l.table, l.key_column.name()))
        return std::nullopt;
    return std::make_pair(
        "legacy table " + l.table.display() + " has no unique index on its key column \"" +
            l.key_column.name() +
            "\" (legacy.key_column): two rows sharing a key would lose one row's messages",
        "run: CREATE UNIQUE INDEX CONCURRENTLY ON " + l.table.quoted() + " (" +
            l.key_column.quoted() +
            "); a key of several columns, a partial or an expression index does not count");
}

namespace {

/// A repository's problem text ("" when none) as the optional the callers test.
std::optional<std::string> problem_or_none(std::string problem) {
    if (problem.empty())
        return std::nullopt;
    return problem;
}

}  // namespace

std::optional<std::string> capture_trigger_problem(pg::connection& conn, const config& cfg) {
    return problem_or_none(schema_repository(conn, cfg).capture_trigger_problem());
}

namespace {

std::string ledger_trigger_problem(const config& cfg, const schema_repository::ledger_trigger& t) {
    const std::string name =
        "the ledger trigger " + t.name + " on " + cfg.ledger.schema.name() + "." + t.table;
    if (!t.enabled)
        return name + " is missing";
    if (*t.enabled == "D")
        return name + " is disabled";
    return name + " is not ENABLE ALWAYS";
}

}  // namespace

std::vector<std::string> ledger_trigger_problems(pg::connection& conn, const config& cfg) {
    schema_repository repo(conn, cfg);
    std::vector<std::string> out;
    for (const auto& t : repo.ledger_triggers(schema_version(conn, cfg)))
        if (t.enabled != "A")
            out.push_back(ledger_trigger_problem(cfg, t));
    return out;
}

std::optional<std::string> backup_guard_problem(pg::connection& conn, const config& cfg) {
    return problem_or_none(schema_repository(conn, cfg).backup_guard_problem());
}

std::vector<std::string> foreign_triggers(pg::connection& conn, const config& cfg) {
    schema_repository repo(conn, cfg);
    return repo.foreign_triggers();
}

queue_health read_queue_health(pg::connection& conn, const config& cfg) {
    schema_repository repo(conn, cfg);
    return repo.read_queue_health(schema_version(conn, cfg));
}

int latest_schema_version() {
    return static_cast<int>(versioned_steps().size());
}

int schema_version(pg::connection& conn, const config& cfg) {
    schema_repository repo(conn, cfg);
    if (!repo.history_exists())
        return 0;
    auto steps = repo.applied_steps();
    return steps.empty() ? 0 : steps.back().version;
}

namespace {

/// Applies the versioned steps this database has not had yet; refuses a changed applied step.
void apply_versioned_steps(schema_repository& repo, const std::vector<step>& steps,
                           const std::vector<applied_step>& applied, const placeholder_map& values,
                           bool dry_run, apply_report& report) {
    for (const auto& s : steps) {
        const std::string sum = repo.checksum(std::string(s.text));
        auto done = std::find_if(applied.begin(), applied.end(),
                                 [&](const applied_step& a) { return a.version == s.version; });
        if (done != applied.end()) {
            if (done->checksum != sum)
                throw error("schema step " + step_label(s.version, s.name) +
                                " was applied with checksum " + done->checksum.substr(0, 12) +
                                " but this build's file has " + sum.substr(0, 12),
                            "applied steps are immutable: restore the original file and add a "
                            "new step for the change");
            continue;
        }
        const std::string label = step_label(s.version, s.name);
        const std::string sql = render(s.text, values);
        if (dry_run) {
            report.sql += "-- step " + label + "\n" + sql + "\n";
        } else {
            repo.run_step("applying schema step " + label, sql);
            repo.record_step(s.version, s.name, sum);
        }
        report.applied.push_back(label);
    }
}

/// (Re)installs the capture trigger when its rendered text changed, or when it or the backup
/// table's guard is no longer in place: the owners of those tables can drop or disable them
/// whatever the history says.
void apply_capture_step(schema_repository& repo, const config& cfg, const placeholder_map& values,
                        bool existed, bool dry_run, apply_report& report) {
    const std::string capture_sql = render(capture_step_text(), values);
    const std::string capture_sum = repo.checksum(capture_sql);
    const std::string target = cfg.legacy.table.quoted();
    auto state = existed ? repo.capture_state() : std::nullopt;
    if (state && state->checksum == capture_sum && state->target == target) {
        if (auto problem = repo.capture_trigger_problem(); !problem.empty())
            report.restored = problem;
        if (auto problem = repo.backup_guard_problem(); !problem.empty())
            report.guard_restored = problem;
    }
    const bool restoring = report.restored || report.guard_restored;
    if (state && state->checksum == capture_sum && !restoring)
        return;
    const std::string label = "capture trigger on " + cfg.legacy.table.display();
    if (dry_run) {
        report.sql += "-- " + label + "\n" + capture_sql + "\n";
    } else {
        if (state && state->target != target)
            repo.drop_capture_trigger(state->target);
        repo.run_step("installing the " + label, capture_sql);
        repo.record_capture(capture_sum, target);
    }
    if (!restoring)
        report.applied.push_back(label);
}

/// A member of the owner role (the DBA) or a superuser can disable the ledger's own triggers;
/// every run puts them back. Only steps that really ran count: a dry run applied none.
void reenable_ledger_triggers(schema_repository& repo, const config& cfg, bool dry_run,
                              apply_report& report) {
    for (const auto& t :
         repo.ledger_triggers(dry_run ? report.version_before : report.version_after)) {
        if (t.enabled == "A")
            continue;
        if (!t.enabled)
            throw error(ledger_trigger_problem(cfg, t),
                        "it guards the append-only ledger and cannot be re-created by a "
                        "step already applied: re-create it as schema/sql defines it (0001, "
                        "0005 or 0008), then run schema again");
        if (!dry_run)
            repo.enable_ledger_trigger(t);
        report.reenabled.push_back(ledger_trigger_problem(cfg, t));
    }
}

}  // namespace

apply_report apply_schema(pg::connection& conn, const config& cfg, bool dry_run) {
    const auto steps = versioned_steps();
    const auto values = placeholders(cfg);
    schema_repository repo(conn, cfg);
    apply_report report;

    pg::transaction tx(conn);
    if (!dry_run)
        repo.lock();
    check_legacy_table(repo, cfg);
    if (auto problem = key_index_problem(conn, cfg))
        throw config_error(problem->first, problem->second);
    const bool existed = repo.history_exists();
    if (!dry_run)
        repo.bootstrap();

    std::vector<applied_step> applied;
    if (existed)
        applied = repo.applied_steps();
    report.version_before = applied.empty() ? 0 : applied.back().version;
    if (report.version_before > static_cast<int>(steps.size()))
        throw error("the ledger schema is at version " + std::to_string(report.version_before) +
                        " but this chatledger knows only " + std::to_string(steps.size()),
                    "run a chatledger at least as new as the one that upgraded the schema");
    // Roles before the pending steps: they grant to them and hand objects to the owner role.
    if (existed)
        restore_roles(conn, cfg, dry_run, report.deployment);
    apply_versioned_steps(repo, steps, applied, values, dry_run, report);
    report.version_after = static_cast<int>(steps.size());
    apply_capture_step(repo, cfg, values, existed, dry_run, report);
    if (existed)
        reenable_ledger_triggers(repo, cfg, dry_run, report);
    // A dry run on a new database has applied no step: there is nothing to compare yet.
    if (existed || !dry_run)
        restore_objects(conn, cfg, dry_run ? report.version_before : report.version_after, dry_run,
                        report.deployment);
    report.warnings = row_security_warnings(conn, cfg);
    if (!dry_run)
        tx.commit();
    return report;
}

}  // namespace chatledger::schema

// The grants of schema/sql, as data: each row names the step that grants it (and the step that
// took it back), so one list serves `schema`, which restores them, and `status`, which reports.
#include "schema/expectations.hpp"

#include <algorithm>

#include "schema/steps.hpp"

namespace chatledger::schema {

namespace {

enum class role { writer, reader, daemon };

/// One grant of a step; `until` is the last version that still grants it (0: every later one).
struct step_grant {
    int since;
    int until;
    const char* kind;
    const char* object;   ///< within the ledger schema; "" for the schema itself
    const char* columns;  ///< comma-separated, "" for the whole object
    role grantee;
    const char* privileges;  ///< comma-separated
};

// When a step changes a grant, the old row gets an `until` and a new row follows: a database at
// an older version is checked against what its own steps granted.
constexpr step_grant ledger_grants[] = {
    {1, 0, "SCHEMA", "", "", role::writer, "USAGE"},
    {1, 0, "SCHEMA", "", "", role::reader, "USAGE"},
    {1, 0, "SCHEMA", "", "", role::daemon, "USAGE"},
    {1, 0, "TABLE", "chat_messages", "", role::writer, "SELECT"},
    {1, 0, "TABLE", "chat_messages", "", role::reader, "SELECT"},
    {1, 0, "TABLE", "chat_messages", "", role::daemon, "SELECT"},
    {1, 4, "TABLE", "chat_messages", "zoho_id,author,body,sent_at,payload", role::writer, "INSERT"},
    {5, 0, "TABLE", "chat_messages", "zoho_id,author,body,sent_at", role::writer, "INSERT"},
    {1, 4, "TABLE", "chat_messages", "", role::daemon, "INSERT"},
    {5, 0, "TABLE", "chat_messages", "zoho_id,author,body,sent_at,payload,source", role::daemon,
     "INSERT"},
    {1, 0, "TABLE", "sync_queue", "", role::reader, "SELECT"},
    {1, 0, "TABLE", "sync_queue", "", role::daemon, "SELECT,UPDATE,DELETE"},
    {2, 0, "TABLE", "migrated_conversations", "", role::reader, "SELECT"},
    {2, 0, "TABLE", "migrated_conversations", "", role::daemon, "SELECT"},
    {2, 0, "ROUTINE", "lock_conversations(text[])", "", role::daemon, "EXECUTE"},
    {3, 0, "TABLE", "syncd_instances", "", role::reader, "SELECT"},
    {3, 0, "TABLE", "syncd_instances", "", role::daemon, "SELECT,INSERT,UPDATE,DELETE"},
    {4, 0, "TABLE", "schema_history", "", role::reader, "SELECT"},
    {4, 0, "TABLE", "schema_history", "", role::daemon, "SELECT"},
    {4, 0, "TABLE", "schema_repeatable", "", role::reader, "SELECT"},
    {4, 0, "TABLE", "schema_repeatable", "", role::daemon, "SELECT"},
    {6, 0, "TABLE", "sync_failures", "", role::reader, "SELECT"},
    {6, 0, "TABLE", "sync_failures", "", role::daemon, "SELECT,INSERT,UPDATE,DELETE"},
    // Step 0009 (issue 15): the queue's partitions and sequence grant nothing.
    {9, 0, "ROUTINE", "maintain_queue()", "", role::daemon, "EXECUTE"},
    {9, 0, "ROUTINE", "oldest_transaction()", "", role::reader, "EXECUTE"},
    {9, 0, "ROUTINE", "oldest_transaction()", "", role::daemon, "EXECUTE"},
    // Step 0012: the daemon collects appends; monitoring reads how far it got.
    {12, 0, "TABLE", "append_cursor", "", role::reader, "SELECT"},
    {12, 0, "TABLE", "append_cursor", "", role::daemon, "SELECT"},
    {12, 0, "ROUTINE", "collect_appends()", "", role::daemon, "EXECUTE"},
    {12, 0, "TABLE", "uncollected_appends", "", role::reader, "SELECT"},
    {12, 0, "TABLE", "uncollected_appends", "", role::daemon, "SELECT"},
};

std::vector<std::string> split(const std::string& list) {
    std::vector<std::string> out;
    size_t pos = 0;
    while (pos <= list.size()) {
        const size_t comma = std::min(list.find(',', pos), list.size());
        out.push_back(list.substr(pos, comma - pos));
        pos = comma + 1;
    }
    return out;
}

/// One expected_grant per privilege and column ({""}: the whole object).
void expand(std::vector<expected_grant>& out, const std::string& kind, const std::string& object,
            const std::vector<std::string>& columns, const std::string& grantee,
            const std::string& privileges) {
    for (const auto& p : split(privileges))
        for (const auto& c : columns) out.push_back({kind, object, c, grantee, p});
}

}  // namespace

std::vector<std::string> group_role_names(const config& cfg) {
    const auto r = roles_for(cfg);
    return {r.owner.name(), r.writer.name(), r.reader.name(), r.daemon.name()};
}

std::vector<allowed_membership> allowed_memberships(const config& cfg) {
    return {{roles_for(cfg).owner.name(), "pg_read_all_stats"}};
}

std::vector<expected_grant> expected_grants(const config& cfg, int version,
                                            const std::string& backup_sequence) {
    const auto roles = roles_for(cfg);
    auto name = [&](role r) {
        return r == role::writer   ? roles.writer.name()
               : r == role::reader ? roles.reader.name()
                                   : roles.daemon.name();
    };
    const std::string ledger = cfg.ledger.schema.quoted();
    std::vector<expected_grant> out;
    for (const auto& g : ledger_grants) {
        if (version < g.since || (g.until != 0 && version > g.until))
            continue;
        const std::string object = *g.object ? ledger + "." + g.object : ledger;
        expand(out, g.kind, object, split(g.columns), name(g.grantee), g.privileges);
    }
    if (version < 1)
        return out;
    // The capture step (legacy_capture.sql): the daemon rewrites the rendered columns and
    // writes backup rows; monitoring counts legacy rows.
    const auto& l = cfg.legacy;
    const std::string legacy = l.table.quoted();
    const std::string d = roles.daemon.name();
    // Configured column names may hold commas: passed as a list, never split.
    expand(out, "TABLE", legacy, {""}, d, "SELECT");
    expand(out, "TABLE", legacy,
           {l.history_column.name(), l.comment_column.name(), l.comment_author_column.name()}, d,
           "UPDATE");
    expand(out, "TABLE", legacy, {l.key_column.name()}, roles.reader.name(), "SELECT");
    expand(out, "TABLE", cfg.backup.table.quoted(), {""}, d, "SELECT,INSERT,DELETE");
    if (!backup_sequence.empty())
        expand(out, "SEQUENCE", backup_sequence, {""}, d, "USAGE");
    return out;
}

}  // namespace chatledger::schema

// The SQL of `chatledger-migrate history`, read-only. Times come back as UTC text in the form the
// history column renders (YYYY-MM-DDTHH:MM:SS.mmmZ), so text and JSON output agree.
#include "migrator/history_repository.hpp"

#include "schema/schema_repository.hpp"

namespace chatledger::migrator {

namespace {

/// `column` (a timestamptz expression) as UTC text.
std::string utc(const std::string& column) {
    return "to_char(" + column + " AT TIME ZONE 'UTC', 'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"')";
}

}  // namespace

std::vector<timeline_row> history_repository::ledger_rows(const std::string& key) {
    auto r = conn_.exec("reading the ledger rows of one conversation",
                        "SELECT id, source, " + utc("created_at") +
                            ", payload::text, author, body, CASE WHEN isfinite(sent_at) THEN "
                            "(extract(epoch FROM sent_at) * 1000000)::bigint END FROM " +
                            cfg_.ledger.schema.quoted() +
                            ".chat_messages WHERE zoho_id = $1 ORDER BY id",
                        {key});
    std::vector<timeline_row> out;
    for (int i = 0; i < r.rows(); ++i) {
        timeline_row t{r.integer(i, 0),       std::string(r.text(i, 1)), std::string(r.text(i, 2)),
                       r.optional_text(i, 3), r.optional_text(i, 4),     r.optional_text(i, 5),
                       std::nullopt};
        if (!r.is_null(i, 6))
            t.sent_at_us = r.integer(i, 6);
        out.push_back(std::move(t));
    }
    return out;
}

legacy_now history_repository::legacy_row(const std::string& key) {
    const auto& l = cfg_.legacy;
    const std::string k = l.key_column.quoted();
    const std::string type = schema::schema_repository(conn_, cfg_).key_column_type();
    // In the column's own type and by its text form, as the daemon looks rows up.
    auto r = conn_.exec("reading the legacy row from " + l.table.display(),
                        "SELECT " + l.history_column.quoted() + "::text, " +
                            l.comment_column.quoted() + "::text, " +
                            l.comment_author_column.quoted() + "::text FROM " + l.table.quoted() +
                            " WHERE " + k + " = $1::text::" + type + " AND " + k + "::text = $1",
                        {key});
    if (r.rows() == 0)
        return {};
    return {true, r.optional_text(0, 0), r.optional_text(0, 1), r.optional_text(0, 2)};
}

std::vector<snapshot_row> history_repository::snapshots(const std::string& key) {
    if (!schema::schema_repository(conn_, cfg_).table_exists(cfg_.backup.table))
        return {};
    // The backup table keeps the seed's column names whatever the legacy table calls its own.
    auto r = conn_.exec(
        "reading the backup rows of one conversation from " + cfg_.backup.table.display(),
        "SELECT id, " + utc("backup_timestamp") +
            ", operation_type, operation_user, chat_history_backup FROM " +
            cfg_.backup.table.quoted() + " WHERE zoho_id = $1 ORDER BY backup_timestamp, id",
        {key});
    std::vector<snapshot_row> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.integer(i, 0), r.is_null(i, 1) ? "" : std::string(r.text(i, 1)),
                       r.optional_text(i, 2), r.optional_text(i, 3), r.optional_text(i, 4)});
    return out;
}

std::vector<queued_row> history_repository::queued(const std::string& key) {
    // Appends no daemon has collected yet (schema step 0012) are work queued all the same:
    // one entry, as the next collection will make of them, at the first one's time.
    const std::string l = cfg_.ledger.schema.quoted();
    auto r = conn_.exec("reading the queued events of one conversation",
                        "SELECT id, kind, " + utc("at") +
                            " FROM (SELECT id, kind, enqueued_at AS at "
                            "FROM " +
                            l +
                            ".sync_queue WHERE zoho_id = $1 UNION ALL SELECT NULL, 'append', "
                            "min(created_at) FROM " +
                            l +
                            ".uncollected_appends WHERE zoho_id = $1 "
                            "HAVING count(*) > 0) q ORDER BY at, id NULLS FIRST",
                        {key});
    std::vector<queued_row> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.is_null(i, 0) ? std::nullopt : std::optional<long long>(r.integer(i, 0)),
                       std::string(r.text(i, 1)), std::string(r.text(i, 2))});
    return out;
}

std::optional<set_aside_row> history_repository::set_aside(const std::string& key) {
    auto r = conn_.exec("reading whether the daemon set one conversation aside",
                        "SELECT failures, " + utc("first_failed_at") + ", " + utc("failed_at") +
                            ", " + utc("retry_at") + ", error FROM " + cfg_.ledger.schema.quoted() +
                            ".sync_failures WHERE zoho_id = $1",
                        {key});
    if (r.rows() == 0)
        return std::nullopt;
    return set_aside_row{r.integer(0, 0), std::string(r.text(0, 1)), std::string(r.text(0, 2)),
                         std::string(r.text(0, 3)), std::string(r.text(0, 4))};
}

std::optional<std::string> history_repository::migrated_at(const std::string& key) {
    auto r = conn_.exec("reading the migration checkpoint of one conversation",
                        "SELECT " + utc("migrated_at") + " FROM " + cfg_.ledger.schema.quoted() +
                            ".migrated_conversations WHERE zoho_id = $1",
                        {key});
    if (r.rows() == 0)
        return std::nullopt;
    return std::string(r.text(0, 0));
}

}  // namespace chatledger::migrator

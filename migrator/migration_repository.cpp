// SQL only the migrate commands run: keyset reads of the legacy and backup tables, the
// checkpoint table, captured writes and samples. The ledger's own SQL is in ledger/.
#include "migrator/migration_repository.hpp"

#include <algorithm>
#include <unordered_map>

#include "config/error.hpp"
#include "schema/apply.hpp"
#include "schema/schema_repository.hpp"

namespace chatledger::migrator {

namespace {

/// (id, key, value) rows of the queue or the backup table as numbered legacy rows.
std::vector<std::pair<long long, legacy_row>> numbered_rows(const pg::result& r) {
    std::vector<std::pair<long long, legacy_row>> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back(
            {r.integer(i, 0), {std::string(r.text(i, 1)), r.optional_text(i, 2), false, {}, {}}});
    return out;
}

[[noreturn]] void duplicate_key(const config& cfg, const std::string& key) {
    const auto& l = cfg.legacy;
    throw config_error("legacy table " + l.table.display() + " has more than one row with " +
                           l.key_column.name() + " '" + key + "' (legacy.key_column)",
                       "one key must be one conversation: merge or re-key those rows, then run: "
                       "CREATE UNIQUE INDEX CONCURRENTLY ON " +
                           l.table.quoted() + " (" + l.key_column.quoted() + ")");
}

/// The first column of every row.
std::vector<std::string> first_column(const pg::result& r) {
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
    return out;
}

}  // namespace

std::vector<ledger::legacy_value> values_of(std::vector<std::pair<long long, legacy_row>>& page) {
    std::vector<ledger::legacy_value> values;
    values.reserve(page.size());
    for (auto& [id, row] : page) values.push_back({row.zoho_id, std::move(row.history)});
    return values;
}

std::vector<legacy_row> migration_repository::legacy_batch(
    const std::optional<std::string>& after_key, int limit, bool skip_migrated,
    long long max_bytes) {
    const auto& l = cfg_.legacy;
    const std::string key = "l." + l.key_column.quoted();
    const std::string history = "l." + l.history_column.quoted() + "::text";
    // First the keys and sizes (octet_length reads a TOASTed value's size without fetching it),
    // then the values of a prefix that fits in max_bytes.
    std::string sql = "SELECT " + key + "::text, coalesce(octet_length(" + history + "), 0), ";
    if (ledger_.exists()) {
        // One index probe per key of the batch. As a LEFT JOIN the planner merged the two key
        // orders, reading every migrated conversation below the cursor for every batch: the walk
        // grew with the square of the table (a quarter of a million rows read per batch halfway
        // through 500,000 conversations). A scalar subquery is never hashed or merged.
        sql += "(SELECT true FROM " + cfg_.ledger.schema.quoted() +
               ".migrated_conversations m WHERE m.zoho_id = " + key + "::text) IS NOT NULL FROM " +
               l.table.quoted() + " l";
    } else {
        sql += "false FROM " + l.table.quoted() + " l";
    }
    // The cursor parameter stays untyped so the server compares it as the key column's own type
    // and walks the key's index.
    sql += " WHERE " + key + " IS NOT NULL";
    std::vector<pg::param> params = {std::to_string(limit)};
    if (after_key) {
        sql += " AND " + key + " > $2";
        params.push_back(*after_key);
    }
    sql += " ORDER BY " + key + " LIMIT $1::integer";
    auto keys = conn_.exec("reading legacy keys from " + l.table.display(), sql, params);
    std::vector<legacy_row> rows;
    long long bytes = 0;
    for (int i = 0; i < keys.rows(); ++i) {
        // Keyset reads see one row per key: a second row (a key written since the check, or
        // equal under the key type's own comparison) is an error, never skipped.
        if (i > 0 && keys.text(i, 0) == keys.text(i - 1, 0))
            duplicate_key(cfg_, std::string(keys.text(i, 0)));
        bytes += keys.integer(i, 1);
        if (i > 0 && bytes > max_bytes)
            break;
        rows.push_back({std::string(keys.text(i, 0)), std::nullopt, keys.boolean(i, 2), {}, {}});
    }
    if (rows.empty())
        return rows;
    std::vector<std::string> wanted;
    for (const auto& r : rows)
        if (!skip_migrated || !r.migrated)
            wanted.push_back(r.zoho_id);
    if (wanted.empty())
        return rows;
    // A value larger than a batch is alone in it: read in slices, so neither libpq's receive
    // buffer nor a result ever holds it whole beside the string it goes into.
    if (rows.size() == 1 && keys.integer(0, 1) > max_bytes) {
        read_in_slices(rows[0], keys.integer(0, 1), max_bytes);
        return rows;
    }
    // Values by key range, again untyped, so the key's index serves the lookup.
    auto values =
        conn_.exec("reading legacy rows from " + l.table.display(),
                   "SELECT " + key + "::text, " + history + ", " + comment_columns("l.") +
                       " FROM " + l.table.quoted() + " l WHERE " + key + " >= $1 AND " + key +
                       " <= $2 AND " + key + "::text = ANY($3::text[])",
                   {rows.front().zoho_id, rows.back().zoho_id, pg::array_literal(wanted)});
    std::unordered_map<std::string_view, int> at;
    for (int i = 0; i < values.rows(); ++i) at.emplace(values.text(i, 0), i);
    for (auto& r : rows) {
        auto it = at.find(r.zoho_id);
        if (it == at.end())
            continue;
        r.history = values.optional_text(it->second, 1);
        r.comment = values.optional_text(it->second, 2);
        r.comment_author = values.optional_text(it->second, 3);
    }
    return rows;
}

void migration_repository::read_in_slices(legacy_row& row, long long bytes, long long max_bytes) {
    const auto& l = cfg_.legacy;
    const std::string key = "l." + l.key_column.quoted();
    const std::string source = l.table.quoted() + " l WHERE " + key + " >= $1 AND " + key +
                               " <= $2 AND " + key + "::text = $3";
    const std::string history = "l." + l.history_column.quoted() + "::text";
    // The caller's REPEATABLE READ snapshot makes the comments and the value one row version.
    auto head = conn_.exec("reading a large legacy value from " + l.table.display(),
                           "SELECT " + comment_columns("l.") + " FROM " + source,
                           {row.zoho_id, row.zoho_id, row.zoho_id});
    if (head.rows() == 0)
        return;
    row.comment = head.optional_text(0, 0);
    row.comment_author = head.optional_text(0, 1);
    // Slices of at most half the batch cap, in one statement (a round trip per slice before).
    row.history =
        conn_.read_text_in_slices("reading a large legacy value from " + l.table.display(), history,
                                  source, {row.zoho_id, row.zoho_id, row.zoho_id},
                                  std::max<long long>(std::min(max_bytes / 2, bytes), 1));
}

void migration_repository::require_unique_keys() {
    if (!schema::key_index_problem(conn_, cfg_))
        return;
    const auto& l = cfg_.legacy;
    const std::string key = l.key_column.quoted();
    auto r = conn_.exec("looking for legacy keys shared by several rows",
                        "SELECT " + key + "::text FROM " + l.table.quoted() + " WHERE " + key +
                            " IS NOT NULL GROUP BY 1 HAVING count(*) > 1 ORDER BY 1 LIMIT 1");
    if (r.rows() > 0)
        duplicate_key(cfg_, std::string(r.text(0, 0)));
}

long long migration_repository::legacy_row_count() {
    auto r = conn_.exec("counting legacy rows",
                        "SELECT count(*) FROM " + cfg_.legacy.table.quoted() + " WHERE " +
                            cfg_.legacy.key_column.quoted() + " IS NOT NULL");
    return r.integer(0, 0);
}

void migration_repository::mark_migrated(const std::vector<std::pair<std::string, int>>& counts,
                                         const std::vector<bool>& unparseable) {
    if (counts.empty())
        return;
    std::vector<std::string> keys, numbers, flags;  // bound as three parallel arrays
    for (size_t i = 0; i < counts.size(); ++i) {
        keys.push_back(counts[i].first);
        numbers.push_back(std::to_string(counts[i].second));
        flags.push_back(unparseable[i] ? "t" : "f");
    }
    conn_.exec("recording migrated conversations",
               "INSERT INTO " + cfg_.ledger.schema.quoted() +
                   ".migrated_conversations (zoho_id, messages, unparseable) "
                   "SELECT * FROM unnest($1::text[], $2::integer[], $3::boolean[]) "
                   "ON CONFLICT (zoho_id) DO NOTHING",
               {pg::array_literal(keys), pg::array_literal(numbers), pg::array_literal(flags)});
}

long long migration_repository::migrated_count() {
    auto r = conn_.exec(
        "counting migrated conversations",
        "SELECT count(*) FROM " + cfg_.ledger.schema.quoted() + ".migrated_conversations");
    return r.integer(0, 0);
}

std::vector<std::pair<long long, legacy_row>> migration_repository::captured_writes(
    long long after_id, int limit) {
    auto r = conn_.exec("reading captured legacy writes",
                        "SELECT id, zoho_id, history FROM " + cfg_.ledger.schema.quoted() +
                            ".sync_queue WHERE kind IN ('insert', 'update') AND id > $1::bigint "
                            "ORDER BY id LIMIT $2::integer",
                        {std::to_string(after_id), std::to_string(limit)});
    return numbered_rows(r);
}

std::vector<std::string> migration_repository::ledger_only_conversations(int limit) {
    const auto& l = cfg_.legacy;
    auto r = conn_.exec("looking for ledger conversations without a legacy row",
                        "SELECT DISTINCT m.zoho_id FROM " + cfg_.ledger.schema.quoted() +
                            ".chat_messages m WHERE NOT EXISTS (SELECT FROM " + l.table.quoted() +
                            " l WHERE l." + l.key_column.quoted() +
                            "::text = m.zoho_id) ORDER BY 1 LIMIT $1::integer",
                        {std::to_string(limit)});
    return first_column(r);
}

std::vector<std::pair<long long, legacy_row>> migration_repository::backup_snapshots(
    long long after_id, int limit) {
    // The backup table keeps the seed's column names whatever the legacy table calls its own.
    auto r = conn_.exec("reading the backup table " + cfg_.backup.table.display(),
                        "SELECT id, zoho_id::text, chat_history_backup::text FROM " +
                            cfg_.backup.table.quoted() +
                            " WHERE id > $1::bigint AND zoho_id IS NOT NULL ORDER BY id "
                            "LIMIT $2::integer",
                        {std::to_string(after_id), std::to_string(limit)});
    return numbered_rows(r);
}

std::vector<std::string> migration_repository::keys_without_legacy_row(
    const std::vector<std::string>& keys) {
    const auto& l = cfg_.legacy;
    const std::string key = l.key_column.quoted();
    // An anti-join, one pass over the legacy keys per page: NOT IN would fall back to a scan
    // per backup key once the keys outgrow work_mem. Compared as text: backup keys are any
    // text, which a typed lookup on an integer key would fail to cast.
    auto r = conn_.exec("looking up backup keys in " + l.table.display(),
                        "SELECT DISTINCT k FROM unnest($1::text[]) AS k WHERE NOT EXISTS (SELECT "
                        "FROM " +
                            l.table.quoted() + " l WHERE l." + key + "::text = k) ORDER BY 1",
                        {pg::array_literal(keys)});
    return first_column(r);
}

std::optional<std::string> migration_repository::likely_legacy_key(const std::string& key) {
    const auto& l = cfg_.legacy;
    const std::string k = l.key_column.quoted() + "::text";
    auto r = conn_.exec("looking for a legacy key like a backup key",
                        "SELECT " + k + " FROM " + l.table.quoted() + " WHERE lower(btrim(" + k +
                            ")) = lower(btrim($1)) ORDER BY 1 LIMIT 1",
                        {key});
    if (r.rows() == 0)
        return std::nullopt;
    return std::string(r.text(0, 0));
}

long long migration_repository::backup_row_count() {
    auto r =
        conn_.exec("counting backup rows", "SELECT count(*) FROM " + cfg_.backup.table.quoted());
    return r.integer(0, 0);
}

std::vector<std::string> migration_repository::sample_keys(int n) {
    const auto& l = cfg_.legacy;
    auto r = conn_.exec("sampling legacy rows",
                        "SELECT " + l.key_column.quoted() + "::text FROM " + l.table.quoted() +
                            " WHERE " + l.key_column.quoted() +
                            " IS NOT NULL ORDER BY random() LIMIT $1::integer",
                        {std::to_string(n)});
    return first_column(r);
}

const std::string& migration_repository::key_type() {
    if (key_type_.empty())
        key_type_ = schema::schema_repository(conn_, cfg_).key_column_type();
    return key_type_;
}

std::vector<legacy_row> migration_repository::legacy_rows(const std::vector<std::string>& keys) {
    const auto& l = cfg_.legacy;
    const std::string key = l.key_column.quoted();
    // The keys come from the table's own ::text, so each casts back to the key type.
    auto r = conn_.exec("reading legacy rows from " + l.table.display(),
                        "SELECT " + key + "::text, " + l.history_column.quoted() + "::text, " +
                            comment_columns("") + " FROM " + l.table.quoted() + " WHERE " + key +
                            " = ANY($1::text[]::" + key_type() + "[]) AND " + key +
                            "::text = ANY($1::text[])",
                        {pg::array_literal(keys)});
    std::vector<legacy_row> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({std::string(r.text(i, 0)), r.optional_text(i, 1), false,
                       r.optional_text(i, 2), r.optional_text(i, 3)});
    return out;
}

std::string migration_repository::comment_columns(const std::string& alias) const {
    const auto& l = cfg_.legacy;
    return alias + l.comment_column.quoted() + "::text, " + alias +
           l.comment_author_column.quoted() + "::text";
}

}  // namespace chatledger::migrator

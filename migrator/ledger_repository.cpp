// SQL of the migrate commands. Keys and values travel as parameters; identifiers come quoted
// from the validated configuration. Appends go through COPY, never row-by-row INSERTs.
#include "migrator/ledger_repository.hpp"

#include <unordered_map>

#include "migrator/legacy/timestamp.hpp"
#include "schema/apply.hpp"

namespace chatledger::migrator {

void copy_field(std::string& out, std::optional<std::string_view> value) {
    if (!value) {
        out += "\\N";
        return;
    }
    for (char c : *value) {
        switch (c) {
            case '\\':
                out += "\\\\";
                break;
            case '\n':
                out += "\\n";
                break;
            case '\r':
                out += "\\r";
                break;
            case '\t':
                out += "\\t";
                break;
            default:
                out += c;
        }
    }
}

void ledger_repository::require_schema(bool allow_missing) {
    schema::require_legacy_table(conn_, cfg_);
    const int have = schema::schema_version(conn_, cfg_);
    const int want = schema::latest_schema_version();
    if (have == 0 && allow_missing) {
        ledger_exists_ = false;
        return;
    }
    if (have < want)
        throw config_error("the ledger schema " + cfg_.ledger.schema.name() + " is at version " +
                               std::to_string(have) + ", this chatledger needs " +
                               std::to_string(want),
                           "run: chatledger-migrate --config FILE schema");
}

std::vector<legacy_row> ledger_repository::legacy_batch(const std::optional<std::string>& after_key,
                                                        int limit, bool skip_migrated,
                                                        long long max_bytes) {
    const auto& l = cfg_.legacy;
    const std::string key = "l." + l.key_column.quoted();
    const std::string history = "l." + l.history_column.quoted() + "::text";
    // First the keys and sizes (octet_length reads a TOASTed value's size without fetching it),
    // then the values of a prefix that fits in max_bytes.
    std::string sql = "SELECT " + key + "::text, coalesce(octet_length(" + history + "), 0), ";
    if (ledger_exists_) {
        sql += "m.zoho_id IS NOT NULL FROM " + l.table.quoted() + " l LEFT JOIN " +
               cfg_.ledger.schema.quoted() + ".migrated_conversations m ON m.zoho_id = " + key +
               "::text";
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
        bytes += keys.integer(i, 1);
        if (i > 0 && bytes > max_bytes)
            break;
        rows.push_back({std::string(keys.text(i, 0)), std::nullopt, keys.boolean(i, 2)});
    }
    if (rows.empty())
        return rows;
    std::vector<std::string> wanted;
    for (const auto& r : rows)
        if (!skip_migrated || !r.migrated)
            wanted.push_back(r.zoho_id);
    if (wanted.empty())
        return rows;
    // Values by key range, again untyped, so the key's index serves the lookup.
    auto values = conn_.exec(
        "reading legacy rows from " + l.table.display(),
        "SELECT " + key + "::text, " + history + " FROM " + l.table.quoted() + " l WHERE " + key +
            " >= $1 AND " + key + " <= $2 AND " + key + "::text = ANY($3::text[])",
        {rows.front().zoho_id, rows.back().zoho_id, pg::array_literal(wanted)});
    std::unordered_map<std::string_view, int> at;
    for (int i = 0; i < values.rows(); ++i) at.emplace(values.text(i, 0), i);
    for (auto& r : rows) {
        auto it = at.find(r.zoho_id);
        if (it != at.end())
            r.history = values.optional_text(it->second, 1);
    }
    return rows;
}

long long ledger_repository::legacy_row_count() {
    auto r = conn_.exec("counting legacy rows",
                        "SELECT count(*) FROM " + cfg_.legacy.table.quoted() + " WHERE " +
                            cfg_.legacy.key_column.quoted() + " IS NOT NULL");
    return r.integer(0, 0);
}

void ledger_repository::lock_conversations(const std::vector<std::string>& keys) {
    conn_.exec("locking conversations",
               "SELECT " + cfg_.ledger.schema.quoted() + ".lock_conversations($1::text[])",
               {pg::array_literal(keys)});
}

std::vector<ledger_message> ledger_repository::ledger_messages(
    const std::vector<std::string>& keys) {
    if (!ledger_exists_)
        return {};
    auto r = conn_.exec("reading ledger messages",
                        "SELECT zoho_id, payload::text, author, body, "
                        "(extract(epoch FROM sent_at) * 1000000)::bigint, source, id FROM " +
                            cfg_.ledger.schema.quoted() +
                            ".chat_messages WHERE zoho_id = ANY($1::text[]) ORDER BY zoho_id, id",
                        {pg::array_literal(keys)});
    std::vector<ledger_message> out;
    out.reserve(r.rows());
    for (int i = 0; i < r.rows(); ++i) {
        ledger_message m{r.integer(i, 6),          std::string(r.text(i, 0)), r.optional_text(i, 1),
                         r.optional_text(i, 2),    r.optional_text(i, 3),     std::nullopt,
                         std::string(r.text(i, 5))};
        if (!r.is_null(i, 4))
            m.sent_at_us = r.integer(i, 4);
        out.push_back(std::move(m));
    }
    return out;
}

long long ledger_repository::append(const std::vector<new_message>& messages) {
    if (messages.empty())
        return 0;
    conn_.copy_begin("appending messages to the ledger",
                     "COPY " + cfg_.ledger.schema.quoted() +
                         ".chat_messages (zoho_id, author, body, sent_at, payload, source) "
                         "FROM STDIN");
    std::string buf;
    buf.reserve(1 << 20);
    for (const auto& m : messages) {
        copy_field(buf, *m.zoho_id);
        buf += '\t';
        copy_field(buf, m.author ? std::optional<std::string_view>(*m.author) : std::nullopt);
        buf += '\t';
        copy_field(buf, m.body ? std::optional<std::string_view>(*m.body) : std::nullopt);
        buf += '\t';
        if (m.sent_at_us) {
            buf += legacy::format_timestamptz(*m.sent_at_us);
        } else {
            buf += "\\N";
        }
        buf += '\t';
        copy_field(buf, m.payload);
        buf += '\t';
        buf += m.source;
        buf += '\n';
        if (buf.size() >= (1 << 20)) {
            conn_.copy_put(buf);
            buf.clear();
        }
    }
    conn_.copy_put(buf);
    return conn_.copy_end();
}

void ledger_repository::mark_migrated(const std::vector<std::pair<std::string, int>>& counts,
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

long long ledger_repository::migrated_count() {
    auto r = conn_.exec(
        "counting migrated conversations",
        "SELECT count(*) FROM " + cfg_.ledger.schema.quoted() + ".migrated_conversations");
    return r.integer(0, 0);
}

std::vector<std::pair<long long, legacy_row>> ledger_repository::captured_writes(long long after_id,
                                                                                 int limit) {
    auto r = conn_.exec("reading captured legacy writes",
                        "SELECT id, zoho_id, history FROM " + cfg_.ledger.schema.quoted() +
                            ".sync_queue WHERE kind IN ('insert', 'update') AND id > $1::bigint "
                            "ORDER BY id LIMIT $2::integer",
                        {std::to_string(after_id), std::to_string(limit)});
    std::vector<std::pair<long long, legacy_row>> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.integer(i, 0), {std::string(r.text(i, 1)), r.optional_text(i, 2), false}});
    return out;
}

std::vector<std::string> ledger_repository::ledger_only_conversations(int limit) {
    const auto& l = cfg_.legacy;
    auto r = conn_.exec("looking for ledger conversations without a legacy row",
                        "SELECT DISTINCT m.zoho_id FROM " + cfg_.ledger.schema.quoted() +
                            ".chat_messages m WHERE NOT EXISTS (SELECT FROM " + l.table.quoted() +
                            " l WHERE l." + l.key_column.quoted() +
                            "::text = m.zoho_id) ORDER BY 1 LIMIT $1::integer",
                        {std::to_string(limit)});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
    return out;
}

std::vector<std::pair<long long, legacy_row>> ledger_repository::backup_snapshots(
    long long after_id, int limit) {
    // The backup table keeps the seed's column names whatever the legacy table calls its own.
    auto r = conn_.exec("reading the backup table " + cfg_.backup.table.display(),
                        "SELECT id, zoho_id::text, chat_history_backup::text FROM " +
                            cfg_.backup.table.quoted() +
                            " WHERE id > $1::bigint AND zoho_id IS NOT NULL ORDER BY id "
                            "LIMIT $2::integer",
                        {std::to_string(after_id), std::to_string(limit)});
    std::vector<std::pair<long long, legacy_row>> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({r.integer(i, 0), {std::string(r.text(i, 1)), r.optional_text(i, 2), false}});
    return out;
}

long long ledger_repository::backup_row_count() {
    auto r =
        conn_.exec("counting backup rows", "SELECT count(*) FROM " + cfg_.backup.table.quoted());
    return r.integer(0, 0);
}

std::vector<std::string> ledger_repository::sample_keys(int n) {
    const auto& l = cfg_.legacy;
    auto r = conn_.exec("sampling legacy rows",
                        "SELECT " + l.key_column.quoted() + "::text FROM " + l.table.quoted() +
                            " WHERE " + l.key_column.quoted() +
                            " IS NOT NULL ORDER BY random() LIMIT $1::integer",
                        {std::to_string(n)});
    std::vector<std::string> out;
    for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
    return out;
}

std::vector<legacy_row> ledger_repository::legacy_rows(const std::vector<std::string>& keys) {
    const auto& l = cfg_.legacy;
    auto r = conn_.exec("reading legacy rows from " + l.table.display(),
                        "SELECT " + l.key_column.quoted() + "::text, " + l.history_column.quoted() +
                            "::text FROM " + l.table.quoted() + " WHERE " + l.key_column.quoted() +
                            "::text = ANY($1::text[])",
                        {pg::array_literal(keys)});
    std::vector<legacy_row> out;
    for (int i = 0; i < r.rows(); ++i)
        out.push_back({std::string(r.text(i, 0)), r.optional_text(i, 1), false});
    return out;
}

}  // namespace chatledger::migrator

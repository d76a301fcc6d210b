// SQL both executables run against the ledger: conversation locks, message reads, COPY appends.
// Keys and values travel as parameters; identifiers come quoted from the validated configuration.
#include "ledger/ledger_repository.hpp"

#include <unordered_map>

#include "config/error.hpp"
#include "core/timestamp.hpp"
#include "schema/apply.hpp"

namespace chatledger::ledger {

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

void ledger_repository::lock_conversations(const std::vector<std::string>& keys) {
    conn_.exec("locking conversations",
               "SELECT " + cfg_.ledger.schema.quoted() + ".lock_conversations($1::text[])",
               {pg::array_literal(keys)});
}

std::vector<ledger_message> ledger_repository::ledger_messages(
    const std::vector<std::string>& keys) {
    if (!ledger_exists_)
        return {};
    auto r = conn_.exec_hot(
        "reading ledger messages",
        "SELECT zoho_id, payload::text, author, body, "
        "CASE WHEN isfinite(sent_at) THEN (extract(epoch FROM sent_at) * 1000000)::bigint "
        "END, source, id, "
        "coalesce(xmin = pg_current_xact_id_if_assigned()::xid, false) FROM " +
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
        m.this_transaction = r.boolean(i, 7);
        out.push_back(std::move(m));
    }
    return out;
}

std::pair<long long, std::vector<ledger_message>> ledger_repository::messages_after(
    const std::string& zoho_id, long long after) {
    const std::string m = cfg_.ledger.schema.quoted() + ".chat_messages";
    auto r = conn_.exec_hot(
        "reading new ledger messages",
        "SELECT c.n, m.payload, m.author, m.body, m.sent_at_us, m.source, m.id FROM (SELECT "
        "count(*) AS n FROM " +
            m +
            " WHERE zoho_id = $1 AND id <= $2::bigint) c LEFT JOIN LATERAL (SELECT payload::text, "
            "author, body, CASE WHEN isfinite(sent_at) THEN (extract(epoch FROM sent_at) * "
            "1000000)::bigint END AS sent_at_us, source, id FROM " +
            m + " WHERE zoho_id = $1 AND id > $2::bigint ORDER BY id) m ON true ORDER BY m.id",
        {zoho_id, std::to_string(after)});
    std::pair<long long, std::vector<ledger_message>> out{r.rows() ? r.integer(0, 0) : 0, {}};
    for (int i = 0; i < r.rows(); ++i) {
        if (r.is_null(i, 6))
            continue;  // the LEFT JOIN's one row when nothing is new
        ledger_message msg{
            r.integer(i, 6),       zoho_id,      r.optional_text(i, 1),    r.optional_text(i, 2),
            r.optional_text(i, 3), std::nullopt, std::string(r.text(i, 5))};
        if (!r.is_null(i, 4))
            msg.sent_at_us = r.integer(i, 4);
        out.second.push_back(std::move(msg));
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
            buf += core::format_timestamptz(*m.sent_at_us);
        } else {
            buf += "\\N";
        }
        buf += '\t';
        copy_field(buf, m.payload);
        buf += '\t';
        buf += core::to_string(m.source);
        buf += '\n';
        if (buf.size() >= (1 << 20)) {
            conn_.copy_put(buf);
            buf.clear();
        }
    }
    conn_.copy_put(buf);
    return conn_.copy_end();
}

}  // namespace chatledger::ledger

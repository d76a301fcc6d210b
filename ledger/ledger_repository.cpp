// SQL both executables run against the ledger: conversation locks, message reads, COPY appends.
// Keys and values travel as parameters; identifiers come quoted from the validated configuration.
#include "ledger/ledger_repository.hpp"

#include <cstdint>
#include <limits>
#include <type_traits>
#include <unordered_map>

#include "config/error.hpp"
#include "core/timestamp.hpp"
#include "schema/apply.hpp"

namespace chatledger::ledger {

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

namespace {

/// The select of ledger_messages() and for_each_ledger_message(), columns as read_message()
/// reads them.
std::string messages_query(const config& cfg) {
    return "SELECT zoho_id, payload::text, author, body, "
           "CASE WHEN isfinite(sent_at) THEN (extract(epoch FROM sent_at) * 1000000)::bigint "
           "END, source, id, "
           "coalesce(xmin = pg_current_xact_id_if_assigned()::xid, false) FROM " +
           cfg.ledger.schema.quoted() +
           ".chat_messages WHERE zoho_id = ANY($1::text[]) ORDER BY zoho_id, id";
}

ledger_message read_message(const pg::result& r, int i) {
    ledger_message m{r.integer(i, 6),          std::string(r.text(i, 0)), r.optional_text(i, 1),
                     r.optional_text(i, 2),    r.optional_text(i, 3),     std::nullopt,
                     std::string(r.text(i, 5))};
    if (!r.is_null(i, 4))
        m.sent_at_us = r.integer(i, 4);
    m.this_transaction = r.boolean(i, 7);
    return m;
}

}  // namespace

std::vector<ledger_message> ledger_repository::ledger_messages(
    const std::vector<std::string>& keys) {
    if (!ledger_exists_)
        return {};
    // A row at a time: a whole result held the conversation a second time (100 MB for a
    // 50 MB legacy value) while it was copied into the messages.
    std::vector<ledger_message> out;
    conn_.for_each_row("reading ledger messages", messages_query(cfg_), {pg::array_literal(keys)},
                       [&](const pg::result& r, int i) { out.push_back(read_message(r, i)); });
    return out;
}

std::pair<long long, std::vector<ledger_message>> ledger_repository::messages_after(
    const std::string& zoho_id, long long after) {
    const std::string m = cfg_.ledger.schema.quoted() + ".chat_messages";
    auto r = conn_.exec_hot(
        "reading new ledger messages",
        "SELECT c.n, m.payload, m.author, m.body, m.sent_at_us, m.source, m.id, m.age FROM "
        "(SELECT count(*) AS n FROM " +
            m +
            " WHERE zoho_id = $1 AND id <= $2::bigint) c LEFT JOIN LATERAL (SELECT payload::text, "
            "author, body, CASE WHEN isfinite(sent_at) THEN (extract(epoch FROM sent_at) * "
            "1000000)::bigint END AS sent_at_us, source, id, extract(epoch FROM "
            "clock_timestamp() - created_at) * 1000 AS age FROM " +
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
        msg.age_ms = std::stod(std::string(r.text(i, 7)));
        out.second.push_back(std::move(msg));
    }
    return out;
}

void ledger_repository::for_each_ledger_message(
    const std::vector<std::string>& keys, const std::function<void(const ledger_message_view&)>& f,
    int piece) {
    if (!ledger_exists_)
        return;
    conn_.exec("reading ledger messages",
               "DECLARE chatledger_messages NO SCROLL CURSOR FOR SELECT zoho_id, payload::text, "
               "CASE WHEN payload IS NULL THEN author END, CASE WHEN payload IS NULL THEN body "
               "END, CASE WHEN isfinite(sent_at) THEN (extract(epoch FROM sent_at) * "
               "1000000)::bigint END, source, lead(zoho_id) OVER (ORDER BY zoho_id, id) IS "
               "DISTINCT FROM zoho_id FROM " +
                   cfg_.ledger.schema.quoted() +
                   ".chat_messages WHERE zoho_id = ANY($1::text[]) ORDER BY zoho_id, id",
               {pg::array_literal(keys)});
    const std::string fetch = "FETCH " + std::to_string(piece) + " FROM chatledger_messages";
    auto view = [](const pg::result& r, int i, int col) -> std::optional<std::string_view> {
        if (r.is_null(i, col))
            return std::nullopt;
        return r.text(i, col);
    };
    while (true) {
        auto r = conn_.exec("reading ledger messages", fetch);
        for (int i = 0; i < r.rows(); ++i) {
            ledger_message_view m{r.text(i, 0), view(r, i, 1), view(r, i, 2),  view(r, i, 3),
                                  std::nullopt, r.text(i, 5),  r.boolean(i, 6)};
            if (!r.is_null(i, 4))
                m.sent_at_us = r.integer(i, 4);
            f(m);
        }
        if (r.rows() < piece)
            break;
    }
    conn_.exec("reading ledger messages", "CLOSE chatledger_messages");
}

long long ledger_repository::append(const std::vector<new_message>& messages) {
    appender a(*this);
    for (const auto& m : messages) a.add(m);
    return a.finish();
}

namespace {

constexpr size_t copy_piece = 1 << 20;

/// COPY's binary header: signature, no flags, no extension.
constexpr std::string_view binary_header{"PGCOPY\n\377\r\n\0\0\0\0\0\0\0\0\0", 19};

/// Microseconds from the Unix epoch to PostgreSQL's (2000-01-01).
constexpr int64_t postgres_epoch_us = 946684800LL * 1000000;

/// `v` in network byte order, as COPY's binary format wants every integer.
template <typename T>
void put_integer(std::string& out, T v) {
    using unsigned_t = std::make_unsigned_t<T>;
    const auto u = static_cast<unsigned_t>(v);
    // One append, not one per byte: six fields of every row of a migration go through here.
    char bytes[sizeof(T)];
    for (size_t k = 0; k < sizeof(T); ++k)
        bytes[k] = static_cast<char>((u >> (8 * (sizeof(T) - 1 - k))) & 0xff);
    out.append(bytes, sizeof(T));
}

}  // namespace

void ledger_repository::appender::add(const new_message& m) {
    if (!open_) {
        // Binary: the server neither scans rows for escapes and delimiters nor parses
        // timestamps, a sixth of its work on a migration; text and json arrive as the same bytes.
        repo_.conn_.copy_begin("appending messages to the ledger",
                               "COPY " + repo_.cfg_.ledger.schema.quoted() +
                                   ".chat_messages (zoho_id, author, body, sent_at, payload, "
                                   "source) FROM STDIN (FORMAT binary)");
        open_ = true;
        buf_.reserve(2 * copy_piece);
        buf_ += binary_header;
    }
    put_integer<int16_t>(buf_, 6);
    field(*m.zoho_id);
    field(m.author ? std::optional<std::string_view>(*m.author) : std::nullopt);
    field(m.body ? std::optional<std::string_view>(*m.body) : std::nullopt);
    if (m.sent_at_us) {
        put_integer<int32_t>(buf_, 8);
        put_integer<int64_t>(buf_, *m.sent_at_us - postgres_epoch_us);
    } else {
        put_integer<int32_t>(buf_, -1);
    }
    field(m.payload);
    field(core::to_string(m.source));
}

void ledger_repository::appender::field(std::optional<std::string_view> value) {
    if (!value)
        return put_integer<int32_t>(buf_, -1);
    // A value read from PostgreSQL is at most 1 GB, within the length word.
    if (value->size() > static_cast<size_t>(std::numeric_limits<int32_t>::max()))
        throw error("appending a message to the ledger failed: a field is larger than 2 GB",
                    "PostgreSQL stores at most 1 GB in one field");
    put_integer<int32_t>(buf_, static_cast<int32_t>(value->size()));
    // COPY data may be cut anywhere: a large field goes out as it stands, so neither this buffer
    // nor libpq's ever holds a whole 50 MB message beside it.
    if (value->size() < copy_piece) {
        buf_ += *value;
        if (buf_.size() < copy_piece)
            return;
        repo_.conn_.copy_put(buf_);
        buf_.clear();
        return;
    }
    repo_.conn_.copy_put(buf_);
    buf_.clear();
    for (size_t at = 0; at < value->size(); at += copy_piece)
        repo_.conn_.copy_put(value->substr(at, copy_piece));
}

long long ledger_repository::appender::finish() {
    if (!open_)
        return 0;
    put_integer<int16_t>(buf_, -1);  // the trailer
    repo_.conn_.copy_put(buf_);
    open_ = false;
    std::string().swap(buf_);
    return repo_.conn_.copy_end();
}

ledger_repository::appender::~appender() {
    if (!open_)
        return;
    // An error between two add()s: end the COPY so the connection can roll back.
    PGconn* c = repo_.conn_.native();
    PQputCopyEnd(c, "chatledger: the append was abandoned");
    while (PGresult* r = PQgetResult(c)) PQclear(r);
}

}  // namespace chatledger::ledger

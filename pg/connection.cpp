// libpq connection handling: connect exactly as psql does, map every failure to a db_error.
// Results stay text format; conversions happen in the repositories that know the types.
#include "pg/connection.hpp"

#include <spdlog/spdlog.h>

#include <cctype>
#include <charconv>
#include <cstring>
#include <exception>

namespace chatledger::pg {

std::string first_line(std::string_view message) {
    auto end = message.find('\n');
    std::string_view line = message.substr(0, end);
    while (!line.empty() && (line.back() == ' ' || line.back() == '\r')) line.remove_suffix(1);
    return std::string(line);
}

std::string array_literal(const std::vector<std::string>& values) {
    std::string out = "{";
    for (size_t i = 0; i < values.size(); ++i) {
        if (i)
            out += ',';
        // Every element quoted: commas, braces, blanks and the word NULL stay plain text.
        out += '"';
        for (char c : values[i]) {
            if (c == '"' || c == '\\')
                out += '\\';
            out += c;
        }
        out += '"';
    }
    out += '}';
    return out;
}

long long result::integer(int row, int col) const {
    auto t = text(row, col);
    long long v = 0;
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    if (ec != std::errc() || p != t.data() + t.size())
        throw db_error("unexpected non-integer value \"" + std::string(t) + "\" from the server",
                       "XX000");
    return v;
}

long long result::affected() const {
    const char* n = PQcmdTuples(res_.get());
    return (n && *n) ? std::stoll(n) : 0;
}

namespace {

/// Server NOTICEs ("trigger ... does not exist, skipping") go to the debug log, not raw stderr.
void log_notice(void*, const char* message) {
    spdlog::debug("server: {}", first_line(message));
}

/// The text and, when it decodes, the %-decoded text: libpq may quote either.
void add_secret(std::vector<std::string>& out, std::string_view raw) {
    if (raw.empty())
        return;
    out.emplace_back(raw);
    std::string decoded;
    for (size_t i = 0; i < raw.size(); ++i) {
        unsigned byte = 0;
        const char* hex = raw.data() + i + 1;
        if (raw[i] == '%' && i + 2 < raw.size() &&
            std::from_chars(hex, hex + 2, byte, 16).ptr == hex + 2) {
            decoded += static_cast<char>(byte);
            i += 2;
        } else {
            decoded += raw[i];
        }
    }
    if (decoded != raw)
        out.push_back(std::move(decoded));
}

/// Every password the conninfo may hold, found by hand: a malformed conninfo is exactly the
/// one PQconninfoParse cannot take apart, and libpq's message about it quotes it.
std::vector<std::string> conninfo_secrets(const std::string& conninfo) {
    std::vector<std::string> out;
    const bool uri =
        conninfo.rfind("postgresql://", 0) == 0 || conninfo.rfind("postgres://", 0) == 0;
    if (uri) {
        // user:secret@ up to the last '@': a broken host part must not hide where it ends.
        const size_t start = conninfo.find("://") + 3;
        const size_t at = conninfo.rfind('@');
        if (at != std::string::npos && at > start) {
            const size_t colon = conninfo.find(':', start);
            if (colon != std::string::npos && colon < at)
                add_secret(out, std::string_view(conninfo).substr(colon + 1, at - colon - 1));
        }
    }
    // password=... in a URI query or a key=value string, quoted or not, terminated or not.
    for (size_t p = conninfo.find("password"); p != std::string::npos;
         p = conninfo.find("password", p + 1)) {
        size_t j = p + 8;
        while (j < conninfo.size() && (conninfo[j] == ' ' || conninfo[j] == '\t')) ++j;
        if (j >= conninfo.size() || conninfo[j] != '=')
            continue;
        ++j;
        while (j < conninfo.size() && (conninfo[j] == ' ' || conninfo[j] == '\t')) ++j;
        std::string value;
        if (j < conninfo.size() && conninfo[j] == '\'') {
            for (++j; j < conninfo.size() && conninfo[j] != '\''; ++j) {
                if (conninfo[j] == '\\' && j + 1 < conninfo.size())
                    ++j;
                value += conninfo[j];
            }
        } else {
            const char* stop = uri ? "&#" : " \t\n";
            for (; j < conninfo.size() && !std::strchr(stop, conninfo[j]); ++j) {
                if (!uri && conninfo[j] == '\\' && j + 1 < conninfo.size())
                    ++j;
                value += conninfo[j];
            }
        }
        add_secret(out, value);
    }
    // What libpq itself reads as the password, when it can read the string at all.
    char* err = nullptr;
    if (PQconninfoOption* opts = PQconninfoParse(conninfo.c_str(), &err)) {
        for (auto* o = opts; o->keyword; ++o)
            if (std::strcmp(o->keyword, "password") == 0 && o->val)
                add_secret(out, o->val);
        PQconninfoFree(opts);
    }
    if (err)
        PQfreemem(err);
    return out;
}

/// A host, a socket path, an option name: what a connection error names that is no secret.
bool plain_word(std::string_view s) {
    if (s.size() == 1)
        return true;  // the "]" or "=" a parse error names
    for (char c : s)
        if (!std::isalnum(static_cast<unsigned char>(c)) && !std::strchr("_-./:", c))
            return false;
    return true;
}

}  // namespace

std::string scrub_secrets(std::string_view message, const std::string& conninfo) {
    const auto secrets = conninfo_secrets(conninfo);
    auto holds_secret = [&](std::string_view s) {
        for (const auto& x : secrets)
            if (s.find(x) != std::string_view::npos)
                return true;
        return false;
    };
    // libpq quotes a malformed URI whole, a bad %-token, an unknown option: keep a quoted
    // word that is no secret, hide anything else quoted.
    std::string out;
    size_t pos = 0;
    while (pos < message.size()) {
        const size_t open = message.find('"', pos);
        const size_t close = open == std::string_view::npos ? open : message.find('"', open + 1);
        if (close == std::string_view::npos) {
            out.append(message.substr(pos));
            break;
        }
        out.append(message.substr(pos, open - pos + 1));
        const auto quoted = message.substr(open + 1, close - open - 1);
        out.append(plain_word(quoted) && !holds_secret(quoted) ? std::string(quoted)
                                                               : std::string("(hidden)"));
        out += '"';
        pos = close + 1;
    }
    // And anywhere else: a secret of a few characters could also be an ordinary word, so the
    // shortest are left to the quoted rule above.
    for (const auto& x : secrets) {
        if (x.size() < 4)
            continue;
        for (size_t p = out.find(x); p != std::string::npos; p = out.find(x, p + 3))
            out.replace(p, x.size(), "***");
    }
    return out;
}

std::string connect_hint(std::string_view message) {
    auto has = [&](std::string_view s) { return message.find(s) != std::string_view::npos; };
    if (has("password authentication failed") || has("authentication failed for user"))
        return "the server is up and refused the password: check the login's line in the pgpass "
               "file (PGPASSFILE) or its password in database.conninfo";
    if (has("no password supplied"))
        return "the server asks for a password: put it in a pgpass file (PGPASSFILE), not in the "
               "configuration";
    if (has("role \"") && has("does not exist"))
        return "the server is up and has no such login: check user= in database.conninfo and "
               "PGUSER";
    if (has("database \"") && has("does not exist"))
        return "the server is up and has no such database: check dbname= in database.conninfo "
               "and PGDATABASE";
    if (has("no pg_hba.conf entry"))
        return "the server refuses this login from this host: add a pg_hba.conf line for it";
    return "check database.conninfo and the PG* environment, and that the server is running";
}

connection connection::open(const database_config& db, const std::string& application_name,
                            access_context access) {
    // Keywords before "dbname" are defaults: the expanded conninfo overrides them, as psql does.
    const std::string timeout = std::to_string((db.connect_timeout.count() + 999) / 1000);
    const char* keys[] = {"fallback_application_name", "client_encoding", "connect_timeout",
                          "dbname", nullptr};
    const char* values[] = {application_name.c_str(), "UTF8", timeout.c_str(), db.conninfo.c_str(),
                            nullptr};
    PGconn* raw = PQconnectdbParams(keys, values, 1);
    if (raw == nullptr)
        throw connection_error("cannot connect to the database: out of memory", "08001");
    connection conn(raw);
    PQsetNoticeProcessor(raw, &log_notice, nullptr);
    if (PQstatus(raw) != CONNECTION_OK) {
        const std::string message = first_line(PQerrorMessage(raw));
        throw connection_error(
            "cannot connect to the database: " + scrub_secrets(message, db.conninfo), "08001",
            connect_hint(message));
    }
    conn.access_ = std::move(access);
    // Nothing is SET for the session: behind a transaction pooler (PgBouncer) it would leak to
    // other clients sharing the server connection, and be lost when the pooler reconnects.
    // Every transaction sets what chatledger needs itself (begin()). row_security = off turns a
    // policy that would hide rows into an error instead of a silent filter.
    conn.local_settings_ =
        "SET LOCAL statement_timeout = " + std::to_string(db.statement_timeout.count()) +
        "; SET LOCAL lock_timeout = " + std::to_string(db.lock_timeout.count()) +
        "; SET LOCAL row_security = off";
    // A SQL_ASCII database stores bytes, not characters: asking for UTF8 would make the server
    // refuse a legacy value holding a byte such as 0xff on its way back. client_encoding is a
    // parameter poolers track per client, so this one setting may stay on the session.
    const char* server_encoding = PQparameterStatus(raw, "server_encoding");
    if (server_encoding && std::string_view(server_encoding) == "SQL_ASCII")
        conn.exec_script("matching the client encoding to SQL_ASCII",
                         "SET client_encoding = 'SQL_ASCII'");
    return conn;
}

void connection::fail(std::string_view what, PGresult* res) {
    std::string sqlstate;
    std::string primary;
    std::string hint;
    bool catalog_race = false;
    if (res != nullptr) {
        const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (s)
            sqlstate = s;
        const char* m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        primary = m ? m : PQresultErrorMessage(res);
        // Roles and memberships are cluster-wide: another database's `schema` can grant the
        // same one in the same instant, and the later of the two fails on the catalog's index.
        const char* schema = PQresultErrorField(res, PG_DIAG_SCHEMA_NAME);
        catalog_race =
            (sqlstate == "23505" && schema && std::string_view(schema) == "pg_catalog") ||
            (sqlstate == "XX000" && primary.starts_with("tuple concurrently "));
        const char* d = PQresultErrorField(res, PG_DIAG_MESSAGE_DETAIL);
        // A DETAIL can quote row values (a failing row, a duplicate key); message bodies and
        // keys stay out of error lines and logs.
        if (d && std::strstr(d, "Failing row contains") == nullptr &&
            std::strstr(d, "Key (") == nullptr)
            primary += " (" + first_line(d) + ")";
        const char* h = PQresultErrorField(res, PG_DIAG_MESSAGE_HINT);
        if (h)
            hint = first_line(h);
        PQclear(res);
    }
    if (primary.empty())
        primary = PQerrorMessage(conn_.get());
    if (sqlstate.empty() || PQstatus(conn_.get()) != CONNECTION_OK) {
        // libpq reports a lost server without a SQLSTATE; treat it as class 08 so callers retry.
        if (sqlstate.empty() || sqlstate.compare(0, 2, "57") != 0)
            sqlstate = "08006";
    }
    if (hint.empty())
        hint = sqlstate == "42501"
                   ? permission_hint(access_, PQuser(conn_.get()), PQdb(conn_.get()))
                   : default_hint(sqlstate);
    if (catalog_race)
        throw catalog_conflict(std::string(what) + " failed: " + first_line(primary), sqlstate,
                               "another session changed the same role or grant at the same "
                               "moment; run the command again");
    throw_db_error(std::string(what) + " failed: " + first_line(primary), sqlstate, hint);
}

result connection::check(std::string_view what, PGresult* res) {
    auto st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY ||
        st == PGRES_COPY_IN)
        return result(res);
    fail(what, res);
}

namespace {

/// libpq's view of the parameters: NULL for a missing value.
std::vector<const char*> param_values(const std::vector<param>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    return values;
}

/// Decodes encode(..., 'hex') text (two digits a byte) into `out`, which has room.
void decode_hex(std::string_view hex, char* out) {
    auto digit = [](char c) -> int {
        if (c >= '0' && c <= '9')
            return c - '0';
        if (c >= 'a' && c <= 'f')
            return c - 'a' + 10;
        throw db_error("unexpected hex text from the server", "XX000");
    };
    if (hex.size() % 2)
        digit('x');
    for (size_t i = 0; i < hex.size(); i += 2)
        *out++ = static_cast<char>(digit(hex[i]) * 16 + digit(hex[i + 1]));
}

}  // namespace

result connection::exec(std::string_view what, const std::string& sql,
                        const std::vector<param>& params) {
    const auto values = param_values(params);
    PGresult* res = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
    return check(what, res);
}

const std::string& connection::prepared_name(std::string_view what, const std::string& sql) {
    auto it = prepared_.find(sql);
    if (it == prepared_.end()) {
        const std::string name = "chatledger_" + std::to_string(prepared_.size() + 1);
        PGresult* res = PQprepare(conn_.get(), name.c_str(), sql.c_str(), 0, nullptr);
        if (res == nullptr || PQresultStatus(res) != PGRES_COMMAND_OK)
            fail_prepared(what, res);
        PQclear(res);
        it = prepared_.emplace(sql, name).first;
    }
    return it->second;
}

result connection::exec_hot(std::string_view what, const std::string& sql,
                            const std::vector<param>& params) {
    if (!prepare_)
        return exec(what, sql, params);
    const auto values = param_values(params);
    const std::string& name = prepared_name(what, sql);
    PGresult* res = PQexecPrepared(conn_.get(), name.c_str(), static_cast<int>(values.size()),
                                   values.data(), nullptr, nullptr, 0);
    auto st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK)
        return result(res);
    fail_prepared(what, res);
}

void connection::for_each_row(std::string_view what, const std::string& sql,
                              const std::vector<param>& params,
                              const std::function<void(const result&, int)>& row) {
    const auto values = param_values(params);
    const int n = static_cast<int>(values.size());
    PGconn* c = conn_.get();
    const int sent = prepare_ ? PQsendQueryPrepared(c, prepared_name(what, sql).c_str(), n,
                                                    values.data(), nullptr, nullptr, 0)
                              : PQsendQueryParams(c, sql.c_str(), n, nullptr, values.data(),
                                                  nullptr, nullptr, 0);
    if (!sent)
        fail(what, nullptr);
    // Refused only when called at the wrong time; the rows then come as one result, still right.
    PQsetSingleRowMode(c);
    // Every result is fetched, even after an error or a throwing `row`: the connection must be
    // idle again before the caller rolls back.
    PGresult* failed = nullptr;
    std::exception_ptr thrown;
    while (PGresult* res = PQgetResult(c)) {
        const auto st = PQresultStatus(res);
        if (st != PGRES_SINGLE_TUPLE && st != PGRES_TUPLES_OK && st != PGRES_COMMAND_OK) {
            if (failed)
                PQclear(failed);
            failed = res;
            continue;
        }
        result r(res);
        if (failed || thrown)
            continue;
        try {
            for (int i = 0; i < r.rows(); ++i) row(r, i);
        } catch (...) {
            thrown = std::current_exception();
        }
    }
    if (failed)
        prepare_ ? fail_prepared(what, failed) : fail(what, failed);
    if (thrown)
        std::rethrow_exception(thrown);
}

std::optional<std::string> connection::read_text_in_slices(std::string_view what,
                                                           const std::string& expr,
                                                           const std::string& from_where,
                                                           const std::vector<param>& params,
                                                           long long slice_bytes) {
    // The bytes the text would have crossed the wire as (client_encoding), sliced as bytea, so
    // a slice may cut a character; each slice carries its offset. OFFSET 0 keeps the conversion
    // (and the detoasting) to once per value; an empty text still gives one row.
    const std::string slice = std::to_string(slice_bytes);
    std::optional<std::string> value;
    for_each_row(what,
                 "SELECT o, octet_length(b), encode(substring(b FROM o FOR " + slice +
                     "), 'hex') FROM (SELECT convert_to(" + expr +
                     ", pg_client_encoding()) AS b FROM " + from_where +
                     " OFFSET 0) v, generate_series(1, greatest(octet_length(b), 1), " + slice +
                     ") o",
                 params, [&](const result& r, int i) {
                     if (r.is_null(i, 1))
                         return;
                     const auto size = static_cast<size_t>(r.integer(i, 1));
                     const auto at = static_cast<size_t>(r.integer(i, 0) - 1);
                     const auto hex = r.text(i, 2);
                     if (!value)
                         value.emplace(size, '\0');
                     if (value->size() != size || at + hex.size() / 2 > size)
                         throw db_error(std::string(what) + " failed: the value changed while read",
                                        "XX000");
                     decode_hex(hex, value->data() + at);
                 });
    return value;
}

void connection::fail_prepared(std::string_view what, PGresult* res) {
    const char* s = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) : nullptr;
    const std::string sqlstate = s ? s : "";
    if (sqlstate != "26000" && sqlstate != "42P05")
        fail(what, res);
    PQclear(res);
    prepare_ = false;
    prepared_.clear();
    throw prepared_statement_lost(
        std::string(what) + " failed: a prepared statement of this session " +
            (sqlstate == "26000" ? "vanished" : "collided with another client's") + " (SQLSTATE " +
            sqlstate + "): a transaction pooler shares the server connection",
        "08P01",
        "the work is retried without prepared statements; give the daemon a direct connection");
}

result connection::exec_script(std::string_view what, const std::string& sql) {
    // PQexec runs a multi-statement script in one round trip; a failure stops it there.
    return check(what, PQexec(conn_.get(), sql.c_str()));
}

void connection::begin(std::string_view mode) {
    // One round trip: BEGIN and the transaction's own settings as one simple-protocol string.
    exec_script("starting a transaction", std::string(mode) + "; " + local_settings_);
}

void connection::commit() {
    exec("committing", "COMMIT");
}

bool connection::in_transaction() const {
    return PQtransactionStatus(conn_.get()) != PQTRANS_IDLE;
}

void connection::rollback() noexcept {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK)
        return;
    if (!in_transaction())
        return;
    PQclear(PQexec(conn_.get(), "ROLLBACK"));
}

void connection::copy_begin(std::string_view what, const std::string& copy_sql) {
    copy_what_ = std::string(what);
    PGresult* res = PQexec(conn_.get(), copy_sql.c_str());
    if (res == nullptr || PQresultStatus(res) != PGRES_COPY_IN)
        fail(copy_what_, res);
    PQclear(res);
}

void connection::copy_put(std::string_view data) {
    if (PQputCopyData(conn_.get(), data.data(), static_cast<int>(data.size())) != 1)
        fail(copy_what_, nullptr);
}

long long connection::copy_end() {
    if (PQputCopyEnd(conn_.get(), nullptr) != 1)
        fail(copy_what_, nullptr);
    long long rows = 0;
    while (PGresult* res = PQgetResult(conn_.get())) {
        if (PQresultStatus(res) != PGRES_COMMAND_OK)
            fail(copy_what_, res);
        const char* n = PQcmdTuples(res);
        if (n && *n)
            rows += std::stoll(n);
        PQclear(res);
    }
    return rows;
}

}  // namespace chatledger::pg

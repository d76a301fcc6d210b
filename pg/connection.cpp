// libpq connection handling: connect exactly as psql does, map every failure to a db_error.
// Results stay text format; conversions happen in the repositories that know the types.
#include "pg/connection.hpp"

#include <spdlog/spdlog.h>

#include <charconv>
#include <cstring>

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

}  // namespace

connection connection::open(const database_config& db, const std::string& application_name) {
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
        throw connection_error(
            "cannot connect to the database: " + first_line(PQerrorMessage(raw)), "08001",
            "check database.conninfo and the PG* environment, and that the server is running");
    }
    conn.exec(
        "setting session timeouts",
        "SELECT set_config('statement_timeout', $1, false), "
        "set_config('lock_timeout', $2, false)",
        {std::to_string(db.statement_timeout.count()), std::to_string(db.lock_timeout.count())});
    return conn;
}

void connection::fail(std::string_view what, PGresult* res) {
    std::string sqlstate;
    std::string primary;
    std::string hint;
    if (res != nullptr) {
        const char* s = PQresultErrorField(res, PG_DIAG_SQLSTATE);
        if (s)
            sqlstate = s;
        const char* m = PQresultErrorField(res, PG_DIAG_MESSAGE_PRIMARY);
        primary = m ? m : PQresultErrorMessage(res);
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
        hint = default_hint(sqlstate);
    throw_db_error(std::string(what) + " failed: " + first_line(primary), sqlstate, hint);
}

result connection::check(std::string_view what, PGresult* res) {
    auto st = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
    if (st == PGRES_COMMAND_OK || st == PGRES_TUPLES_OK || st == PGRES_EMPTY_QUERY ||
        st == PGRES_COPY_IN)
        return result(res);
    fail(what, res);
}

result connection::exec(std::string_view what, const std::string& sql,
                        const std::vector<param>& params) {
    std::vector<const char*> values;
    values.reserve(params.size());
    for (const auto& p : params) values.push_back(p ? p->c_str() : nullptr);
    PGresult* res = PQexecParams(conn_.get(), sql.c_str(), static_cast<int>(values.size()), nullptr,
                                 values.data(), nullptr, nullptr, 0);
    return check(what, res);
}

result connection::exec_script(std::string_view what, const std::string& sql) {
    // PQexec runs a multi-statement script in one round trip; a failure stops it there.
    return check(what, PQexec(conn_.get(), sql.c_str()));
}

void connection::begin(std::string_view mode) {
    exec("starting a transaction", std::string(mode));
}

void connection::commit() {
    exec("committing", "COMMIT");
}

void connection::rollback() noexcept {
    if (!conn_ || PQstatus(conn_.get()) != CONNECTION_OK)
        return;
    if (PQtransactionStatus(conn_.get()) == PQTRANS_IDLE)
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

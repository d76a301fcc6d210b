// A thin RAII layer over libpq: one connection, text-format results, COPY and notifications.
// Repository objects own all SQL; nothing else should call exec() with SQL text of its own.
#pragma once

#include <libpq-fe.h>

#include <chrono>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "pg/error.hpp"
#include "pg/options.hpp"

namespace chatledger::pg {

/// A nullable text parameter; std::nullopt binds SQL NULL.
using param = std::optional<std::string>;

/// Owns one PGresult; cells are read as text.
class result {
  public:
    result() = default;
    explicit result(PGresult* res) : res_(res, &PQclear) {}

    int rows() const { return res_ ? PQntuples(res_.get()) : 0; }
    int columns() const { return res_ ? PQnfields(res_.get()) : 0; }
    bool is_null(int row, int col) const { return PQgetisnull(res_.get(), row, col) != 0; }
    /// The cell as text; empty for NULL (check is_null() where the difference matters).
    std::string_view text(int row, int col) const {
        return {PQgetvalue(res_.get(), row, col),
                static_cast<size_t>(PQgetlength(res_.get(), row, col))};
    }
    std::optional<std::string> optional_text(int row, int col) const {
        if (is_null(row, col))
            return std::nullopt;
        return std::string(text(row, col));
    }
    long long integer(int row, int col) const;
    bool boolean(int row, int col) const { return text(row, col) == "t"; }
    /// Rows changed by an INSERT, UPDATE or DELETE.
    long long affected() const;

  private:
    std::shared_ptr<PGresult> res_;
};

/// One libpq connection with the settings chatledger relies on.
///
/// Opening takes the conninfo exactly as psql does (key=value or URI, "" = PG* environment),
/// sets client_encoding UTF8 (SQL_ASCII in a SQL_ASCII database) and a fallback
/// application_name. The configured timeouts and row_security = off are set by every begin()
/// for its transaction only, so nothing leaks through a transaction pooler.
class connection {
  public:
    /// Connects; throws connection_error with a one-line reason (never the password).
    /// `access` words the HINT of any permission error this connection meets.
    static connection open(const database_config& db, const std::string& application_name,
                           access_context access = {});

    connection(connection&&) noexcept = default;
    connection& operator=(connection&&) noexcept = default;
    ~connection() = default;

    /// Runs one statement with text parameters; throws the db_error subclass of its SQLSTATE.
    /// `what` names the work in the error message ("applying schema step 2").
    result exec(std::string_view what, const std::string& sql,
                const std::vector<param>& params = {});
    /// exec() of a statement run often: prepared once per connection when prepare() is on.
    /// A prepared statement that vanished or collided (a transaction pooler shares or swaps
    /// the server connection) throws prepared_statement_lost and turns preparing off.
    result exec_hot(std::string_view what, const std::string& sql,
                    const std::vector<param>& params = {});
    /// exec_hot() read a row at a time (libpq's single-row mode): `row` gets each row (a result
    /// and its row number) as it arrives, so no PGresult ever holds the whole answer (a
    /// conversation of 100 MB). Costs no round trip more than exec_hot().
    void for_each_row(std::string_view what, const std::string& sql,
                      const std::vector<param>& params,
                      const std::function<void(const result&, int)>& row);
    /// The text `expr` takes in the one row `from_where` selects ("t WHERE ..." with `params`),
    /// read in slices of `slice_bytes` in one statement, a row per slice: libpq holds a whole
    /// protocol message in its input buffer and keeps that buffer at its largest for the
    /// connection's life (67 MB for a 52 MB history). Slices are cut in the client encoding's
    /// bytes and cross the wire as hex text, whatever the login's bytea_output. nullopt when no
    /// row is selected or the text is NULL. Throws db_error if the value changes while read.
    std::optional<std::string> read_text_in_slices(std::string_view what, const std::string& expr,
                                                   const std::string& from_where,
                                                   const std::vector<param>& params,
                                                   long long slice_bytes = 1 << 20);
    /// Whether exec_hot() prepares; off on a new connection: only a direct connection to the
    /// server keeps a session's prepared statements from one transaction to the next.
    void prepare(bool on) {
        prepare_ = on;
        prepared_.clear();
    }
    bool prepares() const { return prepare_; }
    /// Runs one or more statements without parameters (DDL scripts); returns the last result.
    result exec_script(std::string_view what, const std::string& sql);

    void begin(std::string_view mode = "BEGIN");
    /// Whether the session is anything but idle outside a transaction: a transaction block open
    /// or failed, or the connection busy or broken.
    bool in_transaction() const;
    void commit();
    /// Rolls back if a transaction is open; never throws (used on error paths).
    void rollback() noexcept;

    /// True while libpq believes the connection is usable.
    bool ok() const { return conn_ && PQstatus(conn_.get()) == CONNECTION_OK; }
    /// Server version as an integer (150004 for 15.4).
    int server_version() const { return PQserverVersion(conn_.get()); }
    /// The raw handle, for COPY and LISTEN in the repositories that need them.
    PGconn* native() const { return conn_.get(); }

    /// Starts COPY ... FROM STDIN; then call copy_put() and copy_end().
    void copy_begin(std::string_view what, const std::string& copy_sql);
    void copy_put(std::string_view data);
    /// Ends the COPY; returns rows copied.
    long long copy_end();

  private:
    explicit connection(PGconn* conn) : conn_(conn, &PQfinish) {}
    [[noreturn]] void fail(std::string_view what, PGresult* res);
    /// fail(), except that a lost prepared statement turns preparing off and says so.
    [[noreturn]] void fail_prepared(std::string_view what, PGresult* res);
    result check(std::string_view what, PGresult* res);
    /// The name of `sql` prepared on this connection, preparing it the first time.
    const std::string& prepared_name(std::string_view what, const std::string& sql);

    std::unique_ptr<PGconn, decltype(&PQfinish)> conn_{nullptr, &PQfinish};
    std::string copy_what_;
    std::string local_settings_;  ///< SET LOCAL statements every begin() runs
    access_context access_;       ///< for the HINT of a permission error
    bool prepare_ = false;
    /// Statements exec_hot() prepared on this connection: SQL text to statement name.
    std::unordered_map<std::string, std::string> prepared_;
};

/// Rolls back on scope exit unless commit() was called.
class transaction {
  public:
    explicit transaction(connection& conn, std::string_view mode = "BEGIN") : conn_(conn) {
        conn_.begin(mode);
    }
    transaction(const transaction&) = delete;
    transaction& operator=(const transaction&) = delete;
    ~transaction() {
        if (!done_)
            conn_.rollback();
    }
    void commit() {
        conn_.commit();
        done_ = true;
    }

  private:
    connection& conn_;
    bool done_ = false;
};

/// A PostgreSQL array literal of `values`, for binding a list as one text[] or bigint[] parameter.
std::string array_literal(const std::vector<std::string>& values);

/// `message` with every password `conninfo` may hold hidden, and any quoted text that is not a
/// plain word: libpq quotes a malformed conninfo, password included, in its error text.
std::string scrub_secrets(std::string_view message, const std::string& conninfo);

/// The HINT for a failed connection, chosen by libpq's message: a refused password is not a
/// server that is down.
std::string connect_hint(std::string_view libpq_message);

/// First line of a libpq message, trimmed, so one error stays one line.
std::string first_line(std::string_view message);

}  // namespace chatledger::pg

// The one exception root of chatledger, and database errors by SQLSTATE class in the manner of
// libpqxx: one subclass per class that matters to a caller, each knowing whether a retry helps.
#pragma once

#include <stdexcept>
#include <string>

namespace chatledger {

/// Process exit statuses shared by both executables.
enum class exit_status : int {
    ok = 0,           ///< success
    differences = 1,  ///< verify found differences
    usage = 2,        ///< usage or configuration error
    database = 3,     ///< database unreachable or a database error
};

/// Root of every error chatledger reports.
///
/// The message is lowercase and says what failed; the hint, when not empty, says what to do.
/// retryable() tells a caller whether running the same work again can succeed.
class error : public std::runtime_error {
  public:
    explicit error(const std::string& message, std::string hint = {})
        : std::runtime_error(message), hint_(std::move(hint)) {}

    /// What the operator can do about it; empty when there is nothing useful to say.
    const std::string& hint() const noexcept { return hint_; }
    /// Exit status a command ends with when this error reaches main().
    virtual exit_status status() const noexcept { return exit_status::database; }
    /// True when repeating the failed work may succeed (lost connection, serialization failure).
    virtual bool retryable() const noexcept { return false; }

    /// The single line main() prints: "message HINT: hint".
    std::string line() const {
        return hint_.empty() ? std::string(what()) : std::string(what()) + " HINT: " + hint_;
    }

  private:
    std::string hint_;
};

}  // namespace chatledger

namespace chatledger::pg {

/// Any error reported by PostgreSQL or libpq.
class db_error : public error {
  public:
    db_error(const std::string& message, std::string sqlstate, std::string hint = {})
        : error(message, std::move(hint)), sqlstate_(std::move(sqlstate)) {}
    /// Five-character SQLSTATE; "08006" when libpq lost the connection without one.
    const std::string& sqlstate() const noexcept { return sqlstate_; }
    exit_status status() const noexcept override { return exit_status::database; }

  private:
    std::string sqlstate_;
};

/// Class 08: the connection failed or was lost; a new connection may succeed.
class connection_error : public db_error {
  public:
    using db_error::db_error;
    bool retryable() const noexcept override { return true; }
};

/// A prepared statement of this connection vanished or collided with another client's (26000,
/// 42P05): the server connection is shared or swapped by a transaction pooler. The connection
/// has stopped preparing; the work is retried, as after a lost connection.
class prepared_statement_lost : public connection_error {
  public:
    using connection_error::connection_error;
};

/// Class 40: serialization failure or deadlock; the transaction may be re-run as a whole.
class transaction_rollback : public db_error {
  public:
    using db_error::db_error;
    bool retryable() const noexcept override { return true; }
};

/// A statement that gave up waiting: later, the same work may go through.
class timeout_error : public db_error {
  public:
    using db_error::db_error;
    bool retryable() const noexcept override { return true; }
};

/// 55P03 lock_not_available: lock_timeout expired, so another session holds the row or table.
class lock_not_available : public timeout_error {
  public:
    using timeout_error::timeout_error;
};

/// 57014 query_canceled: statement_timeout expired, or someone cancelled the statement
/// (pg_cancel_backend); nothing says another session is in the way.
class query_canceled : public timeout_error {
  public:
    using timeout_error::timeout_error;
};

/// Class 57 other than 57014 (admin shutdown, crash shutdown, cannot connect now) and class 53
/// (out of resources): the server is going away or busy; later may work.
class server_unavailable : public db_error {
  public:
    using db_error::db_error;
    bool retryable() const noexcept override { return true; }
};

/// Class 23: a constraint refused the data.
class integrity_violation : public db_error {
  public:
    using db_error::db_error;
};

/// A change to the system catalogs that met another session's change of the same catalog row:
/// a unique index of pg_catalog refused it (two sessions granting one membership or creating one
/// role at once, from any database of the cluster), or "tuple concurrently updated". The other
/// session's change has committed, so the same work run again finds it done.
class catalog_conflict : public db_error {
  public:
    using db_error::db_error;
    bool retryable() const noexcept override { return true; }
};

/// Class 22: the data itself is invalid for its type.
class data_exception : public db_error {
  public:
    using db_error::db_error;
};

/// Class 42: bad SQL, a missing object or missing privilege; a configuration or grant problem.
class syntax_or_access_error : public db_error {
  public:
    using db_error::db_error;
};

/// What the caller knows about its work and the pg layer does not: which command runs and the
/// role its login should hold, so a permission error's HINT fits the command that met it.
struct access_context {
    std::string work;            ///< what runs, as the operator typed it: "chatledger-migrate plan"
    std::string grant_role;      ///< the ledger role its login is granted; "" = the DBA's work
    bool creates_roles = false;  ///< the work creates roles, so the DBA needs CREATEROLE
};

/// What to do about a SQLSTATE the server sent no HINT for; "" when nothing general helps.
/// Without a context a permission error gets a hint that names no role.
std::string default_hint(const std::string& sqlstate);

/// The HINT of a permission error (42501) met by `login` doing `ctx.work` in `database`.
std::string permission_hint(const access_context& ctx, const std::string& login,
                            const std::string& database);

/// Builds the subclass matching `sqlstate` and throws it.
[[noreturn]] void throw_db_error(const std::string& message, const std::string& sqlstate,
                                 const std::string& hint = {});

}  // namespace chatledger::pg

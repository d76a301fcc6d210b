// The one exception root of chatledger and the exit statuses of CONTRACT section 5.
// Every error a command can report derives from chatledger::error; main() maps it to one stderr
// line.
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

/// Bad command line: unknown option, missing command, wrong argument.
class usage_error : public error {
  public:
    using error::error;
    exit_status status() const noexcept override { return exit_status::usage; }
};

/// Bad configuration: unreadable file, unknown key, wrong type, invalid value.
class config_error : public usage_error {
  public:
    using usage_error::usage_error;
};

}  // namespace chatledger

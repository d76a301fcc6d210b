// Usage and configuration errors: the exit-2 branch of the error root in pg/error.hpp.
// main() maps every chatledger::error to one stderr line and its exit status.
#pragma once

#include "pg/error.hpp"

namespace chatledger {

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

// The chatledger-migrate command line: option parsing, config loading and command dispatch.
// main.cpp only forwards argc/argv here, so the whole front end is testable in-process.
#pragma once

#include <iosfwd>

namespace chatledger::migrator {

/// Runs chatledger-migrate; returns the process exit status (CONTRACT section 5).
///
/// Every error reaching this level becomes one line on `err`; nothing is thrown out of it.
int run_cli(int argc, const char* const argv[], std::ostream& out, std::ostream& err);

}  // namespace chatledger::migrator

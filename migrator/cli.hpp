// The chatledger-migrate command line: option parsing, config loading and command dispatch.
// main.cpp only forwards argc/argv here, so the whole front end is testable in-process.
#pragma once

#include <iosfwd>
#include <string>
#include <utility>
#include <vector>

namespace chatledger::migrator {

/// Runs chatledger-migrate; returns the process exit status (docs/reference.md).
///
/// Every error reaching this level becomes one line on `err`; nothing is thrown out of it.
int run_cli(int argc, const char* const argv[], std::ostream& out, std::ostream& err);

/// Long names of every option the parser takes, without dashes ("config", "dry-run", ...).
/// tests/docs/reference_test.cpp checks docs/reference.md against it.
std::vector<std::string> option_names();

/// Each command and the options of its own it takes, in the order --help lists them.
std::vector<std::pair<std::string, std::vector<std::string>>> command_option_table();

}  // namespace chatledger::migrator

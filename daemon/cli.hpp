// The chatledger-syncd command line: --config, --once, --log-level, --help, --version.
// main.cpp forwards to run_cli() so the front end can be tested in-process.
#pragma once

#include <iosfwd>
#include <string>
#include <vector>

namespace chatledger::daemon {

/// Runs chatledger-syncd; returns the process exit status.
int run_cli(int argc, const char* const argv[], std::ostream& out, std::ostream& err);

/// Long names of every option the parser takes, without dashes ("config", "once", ...).
/// tests/docs/reference_test.cpp checks docs/reference.md against it.
std::vector<std::string> option_names();

}  // namespace chatledger::daemon

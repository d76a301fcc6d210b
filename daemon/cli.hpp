// The chatledger-syncd command line: --config, --once, --log-level, --help, --version.
// main.cpp forwards to run_cli() so the front end can be tested in-process.
#pragma once

#include <iosfwd>

namespace chatledger::daemon {

/// Runs chatledger-syncd; returns the process exit status.
int run_cli(int argc, const char* const argv[], std::ostream& out, std::ostream& err);

}  // namespace chatledger::daemon

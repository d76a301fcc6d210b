// Runs chatledger-migrate's front end in process, as the database tests drive it: one place for
// the argv plumbing each test file used to repeat. Header-only: its users link chatledger_migrator.
#pragma once

#include <ostream>
#include <sstream>
#include <string>
#include <vector>

#include "migrator/cli.hpp"

namespace chatledger::testing {

/// `chatledger-migrate --config config args...`; its exit status, stdout and stderr to out, err.
inline int migrate_cli(const std::string& config, const std::vector<std::string>& args,
                       std::ostream& out, std::ostream& err) {
    std::vector<const char*> argv = {"chatledger-migrate", "--config", config.c_str()};
    for (const auto& a : args) argv.push_back(a.c_str());
    return migrator::run_cli(static_cast<int>(argv.size()), argv.data(), out, err);
}

/// The same, with stdout and stderr together in `output`.
inline int migrate_cli(const std::string& config, const std::vector<std::string>& args,
                       std::string& output) {
    std::ostringstream out, err;
    const int rc = migrate_cli(config, args, out, err);
    output = out.str() + err.str();
    return rc;
}

}  // namespace chatledger::testing

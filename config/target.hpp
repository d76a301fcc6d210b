// What a command is about to work on, in one line: version, config file, database, legacy table.
// Logged at start and printed by plan, run and status, so nobody migrates the wrong server.
#pragma once

#include <string>

#include "config/config.hpp"

namespace chatledger {

/// The database libpq will reach with these settings, as libpq resolves it before connecting.
struct database_target {
    std::string host;  ///< host, hostaddr, or "(default socket)"
    std::string port;
    std::string dbname;  ///< defaults to the user, as in libpq
    std::string user;
};

/// Resolves database.conninfo with libpq's own parser and defaults (PGHOST, PGPORT, PGUSER,
/// PGDATABASE, the OS user). Never fails: a conninfo libpq cannot parse gives "(invalid
/// conninfo)" fields, and connecting reports the real error. The password is never read out.
database_target resolve_target(const database_config& db);

/// "config F, database host=H port=P dbname=D user=U, legacy table T, ledger schema S".
std::string describe_target(const config& cfg);

/// The start line both executables log: "PROGRAM VERSION starting[ WHAT]: " + describe_target().
std::string start_line(const std::string& program, const std::string& what, const config& cfg);

}  // namespace chatledger

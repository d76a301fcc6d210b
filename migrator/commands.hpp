// The chatledger-migrate commands, one function each, on top of the repositories below them.
// They return an exit status and throw chatledger::error for anything that stops them.
#pragma once

#include <iosfwd>
#include <string>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace chatledger::migrator {

/// What every command gets from the command line.
struct command_context {
    const config& cfg;
    std::ostream& out;
    bool dry_run = false;     ///< schema: print the SQL, change nothing
    bool json = false;        ///< status: one JSON object instead of a table
    int sample = 0;           ///< verify: check only this many random conversations (0 = all)
    std::string report_path;  ///< plan, run, verify: also write the summary counts as JSON here
    std::string key;          ///< history: the conversation's key
};

/// `schema`: create or upgrade the ledger schema and the capture trigger.
int schema_command(const command_context& ctx);
/// `plan`: what `run` would do, counted in a read-only snapshot.
int plan_command(const command_context& ctx);
/// `run`: migrate every legacy row; resumable, re-runnable, safe while writers are live.
int run_command(const command_context& ctx);
/// `verify`: exit 0 iff every legacy message is in the ledger; else list differences, exit 1.
int verify_command(const command_context& ctx);
/// `recover`: append messages found in backup snapshots but missing from the ledger.
int recover_command(const command_context& ctx);
/// `status`: schema version, ledger size, sync backlog and lag.
int status_command(const command_context& ctx);
/// `history ZOHO_ID`: one conversation's timeline (sources, drops from the legacy column).
int history_command(const command_context& ctx);

/// Who runs `command` (docs/reference.md, Roles), for the HINT of a permission error: the
/// monitoring login granted the reader role for status, the DBA for everything else.
pg::access_context access_for(const config& cfg, const std::string& command);

/// The command's connection, named "<application_name> migrate COMMAND" in pg_stat_activity.
pg::connection open_connection(const command_context& ctx, const char* command);

}  // namespace chatledger::migrator

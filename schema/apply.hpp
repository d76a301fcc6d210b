// `chatledger-migrate schema`: bring the ledger schema to this build's version, once, safely.
// Steps run in one transaction under an advisory lock, so a failed or concurrent run changes
// nothing.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"
#include "schema/restore.hpp"
#include "schema/schema_repository.hpp"

namespace chatledger::schema {

/// What apply_schema did, or with dry_run what it would do.
struct apply_report {
    int version_before = 0;
    int version_after = 0;
    std::vector<std::string> applied;  ///< "0001 ledger", "capture trigger on public.live_chat"
    /// Why the capture trigger was put back though its step was up to date ("... is disabled").
    std::optional<std::string> restored;
    /// Why the backup table's guard trigger was put back (by the capture step) though it was up
    /// to date.
    std::optional<std::string> guard_restored;
    /// The ledger's own triggers found not ENABLE ALWAYS, and so enabled again.
    std::vector<std::string> reenabled;
    /// Roles, owners and privileges found differing from the steps: put back, or not.
    restore_report deployment;
    /// Row level security on the legacy table (row_security_warnings()).
    std::vector<std::string> warnings;
    std::string sql;  ///< with dry_run: the SQL that would run
};

/// Applies every pending versioned step and refreshes the capture trigger when it changed;
/// on every run puts back what a restore or an owner undid (restore.hpp) and re-enables the
/// ledger's triggers.
///
/// Throws error when an applied step's checksum differs from this build's file (steps are
/// immutable), when the database is newer than this build, or when the legacy table or one of its
/// configured columns is missing. With dry_run nothing is written.
apply_report apply_schema(pg::connection& conn, const config& cfg, bool dry_run);

/// What is wrong with the capture trigger on the legacy table (missing, disabled, not ENABLE
/// ALWAYS, re-created differently); nullopt when it is in place.
std::optional<std::string> capture_trigger_problem(pg::connection& conn, const config& cfg);

/// What is wrong with the ledger's own triggers on chat_messages (append-only, enqueue, the
/// daemon's source check): each one missing or not ENABLE ALWAYS; empty when all are in place.
std::vector<std::string> ledger_trigger_problems(pg::connection& conn, const config& cfg);

/// What is wrong with the guard trigger on the backup table (missing, disabled, not ENABLE
/// ALWAYS, re-created differently), which the capture step installs; nullopt when it is in place.
std::optional<std::string> backup_guard_problem(pg::connection& conn, const config& cfg);

/// The other triggers and rules on the legacy table ("trigger audit", "rule r"): the daemon's
/// rewrites fire them with its login's privileges.
std::vector<std::string> foreign_triggers(pg::connection& conn, const config& cfg);

/// The work waiting in the sync queue, its size and dead rows, and the oldest open transaction
/// in the database.
queue_health read_queue_health(pg::connection& conn, const config& cfg);

/// The highest applied step, 0 when the ledger does not exist yet.
int schema_version(pg::connection& conn, const config& cfg);

/// The highest step this build knows.
int latest_schema_version();

/// Throws config_error (exit 2) naming the key when legacy.table or one of its configured
/// columns does not exist, so every command reports a wrong name the same way.
void require_legacy_table(pg::connection& conn, const config& cfg);

/// What is wrong when legacy.key_column has no unique, non-partial index on exactly that column
/// (two legacy rows could then share a key and one of them would be skipped): the line and its
/// HINT naming the CREATE UNIQUE INDEX to run; nullopt when the index is there.
std::optional<std::pair<std::string, std::string>> key_index_problem(pg::connection& conn,
                                                                     const config& cfg);

}  // namespace chatledger::schema

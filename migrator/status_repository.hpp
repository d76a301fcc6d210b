// All SQL of `chatledger-migrate status`: read-only figures about the ledger and its queue.
// Runs in a read-only transaction; a missing ledger reads as zeros, not as an error.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"
#include "schema/schema_repository.hpp"

namespace chatledger::migrator {

/// Figures `status` prints.
struct status_figures {
    int schema_version = 0;
    int latest_version = 0;
    long long ledger_messages = 0;
    long long legacy_rows = 0;  ///< -1 when the legacy table does not exist
    /// The work waiting in the queue, its size, dead rows and the oldest open transaction (what
    /// keeps them).
    schema::queue_health queue;
    long long conversations_migrated = 0;
    /// What is wrong with the capture trigger; nullopt when it is in place (or no ledger yet).
    std::optional<std::string> capture_problem;
    /// The ledger's own triggers, and the backup table's guard, found missing or not ENABLE
    /// ALWAYS.
    std::vector<std::string> ledger_problems;
    /// The ledger's roles, owners and privileges where they differ from what the steps set
    /// up (a restore by another login, a manual GRANT): `schema` restores them.
    std::vector<std::string> deployment_problems;
    /// Logins holding the daemon role, directly or through other roles: their legacy writes are
    /// taken for the daemon's own and not captured, so there should be only the daemon's.
    std::vector<std::string> daemon_logins;
    /// Other triggers and rules on the legacy table: they fire with the daemon's privileges.
    std::vector<std::string> foreign_triggers;
    /// One row per versioned step, applied or still pending, as Flyway's `info` lists them.
    struct step_row {
        int version = 0;
        std::string name;
        bool applied = false;
        std::string applied_at, applied_by, checksum;  ///< empty while pending
    };
    std::vector<step_row> schema_history;
    /// One line per chatledger-syncd instance with a heartbeat in the last day; a clean stop
    /// removes its row, so one that stopped beating was killed or lost its server.
    struct daemon_row {
        std::string instance;
        double heartbeat_age_s = 0;
        bool stale = false;  ///< no heartbeat for longer than stale_after_s
        long long rewrites = 0, drifts_healed = 0, messages_captured = 0;
        std::optional<double> lag_p50_ms, lag_p99_ms;
    };
    std::vector<daemon_row> daemons;
    /// One line per conversation a daemon has set aside because its sync failed.
    struct failure_row {
        std::string zoho_id;
        int failures = 0;
        double failing_for_s = 0;  ///< since the first failure
        std::string error;         ///< the last error's line, SQLSTATE first when there is one
    };
    std::vector<failure_row> sync_failures;
};

/// A live daemon heartbeats every 2 s; a minute without one means it is not running.
constexpr double stale_after_s = 60;

/// Reads status figures through one connection.
class status_repository {
  public:
    status_repository(pg::connection& conn, const config& cfg) : conn_(conn), cfg_(cfg) {}
    status_figures read();

  private:
    /// The triggers that carry the guarantees, the daemon role's logins, foreign triggers.
    void read_trust(status_figures& f);
    /// Migration progress, daemon heartbeats and the conversations they could not sync.
    void read_daemons(status_figures& f);

    pg::connection& conn_;
    const config& cfg_;
};

}  // namespace chatledger::migrator

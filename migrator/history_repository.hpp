// The reads of `chatledger-migrate history`: one conversation's ledger rows, its legacy row, the
// backup snapshots of it, its queued events and whether the daemon set it aside.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace chatledger::migrator {

/// One ledger row with when the ledger got it. Times are UTC, YYYY-MM-DDTHH:MM:SS.mmmZ.
struct timeline_row {
    long long id = 0;
    std::string source;
    std::string created_at;
    std::optional<std::string> payload, author, body;
    std::optional<long long> sent_at_us;
};

/// A backup row of the conversation: the legacy column as it stood at `at`.
struct snapshot_row {
    long long id = 0;
    std::string at;
    std::optional<std::string> operation_type, operation_user, history;
};

/// A captured write or ledger append the daemon has not worked off yet.
struct queued_row {
    /// nullopt: the application appends no daemon has collected into an event yet (schema step
    /// 0012), shown as one entry at the first one's time.
    std::optional<long long> id;
    std::string kind, enqueued_at;
};

/// The daemon set the conversation aside (sync_failures).
struct set_aside_row {
    long long failures = 0;
    std::string first_failed_at, failed_at, retry_at, error;
};

/// The legacy row as it stands now.
struct legacy_now {
    bool exists = false;
    std::optional<std::string> history, comment, comment_author;
};

/// Read-only access for one conversation's history, through one connection.
class history_repository {
  public:
    history_repository(pg::connection& conn, const config& cfg) : conn_(conn), cfg_(cfg) {}

    /// Ledger rows of `key` in id order.
    std::vector<timeline_row> ledger_rows(const std::string& key);
    /// The legacy row of `key`, looked up in the key column's own type.
    legacy_now legacy_row(const std::string& key);
    /// Backup rows of `key` in time order (none when the backup table is missing).
    std::vector<snapshot_row> snapshots(const std::string& key);
    /// Queued events of `key`, oldest first.
    std::vector<queued_row> queued(const std::string& key);
    /// Why the daemon set `key` aside, if it did.
    std::optional<set_aside_row> set_aside(const std::string& key);
    /// When `run` migrated `key`, if it did.
    std::optional<std::string> migrated_at(const std::string& key);

  private:
    pg::connection& conn_;
    const config& cfg_;
};

}  // namespace chatledger::migrator

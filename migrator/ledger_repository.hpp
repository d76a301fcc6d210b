// All SQL the migrator needs against the legacy table and the ledger: batched reads of legacy
// rows, per-conversation locks, the ledger's messages of a batch, COPY appends and checkpoints.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "schema/pg/connection.hpp"

namespace chatledger::migrator {

/// One legacy row as the migrator reads it.
struct legacy_row {
    std::string zoho_id;
    std::optional<std::string> history;
    bool migrated = false;  ///< already in migrated_conversations
};

/// One ledger message, enough to compute its identity.
struct ledger_message {
    long long id = 0;
    std::string zoho_id;
    std::optional<std::string> payload;
    std::optional<std::string> author;
    std::optional<std::string> body;
    std::optional<long long> sent_at_us;  ///< microseconds since the Unix epoch
    std::string source;
};

/// A message to append; zoho_id and payload point into the caller's legacy values.
struct new_message {
    const std::string* zoho_id;
    std::optional<std::string> author;
    std::optional<std::string> body;
    std::optional<long long> sent_at_us;
    std::optional<std::string_view> payload;
    const char* source;  ///< migration, legacy, backup or unparseable
};

/// Legacy and ledger access for the migrate commands, through one connection.
class ledger_repository {
  public:
    ledger_repository(pg::connection& conn, const config& cfg) : conn_(conn), cfg_(cfg) {}

    /// Fails with a config_error naming `schema` when the ledger is missing or out of date.
    /// With allow_missing (for `plan`), a missing ledger reads as an empty one instead.
    void require_schema(bool allow_missing = false);
    /// Legacy rows after `after_key` in key order (keyset pagination): at most `limit` rows and,
    /// beyond the first row, at most `max_bytes` of history text, so memory stays flat however
    /// large single conversations are. With skip_migrated, rows already migrated come without
    /// their value.
    std::vector<legacy_row> legacy_batch(const std::optional<std::string>& after_key, int limit,
                                         bool skip_migrated, long long max_bytes = 8 << 20);
    /// Estimated and exact sizes of the legacy table.
    long long legacy_row_count();
    /// Serializes ingestion of these conversations with every other ingester (daemon included)
    /// until the transaction ends. Locks are taken in the given order: pass sorted keys.
    void lock_conversations(const std::vector<std::string>& keys);
    /// Every ledger message of these conversations, in id order.
    std::vector<ledger_message> ledger_messages(const std::vector<std::string>& keys);
    /// Appends messages with one COPY; ids follow the vector's order.
    long long append(const std::vector<new_message>& messages);
    /// Records conversations as migrated (same transaction as their messages).
    void mark_migrated(const std::vector<std::pair<std::string, int>>& counts,
                       const std::vector<bool>& unparseable);
    /// Conversations recorded as migrated.
    long long migrated_count();
    /// Captured legacy writes (queue kinds insert and update) with id > after_id, oldest first.
    std::vector<std::pair<long long, legacy_row>> captured_writes(long long after_id, int limit);
    /// Conversations the ledger holds that have no legacy row, at most `limit` of them.
    std::vector<std::string> ledger_only_conversations(int limit);
    /// Backup snapshots (chat_history_backup values) with backup id > after_id, in id order.
    std::vector<std::pair<long long, legacy_row>> backup_snapshots(long long after_id, int limit);
    /// Rows in the backup table, for progress.
    long long backup_row_count();
    /// A random sample of legacy keys, for a quick `verify --sample N`.
    std::vector<std::string> sample_keys(int n);
    /// The history values of these legacy keys.
    std::vector<legacy_row> legacy_rows(const std::vector<std::string>& keys);

  private:
    pg::connection& conn_;
    const config& cfg_;
    bool ledger_exists_ = true;
};

/// Appends one COPY text-format field (escaped, or \N for NULL) to `out`.
void copy_field(std::string& out, std::optional<std::string_view> value);

}  // namespace chatledger::migrator

// The migrate commands' own reads and writes: the legacy and backup tables in key order, the
// migration checkpoints, captured writes and samples. The ledger's SQL stays in ledger/.
#pragma once

#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "ledger/ingest.hpp"
#include "ledger/ledger_repository.hpp"
#include "pg/connection.hpp"

namespace chatledger::migrator {

/// One legacy row as the migrator reads it.
struct legacy_row {
    std::string zoho_id;
    std::optional<std::string> history;
    bool migrated = false;  ///< already in migrated_conversations
    /// The comment columns, read with the history by legacy_batch() and legacy_rows(): the
    /// daemon's first render judges them (plan and verify forecast it).
    std::optional<std::string> comment, comment_author;
};

/// The legacy values of a page of numbered rows (captured writes, backup snapshots), moved out.
std::vector<ledger::legacy_value> values_of(std::vector<std::pair<long long, legacy_row>>& page);

/// Legacy-table, backup-table and checkpoint access for the migrate commands.
class migration_repository {
  public:
    /// `ledger` tells whether the ledger exists yet (plan runs before schema).
    migration_repository(pg::connection& conn, const config& cfg,
                         const ledger::ledger_repository& ledger)
        : conn_(conn), cfg_(cfg), ledger_(ledger) {}

    /// Legacy rows after `after_key` in key order (keyset pagination): at most `limit` rows and,
    /// beyond the first row, at most `max_bytes` of history text, so memory stays flat however
    /// large single conversations are; a first row larger than that comes alone, read in slices
    /// (the caller's transaction must be REPEATABLE READ). With skip_migrated, rows already
    /// migrated come without their value.
    std::vector<legacy_row> legacy_batch(const std::optional<std::string>& after_key, int limit,
                                         bool skip_migrated, long long max_bytes = 8 << 20);
    /// Throws config_error (exit 2) naming a key that two legacy rows share: keyset reads would
    /// migrate and verify one of them only. Scans the table only when no unique index on the
    /// key column rules duplicates out.
    void require_unique_keys();
    /// Estimated and exact sizes of the legacy table.
    long long legacy_row_count();
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
    /// Those of `keys` that no legacy row has (its key's text form differs from each).
    std::vector<std::string> keys_without_legacy_row(const std::vector<std::string>& keys);
    /// A legacy key equal to `key` once both are trimmed and case folded ("z00060" finds
    /// "Z00060"), the first in key order; nullopt when none is.
    std::optional<std::string> likely_legacy_key(const std::string& key);
    /// Rows in the backup table, for progress.
    long long backup_row_count();
    /// A random sample of legacy keys, for a quick `verify --sample N`.
    std::vector<std::string> sample_keys(int n);
    /// The history values of these legacy keys.
    std::vector<legacy_row> legacy_rows(const std::vector<std::string>& keys);

  private:
    /// The key column's type as format_type spells it, read once: a lookup in the column's own
    /// type is an index lookup whatever the type (key::text scanned the table).
    const std::string& key_type();
    /// Reads the value of `row` (`bytes` long) in slices of at most about `max_bytes`, with its
    /// comment columns; the caller's transaction must be REPEATABLE READ.
    void read_in_slices(legacy_row& row, long long bytes, long long max_bytes);
    /// The two comment columns as text, each prefixed with `alias`, for a select list.
    std::string comment_columns(const std::string& alias) const;

    pg::connection& conn_;
    const config& cfg_;
    const ledger::ledger_repository& ledger_;
    std::string key_type_;
};

/// The two repositories a migrate command works through, on one connection.
struct command_repositories {
    command_repositories(pg::connection& conn, const config& cfg)
        : ledger(conn, cfg), migration(conn, cfg, ledger) {}
    ledger::ledger_repository ledger;
    migration_repository migration;
};

}  // namespace chatledger::migrator

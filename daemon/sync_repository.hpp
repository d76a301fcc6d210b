// All SQL of chatledger-syncd: the work queue, the legacy row it rewrites, backup rows,
// LISTEN and the instance heartbeat. Ledger reads and appends are the shared ledger/ layer's.
#pragma once

#include <chrono>
#include <limits>
#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace chatledger::daemon {

/// What a queue row announces.
enum class event_kind {
    append,  ///< an application appended ledger rows (first_ledger_id names the first)
    insert,  ///< a legacy INSERT, with the values it wrote
    update,  ///< a legacy UPDATE, with the values it wrote
};

/// One queue row claimed for processing.
struct queue_event {
    long long id = 0;
    event_kind kind = event_kind::append;
    std::optional<std::string> history, comments, comments_entered_by;
    std::optional<long long> first_ledger_id;  ///< append: the first ledger row it announced
    double age_ms = 0;                         ///< since it was enqueued
    /// What the write changed; nullopt for events queued before schema step 0007.
    std::optional<bool> comment_changed, history_changed;
    bool deleted = false;  ///< deleted from the queue as it was claimed (claim_rest)
};

/// What claim_writes() took.
struct claimed_writes {
    std::vector<queue_event> events;
    bool more = false;  ///< more writes are queued than the limit or the byte budget let in
};

/// The legacy row of one conversation, locked for the rest of the transaction.
struct legacy_state {
    std::optional<std::string> name, history, comments, comments_entered_by;
    std::string xmin;        ///< of the row version read: changes with every write of the row
    bool unchanged = false;  ///< xmin was the one asked about: history was not read
};

/// What the daemon counts, written to syncd_instances.
struct instance_counters {
    long long conversations = 0, rewrites = 0, drifts_healed = 0, messages_captured = 0;
    std::optional<double> lag_p50_ms, lag_p99_ms;
};

/// What one queue maintenance pass did (schema step 0009's maintain_queue()).
struct queue_maintenance {
    int truncated = 0;     ///< drained slots truncated
    bool rotated = false;  ///< new events now go to another slot
};

/// The daemon's queries, through one connection.
class sync_repository {
  public:
    sync_repository(pg::connection& conn, const config& cfg) : conn_(conn), cfg_(cfg) {}

    /// The login and the role the session acts as, and whether either is a superuser.
    struct login {
        std::string name;
        bool superuser = false;
    };
    login session_login();
    /// LISTEN on the ledger's wake-up channel (again after every reconnect); returns the
    /// server process that holds it (behind a transaction pooler, one of its pooled ones).
    int listen();
    /// UNLISTEN on the wake-up channel; returns the server process it ran in.
    int unlisten();
    /// NOTIFY on the wake-up channel with `payload`, in a transaction of its own: the probe
    /// that tells whether notifications reach a listening connection.
    void notify(const std::string& payload);
    /// Whether the server can compress TOAST values with lz4 (PostgreSQL 14 and later, built
    /// with it).
    bool lz4_available();
    /// Takes the conversation's advisory lock (shared with every ingester).
    void begin_conversation(const std::string& zoho_id);
    /// Conversations with queued work, oldest first, at most `limit`, leaving out `exclude`
    /// (the conversations set aside after a failure).
    std::vector<std::string> queued_conversations(int limit,
                                                  const std::vector<std::string>& exclude = {});
    /// Records a failed sync of `zoho_id` (sync_failures, which `status` lists).
    void record_failure(const std::string& zoho_id, const std::string& instance, int failures,
                        const std::string& sqlstate, const std::string& error,
                        std::chrono::seconds retry_in);
    /// Clears the failure record of a conversation whose sync succeeded.
    void clear_failure(const std::string& zoho_id);
    /// Failure records left by any instance: (zoho_id, failures), so a restarted daemon tries
    /// them first and clears them when they succeed.
    std::vector<std::pair<std::string, int>> recorded_failures();
    /// Deletes failure records of conversations with no queued work left (another instance
    /// synced them), whose retry time passed more than a minute ago.
    void forget_stale_failures();
    /// Claims this conversation's captured legacy writes (insert and update events) that no
    /// other instance holds, oldest first: at most `limit`, and only as many as fit in
    /// `budget_bytes` of values (the first one always).
    claimed_writes claim_writes(const std::string& zoho_id, long long limit,
                                long long budget_bytes);
    /// Claims every other queued event of this conversation (appends included), leaving out the
    /// ids in `exclude` (events this transaction already holds), in id order: those marked
    /// `deleted` were deleted as they were read and need no delete_events(). Needs the
    /// conversation's advisory lock.
    std::vector<queue_event> claim_rest(const std::string& zoho_id,
                                        const std::vector<long long>& exclude);
    void delete_events(const std::vector<long long>& ids);
    /// Locks and reads the legacy row; nullopt when the conversation has no legacy row.
    /// Throws lock_not_available when a legacy writer holds the row longer than lock_timeout.
    /// A row whose xmin is still `unless_xmin` (nobody wrote it since) comes without its
    /// history: the caller knows it.
    std::optional<legacy_state> lock_legacy_row(const std::string& zoho_id,
                                                const std::string& unless_xmin = "");
    /// Rewrites the rendered columns in one statement, with the seed's `before_update` and
    /// `after_update` backup rows when `backups`: both are copied on the server from the row
    /// itself, so the history crosses the wire once, and the daemon's older backup rows beyond
    /// the retention limits are pruned in the same statement. With `append`, `history` is the tail
    /// that takes the place of the column's closing bracket. Returns the new row version's xmin
    /// when the server stored the history as meant, nullopt when not (a type or trigger on the
    /// column changed it) or when the row is gone.
    std::optional<std::string> rewrite(const std::string& zoho_id, std::string history,
                                       const std::optional<std::string>& comment,
                                       const std::optional<std::string>& author, bool backups,
                                       bool append = false);
    /// Legacy rows with a key: the total of a full reconcile's progress.
    long long legacy_row_count();
    /// Legacy keys after `after` in key order, for a full reconcile.
    std::vector<std::string> legacy_keys(const std::optional<std::string>& after, int limit);
    /// Turns the appends committed since the last collection into queue events, one per
    /// conversation, in a READ COMMITTED transaction of its own (the SQL is the schema's
    /// collect_appends()). Returns how many it queued; 0 when another daemon was collecting.
    long long collect_appends();
    /// Whether any append waits to be collected: one indexed probe, no transaction of its
    /// own, so an idle daemon's look for appends writes nothing.
    bool appends_waiting();
    /// The smallest ledger id of this conversation that an append event still announces or
    /// that no collection has seen yet: rows from there on are new, not lost from the column.
    /// Read after the ledger, it covers every row that read saw.
    std::optional<long long> first_unannounced(const std::string& zoho_id);
    void heartbeat(const std::string& instance, const std::string& started_at,
                   const instance_counters& c);
    void forget_instance(const std::string& instance);
    /// Truncates drained queue slots and rotates to an empty one when the current one is full,
    /// in a READ COMMITTED transaction of its own (the SQL is the schema's maintain_queue()).
    queue_maintenance maintain_queue();

    /// The text form of the legacy key equal to `zoho_id` in the key column's own type ('Z1'
    /// for 'Z1      ' in char(8), '7' for '007' in integer); nullopt when none is or `zoho_id`
    /// is no value of that type.
    std::optional<std::string> legacy_key_equal_to(const std::string& zoho_id);

  private:
    /// Reads into events the histories their claim left out for their size.
    void read_large_histories(std::vector<queue_event>& events,
                              const std::vector<long long>& large);

    /// LISTEN or UNLISTEN (`command`) on the wake-up channel; the server process it ran in.
    int on_channel(const char* what, const std::string& command);
    /// The start of an INSERT of one backup row (the seed's columns), its SELECT to follow.
    std::string backup_insert() const;
    /// The DELETE of the daemon's backup rows of conversation $1 beyond the retention limits.
    std::string backup_prune() const;
    /// `<key> = $n::text::<key type> AND <key>::text = $n::text`: see key_type().
    std::string key_is(const std::string& param);
    /// The key column's type as format_type spells it (quoted where SQL needs it), read once:
    /// comparing in the column's own type lets its index serve every lookup, whatever the type.
    const std::string& key_type();

    pg::connection& conn_;
    const config& cfg_;
    std::string key_type_;
};

/// Name of the operation_user column value in backup rows the daemon writes.
inline constexpr const char* backup_user = "chatledger-syncd";

}  // namespace chatledger::daemon

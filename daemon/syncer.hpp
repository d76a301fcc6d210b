// One conversation brought in step: captured legacy values ingested into the ledger, then the
// legacy columns re-rendered from the ledger where they differ, all in one short transaction.
#pragma once

#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "config/config.hpp"
#include "core/sync_decision.hpp"
#include "daemon/sync_repository.hpp"
#include "ledger/ingest.hpp"
#include "ledger/ledger_repository.hpp"

namespace chatledger::daemon {

/// What syncing one conversation did.
struct sync_outcome {
    bool rewritten = false;  ///< the legacy columns were rewritten
    bool drift = false;      ///< the legacy column lacked ledger messages (an overwrite)
    /// The rewrite was the conversation's first render since `run` (never drift), and why.
    std::optional<core::first_render_change> first_render;
    long long missing = 0;        ///< ledger messages the legacy column lacked
    long long captured = 0;       ///< messages appended from legacy writes
    long long events = 0;         ///< queue events consumed
    /// Commit-to-column lag of each captured write consumed and each append rendered: an
    /// append rendered before its event was collected counts when rendered, not when claimed.
    std::vector<double> lags_ms;
    /// The events were consumed with nothing to render: the legacy table has no row of the key.
    bool without_legacy_row = false;
    /// The new messages were appended to the text the daemon wrote last, nothing old was read.
    bool appended_only = false;
};

/// What a sync last wrote into a conversation's legacy row. While the row stays that version,
/// the next sync appends the messages that came since to the text on the server instead of
/// reading, checking and rendering the whole conversation again: its cost does not grow with
/// the conversation.
struct render_memo {
    std::string xmin;        ///< the row version the daemon wrote (any later write changes it)
    long long last_id = 0;   ///< the last ledger message rendered into it
    long long messages = 0;  ///< the conversation's ledger messages up to last_id then
    size_t bytes = 0;        ///< length of the history written
};

/// The render memos of one daemon, shared by its workers. Only a speed-up: a conversation
/// without one (a restart, another daemon wrote it) is rendered whole, as always.
class render_memory {
  public:
    std::optional<render_memo> find(const std::string& zoho_id) const;
    void remember(const std::string& zoho_id, render_memo memo);

  private:
    /// Memos kept at most (some 100 bytes each); beyond, they are all dropped and relearned.
    static constexpr size_t max_entries = 200000;
    mutable std::mutex mutex_;
    std::unordered_map<std::string, render_memo> memos_;
};

/// Captured legacy writes one sync transaction claims at most: a conversation's backlog after
/// a long outage is worked off in bounded steps, so memory stays flat however large it grew.
inline constexpr long long max_events_per_sync = 256;

/// The largest value a text column holds (1 GB less its header): a conversation whose history
/// would render larger cannot be written back and is set aside.
inline constexpr size_t max_text_bytes = (size_t{1} << 30) - 5;

/// Syncs conversations through one connection.
class syncer {
  public:
    /// `memory` is shared by the syncers of one daemon; nullptr gives this one its own.
    syncer(pg::connection& conn, const config& cfg,
           std::shared_ptr<render_memory> memory = nullptr);

    /// Ingests, renders and rewrites one conversation in its own transaction; rolls back and
    /// rethrows on error (the queued events stay for the next attempt).
    sync_outcome sync(const std::string& zoho_id);

    /// Calls `hook` with the name of each test point a sync passes ("before_legacy_row_lock",
    /// "before_late_claim"), so a test can commit concurrent writes at an exact moment (as
    /// userver's testpoints do).
    void set_testpoint(std::function<void(std::string_view)> hook) { testpoint_ = std::move(hook); }
    /// Lowers the largest history the render writes (max_text_bytes), so a test can reach it.
    void set_text_limit(size_t bytes) { text_limit_ = bytes; }

  private:
    /// What one sync transaction has gathered so far.
    struct work;

    /// sync() without the release of memory after a large one.
    sync_outcome sync_conversation(const std::string& zoho_id);

    /// Ingests the captured values of `events` (and the current row, when given: its history
    /// moves into the work's snapshots until the render) and records the comment each write
    /// left; returns the messages appended.
    long long ingest_writes(work& w, std::vector<queue_event>& events,
                            std::optional<legacy_state>& row);
    /// Locks the legacy row, then claims every event that committed before it was read, reads
    /// the ledger once and ingests those events and the row.
    std::optional<legacy_state> lock_row_and_claim_rest(work& w, sync_outcome& out);
    /// Lets the snapshot of an ingested write that left exactly the row's history stand for
    /// it (w.row_snapshot), before the ledger read: the row's copy is released.
    void share_row_history(work& w, legacy_state& row);
    /// Reads the conversation's ledger messages into `w` and the ingest cache.
    void read_ledger(work& w);
    /// Appends the comments that are messages of their own; returns how many.
    long long capture_comments(work& w);
    /// Refuses a conversation whose history cannot fit in a text value, before rendering it.
    void check_rendered_size(const work& w, size_t bytes) const;
    /// Whether the row is as this daemon last wrote it and no message below the memo's last id
    /// came since: then reads only the newer messages into the work.
    bool take_appended_path(work& w, const legacy_state& row, const std::vector<queue_event>& late);
    /// Appends the newer messages to the history on the server (see render_memo).
    void render_appended(work& w, sync_outcome& out);
    /// Renders the ledger into the legacy row where it differs, with backups around it. The
    /// row's history and the ledger read are released once decided: the write holds only what
    /// it writes.
    void render(work& w, legacy_state& row, sync_outcome& out);
    /// The ledger read moved into what decide_render() takes (w.ledger keeps only ids).
    std::vector<core::stored_message> stored_messages(work& w) const;
    void testpoint(std::string_view name) const {
        if (testpoint_)
            testpoint_(name);
    }

    std::function<void(std::string_view)> testpoint_;
    size_t text_limit_ = max_text_bytes;
    /// Bytes of values this sync has read (histories, ledger texts), for trim_after_sync.
    size_t read_bytes_ = 0;
    std::shared_ptr<render_memory> memory_;
    std::string begin_;  ///< how a sync transaction begins on this server (found once)
    pg::connection& conn_;
    const config& cfg_;
    sync_repository repo_;
    ledger::ledger_repository ledger_;
};

}  // namespace chatledger::daemon

// One conversation brought in step: captured legacy values ingested into the ledger, then the
// legacy columns re-rendered from the ledger where they differ, all in one short transaction.
#pragma once

#include <functional>
#include <optional>
#include <string>
#include <string_view>
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
    std::vector<double> lags_ms;  ///< enqueue-to-commit lag of each consumed event
    /// The events were consumed with nothing to render: the legacy table has no row of the key.
    bool without_legacy_row = false;
};

/// Captured legacy writes one sync transaction claims at most: a conversation's backlog after
/// a long outage is worked off in bounded steps, so memory stays flat however large it grew.
inline constexpr long long max_events_per_sync = 256;

/// Syncs conversations through one connection.
class syncer {
  public:
    syncer(pg::connection& conn, const config& cfg);

    /// Ingests, renders and rewrites one conversation in its own transaction; rolls back and
    /// rethrows on error (the queued events stay for the next attempt).
    sync_outcome sync(const std::string& zoho_id);

    /// Calls `hook` with the name of each test point a sync passes ("before_legacy_row_lock",
    /// "before_late_claim"), so a test can commit concurrent writes at an exact moment (as
    /// userver's testpoints do).
    void set_testpoint(std::function<void(std::string_view)> hook) { testpoint_ = std::move(hook); }

  private:
    /// What one sync transaction has gathered so far.
    struct work;

    /// Ingests the captured values of `events` (and the current row, when given) and records the
    /// comment each write left; returns the messages appended.
    long long ingest_writes(work& w, std::vector<queue_event>& events,
                            const std::optional<legacy_state>& row);
    /// Locks the legacy row, then claims every event that committed before it was read, reads
    /// the ledger once and ingests those events and the row.
    std::optional<legacy_state> lock_row_and_claim_rest(work& w, sync_outcome& out);
    /// Reads the conversation's ledger messages into `w` and the ingest cache.
    void read_ledger(work& w);
    /// Appends the comments that are messages of their own; returns how many.
    long long capture_comments(work& w);
    /// Renders the ledger into the legacy row where it differs, with backups around it.
    void render(work& w, const legacy_state& row, sync_outcome& out);
    void testpoint(std::string_view name) const {
        if (testpoint_)
            testpoint_(name);
    }

    std::function<void(std::string_view)> testpoint_;
    pg::connection& conn_;
    const config& cfg_;
    sync_repository repo_;
    ledger::ledger_repository ledger_;
};

}  // namespace chatledger::daemon

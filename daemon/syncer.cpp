// The per-conversation sync transaction. Order matters: the conversation's advisory lock first
// (shared with every ingester), then the queued events, then the legacy row lock and a late claim
// of what committed meanwhile, so the daemon holds a dashboard row only for the final steps.
#include "daemon/syncer.hpp"

#include <spdlog/spdlog.h>

#include <algorithm>
#include <chrono>
#include <limits>
#include <unordered_map>
#include <unordered_set>

#include "core/json.hpp"
#include "ledger/ingest.hpp"

namespace chatledger::daemon {

namespace {

/// True when some message of the ledger or of the snapshot's history already has this body.
///
/// Only the body is compared: writers fill comments_entered_by with whoever is logged in,
/// which need not be the element's author field. Every snapshot is ingested before this runs,
/// so the ledger's bodies nearly always answer; the history is read only for a comment that
/// is really new (an older write path), where it still guards the rare rendering difference.
bool comment_is_known(const std::optional<std::string>& history, const std::string& comment,
                      const std::unordered_set<std::string_view>& ledger_bodies,
                      const core::field_names& fields) {
    if (ledger_bodies.count(comment))
        return true;
    if (!history)
        return false;
    for (auto e : core::split_value(*history).elements)
        if (core::body_of(e, fields) == comment)
            return true;
    return false;
}

}  // namespace

syncer::syncer(pg::connection& conn, const config& cfg)
    : conn_(conn), cfg_(cfg), repo_(conn, cfg), ledger_(conn, cfg) {}

sync_outcome syncer::sync(const std::string& zoho_id) {
    const auto fields = ledger::field_names_of(cfg_);
    sync_outcome out;
    const auto started = std::chrono::steady_clock::now();
    pg::transaction tx(conn_);
    repo_.begin_conversation(zoho_id);
    // Every committed legacy value, even one a racing writer has already overwritten, kept once
    // (moved out of its event: a backlog's snapshots can be large), and the comment each write
    // left, by the index of its snapshot.
    std::vector<ledger::legacy_value> snapshots;
    struct left_comment {
        size_t snapshot;  ///< index into snapshots
        std::string body;
        std::optional<std::string> author;
    };
    std::vector<left_comment> comments;
    ledger::ingest_cache cache;  // both ingests read the ledger once
    cache.locked = true;         // begin_conversation took the advisory lock
    auto ingest_events = [&](std::vector<queue_event>& events,
                             const std::optional<legacy_state>& state) {
        std::vector<ledger::legacy_value> batch;
        for (auto& e : events) {
            if (e.kind == "append")
                continue;
            if (e.comments)
                comments.push_back(
                    {snapshots.size() + batch.size(), *e.comments, e.comments_entered_by});
            batch.push_back({zoho_id, std::move(e.history)});
        }
        if (state) {
            if (state->comments)
                comments.push_back({snapshots.size() + batch.size(), *state->comments,
                                    state->comments_entered_by});
            batch.push_back({zoho_id, state->history});
        }
        out.captured +=
            ledger::ingest(ledger_, batch, fields, "legacy", false, false, &cache).appended;
        for (auto& v : batch) snapshots.push_back(std::move(v));
    };

    // The bulk of the events is ingested before the dashboard's row is locked, so the row is
    // held only briefly...
    auto events = repo_.claim(zoho_id, max_events_per_sync);
    // A backlog larger than one claim is worked off in several transactions: this one only
    // ingests its share (oldest first), and the row is rendered by the one that claims the rest.
    // Each claimed write's comment is still checked: the write it names committed earlier on
    // the same row, so its event has a smaller id and is claimed by now.
    const bool partial = static_cast<long long>(events.size()) == max_events_per_sync;
    ingest_events(events, std::nullopt);
    std::optional<legacy_state> state;
    if (!partial) {
        if (testpoint_)
            testpoint_("before_legacy_row_lock");
        state = repo_.lock_legacy_row(zoho_id);
        if (testpoint_)
            testpoint_("before_late_claim");
        // ...and claimed again once it is: every legacy write that committed before the row
        // read is then in hand. Without this late claim, a write committing in between and
        // overwritten by another before the row read would leave its comment looking unknown,
        // and the comment-only rule would append it a second time. Our own claimed rows would
        // come back (we hold their locks), so they are excluded by id, not by an id cursor:
        // ids commit out of order.
        std::vector<long long> claimed;
        for (const auto& e : events) claimed.push_back(e.id);
        auto late = repo_.claim(zoho_id, std::numeric_limits<long long>::max(), claimed);
        // A legacy INSERT can commit between the row read and the late claim: read (and lock)
        // the row it created, or its events would be consumed with the row left unrendered.
        if (!state && std::any_of(late.begin(), late.end(),
                                  [](const queue_event& e) { return e.kind == "insert"; }))
            state = repo_.lock_legacy_row(zoho_id);
        ingest_events(late, state);
        events.insert(events.end(), std::make_move_iterator(late.begin()),
                      std::make_move_iterator(late.end()));
    }
    out.events = static_cast<long long>(events.size());

    // Rows from this id on were announced by this batch's append events: new, not lost.
    long long first_new_id = std::numeric_limits<long long>::max();
    for (const auto& e : events)
        if (e.first_ledger_id)
            first_new_id = std::min(first_new_id, *e.first_ledger_id);
    auto ledger = ledger_.ledger_messages({zoho_id});
    // An older write path sets only the comment columns: that comment is a message too.
    std::vector<ledger::new_message> comment_rows;
    std::unordered_set<std::string_view> ledger_bodies;
    for (const auto& m : ledger)
        if (m.body)
            ledger_bodies.insert(*m.body);
    for (const auto& c : comments) {
        if (comment_is_known(snapshots[c.snapshot].text, c.body, ledger_bodies, fields))
            continue;
        ledger_bodies.insert(c.body);  // later comments in this batch see it
        comment_rows.push_back({&zoho_id, c.author, c.body,
                                std::chrono::duration_cast<std::chrono::microseconds>(
                                    std::chrono::system_clock::now().time_since_epoch())
                                    .count(),
                                std::nullopt, "legacy"});
    }
    if (!comment_rows.empty()) {
        out.captured += ledger_.append(comment_rows);
        ledger = ledger_.ledger_messages({zoho_id});
    }

    if (state && !ledger.empty()) {
        // Render: migrated and captured elements keep their exact text, the rest render anew.
        std::vector<std::string> rendered;
        std::vector<std::string_view> elements;
        std::unordered_map<std::string, long long> want, want_old;
        rendered.reserve(ledger.size());
        for (const auto& m : ledger) {
            if (m.payload && core::is_valid_json(*m.payload))
                rendered.push_back(*m.payload);
            else
                rendered.push_back(core::render_element(m.author, m.body, m.sent_at_us, fields));
            auto id = core::identity_of_element(rendered.back());
            // Comment rows appended above have id 0 until re-read; they are new either way.
            if (m.id != 0 && m.id < first_new_id)
                ++want_old[id];
            ++want[std::move(id)];
        }
        for (const auto& r : rendered) elements.push_back(r);
        std::unordered_map<std::string, long long> have;
        for (auto& id : ledger::value_identities(state->history, fields)) ++have[id];
        // Drift: the column lacks messages it should already have shown (an overwrite).
        for (const auto& [id, n] : want_old) {
            auto it = have.find(id);
            const long long h = it == have.end() ? 0 : it->second;
            if (n > h)
                out.missing += n - h;
        }
        const auto& latest = ledger.back();
        // A column that already holds exactly the ledger's messages keeps its text, order and
        // formatting; only stale comment columns are then corrected.
        const bool history_in_step = have == want;
        const bool same = history_in_step && state->comments == latest.body &&
                          state->comments_entered_by == latest.author;
        if (!same) {
            out.drift = out.missing > 0;
            const std::string history =
                history_in_step && state->history ? *state->history : core::render_array(elements);
            const bool backups = cfg_.backup.mode == backup_mode::every_rewrite ||
                                 (cfg_.backup.mode == backup_mode::drift_only && out.drift);
            if (backups)
                repo_.backup(zoho_id, *state, "before_update");
            const std::string stored = repo_.rewrite(zoho_id, history, latest.body, latest.author);
            // Read back what the server stored: a type or trigger on the legacy column that
            // changed it would otherwise go unnoticed.
            if (stored != history)
                throw error("the legacy row of " + zoho_id + " did not keep the rendered history",
                            "check for triggers or a column type that rewrites " +
                                cfg_.legacy.history_column.name());
            if (backups) {
                legacy_state after{state->name, history, latest.body, latest.author};
                repo_.backup(zoho_id, after, "after_update");
                repo_.prune_backups(zoho_id);
            }
            out.rewritten = true;
        }
    }
    std::vector<long long> ids;
    for (const auto& e : events) ids.push_back(e.id);
    repo_.delete_events(ids);
    tx.commit();
    // Lag: from the event's enqueue to this commit, when the legacy column shows it.
    const double took_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    for (const auto& e : events) out.lags_ms.push_back(e.age_ms + took_ms);
    if (out.drift)
        spdlog::warn("healed drift in {}: the legacy column lacked {} ledger message(s)", zoho_id,
                     out.missing);
    return out;
}

}  // namespace chatledger::daemon

// The per-conversation sync transaction: it gathers inputs and applies the decisions of
// core/sync_decision. Order matters; see sync() and docs/architecture.md.
#include "daemon/syncer.hpp"

#include <spdlog/spdlog.h>
#if defined(__GLIBC__)
#include <malloc.h>
#endif

#include <algorithm>
#include <chrono>
#include <unordered_set>

#include "config/logging.hpp"

namespace chatledger::daemon {

namespace {

/// A sync that read more than this many bytes of values returns its freed memory to the system.
constexpr size_t trim_above = 32 << 20;

/// The last of `values` whose text is `text`: the snapshot a locked row's history can share.
std::optional<size_t> last_holding(const std::vector<ledger::legacy_value>& values,
                                   const std::optional<std::string>& text) {
    for (size_t i = values.size(); i-- > 0;)
        if (values[i].text == text)
            return i;
    return std::nullopt;
}

/// What the capture trigger recorded of a write decides how its comment is judged.
core::comment_rule rule_of(const queue_event& e) {
    if (!e.comment_changed || !e.history_changed)
        return core::comment_rule::by_body;  // queued before schema step 0007
    if (!*e.comment_changed)
        return core::comment_rule::unchanged;
    return *e.history_changed ? core::comment_rule::own_history : core::comment_rule::new_message;
}

/// The first render changes a row `verify` passed: say what and why, so it reads as planned.
void log_first_render(const std::string& zoho_id, const core::first_render_change& f) {
    std::string why;
    auto add = [&](bool on, const char* text) {
        if (on)
            why += (why.empty() ? "" : "; ") + std::string(text);
    };
    add(f.unparseable_shown, "its value is not a JSON array and is shown as a system message");
    add(f.comment_appended, "its comment was in no message and was appended as one");
    add(f.comment_columns, "its comment columns now hold the latest message");
    spdlog::info("first render of {} since migration: {}", zoho_id, why);
}

/// A recovered message is shown where its sent_at puts it (core::render_order), not in id
/// order: a text holding one, or a sync bringing one, is no place to append to.
bool placed_by_time(const ledger::ledger_message& m) {
    return m.source == "backup";
}

}  // namespace

struct syncer::work {
    explicit work(const std::string& key) : zoho_id(key) { cache.locked = true; }

    const std::string& zoho_id;
    std::vector<queue_event> events;  ///< every event this transaction holds
    /// Every committed legacy value, even one a racing writer has already overwritten, kept
    /// once (moved out of its event: a backlog's snapshots can be large).
    std::vector<ledger::legacy_value> snapshots;
    /// The comment each write left, by the index of its snapshot.
    std::vector<std::pair<size_t, core::left_comment>> comments;
    ledger::ingest_cache cache;  ///< both ingests read the ledger once
    /// The conversation's ledger messages in id order, once read (after the late claim), kept
    /// up to date with what this transaction appends: one read serves the late ingest, the
    /// comment check and the render.
    std::optional<std::vector<ledger::ledger_message>> ledger;
    /// The identities of the messages read, in the same order: the render reuses them instead
    /// of canonicalizing every message a second time.
    std::vector<std::string> identities;
    std::optional<render_memo> memo;  ///< what this daemon last wrote into the row, if known
    /// On the appended path: the messages after memo->last_id, instead of `ledger`.
    std::optional<std::vector<ledger::ledger_message>> fresh;
    std::optional<render_memo> written;  ///< remembered once the transaction commits
    /// The snapshot the locked row's history moved into for the ingests, if any.
    std::optional<size_t> row_snapshot;
    /// Read after the ledger: rows from this id on are announced or not yet collected.
    std::optional<long long> unannounced;
    /// On the appended path, the application rows it renders: the time since their transaction
    /// began, when read (the lag samples of appends there).
    std::vector<double> rendered_ages_ms;
};

std::optional<render_memo> render_memory::find(const std::string& zoho_id) const {
    std::lock_guard lock(mutex_);
    auto it = memos_.find(zoho_id);
    if (it == memos_.end())
        return std::nullopt;
    return it->second;
}

void render_memory::remember(const std::string& zoho_id, render_memo memo) {
    std::lock_guard lock(mutex_);
    if (memos_.size() >= max_entries && !memos_.count(zoho_id))
        memos_.clear();
    memos_[zoho_id] = std::move(memo);
}

syncer::syncer(pg::connection& conn, const config& cfg, std::shared_ptr<render_memory> memory)
    : memory_(memory ? std::move(memory) : std::make_shared<render_memory>()),
      conn_(conn),
      cfg_(cfg),
      repo_(conn, cfg),
      ledger_(conn, cfg) {}

sync_outcome syncer::sync(const std::string& zoho_id) {
    // After a sync that held a large conversation, its freed memory goes back to the system:
    // glibc keeps what a worker thread's arena freed for that arena alone, so the next large
    // sync on another worker grew the process again (a backlog worked off in steps peaked at
    // 433 MB instead of 297 MB for a 52 MB value). Small syncs, the hot path, skip it.
    struct trim_after_sync {
        size_t& bytes;
        ~trim_after_sync() {
#if defined(__GLIBC__)
            if (bytes >= trim_above)
                malloc_trim(0);
#endif
        }
    } trim{read_bytes_};
    read_bytes_ = 0;
    return sync_conversation(zoho_id);
}

sync_outcome syncer::sync_conversation(const std::string& zoho_id) {
    sync_outcome out;
    const auto started = std::chrono::steady_clock::now();
    // Every statement of a sync reads rows of one conversation through an index. A queue slot
    // is often empty (just truncated) when a prepared statement's generic plan is made, and that
    // plan then scanned the whole slot once writers had filled it: 850 ms for one DELETE of
    // 1,700 events among 13,000. Without sequential scans the plans stay index scans. The cost
    // a disabled scan adds to a plan that has no other (a sequence's) would set off JIT
    // compilation, 300 ms for a statement that runs in one: no JIT either.
    if (begin_.empty())
        begin_ = std::string("BEGIN; SET LOCAL enable_seqscan = off; SET LOCAL jit = off") +
                 (repo_.lz4_available()
                      // Large histories are written whole (and twice more as backups): lz4
                      // compresses them many times faster than pglz, and every reader of the
                      // column decompresses either transparently.
                      ? "; SET LOCAL default_toast_compression = lz4"
                      : "");
    pg::transaction tx(conn_, begin_);
    // The advisory lock first: it is shared with every ingester (run, recover, other daemons).
    repo_.begin_conversation(zoho_id);
    work w(zoho_id);
    // The bulk of the captured writes is ingested before the dashboard's row is locked, so the
    // row is held only for the final steps.
    auto claimed = repo_.claim_writes(zoho_id, max_events_per_sync, cfg_.daemon.claim_bytes);
    w.events = std::move(claimed.events);
    std::optional<legacy_state> no_row;
    out.captured += ingest_writes(w, w.events, no_row);
    // A larger backlog (in writes or in bytes) is worked off in several transactions: this one
    // only ingests its share (oldest first); the one that claims the rest, application appends
    // included, renders. Each claimed write's comment is still checked: the write it names
    // committed earlier on the same row, so its event has a smaller id and is claimed by now.
    std::optional<legacy_state> row;
    if (!claimed.more) {
        row = lock_row_and_claim_rest(w, out);
        out.without_legacy_row = !row;
    }
    out.captured += capture_comments(w);
    // What only the ingests and the comment check needed goes before the render, which holds
    // the conversation a few times over: peak memory follows the largest value, not a multiple.
    // The row's history was moved, not copied, into the snapshots: it comes back for the render.
    if (row && w.row_snapshot)
        row->history = std::move(w.snapshots[*w.row_snapshot].text);
    w.snapshots = {};
    w.cache = {};
    if (row && w.fresh)
        render_appended(w, out);
    else if (row)
        render(w, *row, out);
    // What claim_rest() deleted as it read is gone already.
    std::vector<long long> ids;
    for (const auto& e : w.events)
        if (!e.deleted)
            ids.push_back(e.id);
    repo_.delete_events(ids);
    tx.commit();
    if (w.written)
        memory_->remember(zoho_id, std::move(*w.written));
    out.events = static_cast<long long>(w.events.size());
    // Lag: from the event's enqueue to this commit, when the legacy column shows it.
    const double took_ms =
        std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - started)
            .count();
    // An append's event comes from a collection after it committed, and the append may have
    // been rendered before its event is claimed (a sync reads every committed row): its lag is
    // measured on the row, when a sync renders it new; a captured write's on its event.
    // (The whole path reads no row's age: there, as before, an append's event stands for it.)
    for (const auto& e : w.events)
        if (e.kind != event_kind::append || !w.fresh)
            out.lags_ms.push_back(e.age_ms + took_ms);
    for (double age : w.rendered_ages_ms) out.lags_ms.push_back(age + took_ms);
    if (out.drift)
        log_with_fields(spdlog::level::warn, "healed drift",
                        fmt::format("healed drift in {}: the legacy column lacked {} ledger "
                                    "message(s)",
                                    zoho_id, out.missing),
                        {{"zoho_id", zoho_id}, {"missing", static_cast<long long>(out.missing)}});
    if (out.first_render)
        log_first_render(zoho_id, *out.first_render);
    return out;
}

long long syncer::ingest_writes(work& w, std::vector<queue_event>& events,
                                std::optional<legacy_state>& row) {
    std::vector<ledger::legacy_value> batch;
    auto keep_comment = [&](const std::optional<std::string>& body,
                            const std::optional<std::string>& author, core::comment_rule rule) {
        if (body)
            w.comments.push_back({w.snapshots.size() + batch.size(), {{}, *body, author, rule}});
    };
    for (auto& e : events) {
        if (e.kind == event_kind::append)
            continue;
        keep_comment(e.comments, e.comments_entered_by, rule_of(e));
        batch.push_back({w.zoho_id, std::move(e.history)});
    }
    if (row) {
        // The row usually holds what the last captured write left: that value, in hand and
        // ingested in this transaction, stands for it (ingesting the same text again appends
        // nothing), so a large history is not held twice. share_row_history() looked among
        // the values ingested before.
        std::optional<size_t> same = w.row_snapshot;
        if (!same)
            if (auto i = last_holding(batch, row->history))
                same = w.snapshots.size() + *i;
        w.row_snapshot = same ? *same : w.snapshots.size() + batch.size();
        if (row->comments)
            w.comments.push_back(
                {*w.row_snapshot,
                 {{}, *row->comments, row->comments_entered_by, core::comment_rule::by_body}});
        if (same)
            row->history.reset();
        else
            batch.push_back({w.zoho_id, std::move(row->history)});
    }
    for (const auto& v : batch) read_bytes_ += v.text ? v.text->size() : 0;
    const auto r = ledger::ingest(ledger_, batch, cfg_.legacy.fields,
                                  {.source = core::message_source::legacy,
                                   .cache = &w.cache,
                                   .appended = w.ledger ? &*w.ledger : nullptr});
    for (auto& v : batch) w.snapshots.push_back(std::move(v));
    return r.appended;
}

void syncer::share_row_history(work& w, legacy_state& row) {
    if (auto i = last_holding(w.snapshots, row.history)) {
        w.row_snapshot = i;
        row.history.reset();
    }
}

void syncer::read_ledger(work& w) {
    w.ledger = ledger_.ledger_messages({w.zoho_id});
    // The late ingest counts identities from this read instead of reading again.
    auto& counts = w.cache.counts[w.zoho_id];
    counts.clear();
    w.identities.clear();
    w.identities.reserve(w.ledger->size());
    for (const auto& m : *w.ledger) {
        read_bytes_ += (m.payload ? m.payload->size() : 0) + (m.body ? m.body->size() : 0);
        w.identities.push_back(ledger::ledger_identity(m, cfg_.legacy.fields));
        ++counts[w.identities.back()];
    }
}

std::optional<legacy_state> syncer::lock_row_and_claim_rest(work& w, sync_outcome& out) {
    testpoint("before_legacy_row_lock");
    // A captured legacy write in hand must be ingested: only appends take the appended path.
    if (w.events.empty())
        w.memo = memory_->find(w.zoho_id);
    auto row = repo_.lock_legacy_row(w.zoho_id, w.memo ? w.memo->xmin : std::string());
    testpoint("before_late_claim");
    // Claimed again once the row is locked: every legacy write that committed before the row
    // read is then in hand. Without this late claim, a write committing in between and
    // overwritten by another before the row read would leave its comment looking unknown, and
    // the comment-only rule would append it a second time. Our own claimed rows would come
    // back (we hold their locks), so they are excluded by id, not by an id cursor: ids commit
    // out of order.
    std::vector<long long> held;
    for (const auto& e : w.events) held.push_back(e.id);
    auto late = repo_.claim_rest(w.zoho_id, held);
    if (row && row->unchanged) {
        if (take_appended_path(w, *row, late)) {
            w.events.insert(w.events.end(), std::make_move_iterator(late.begin()),
                            std::make_move_iterator(late.end()));
            return row;
        }
        row = repo_.lock_legacy_row(w.zoho_id);  // the whole path needs the history after all
    }
    // A legacy INSERT can commit between the row read and the late claim: read (and lock) the
    // row it created, or its events would be consumed with the row left unrendered.
    if (!row && std::any_of(late.begin(), late.end(),
                            [](const queue_event& e) { return e.kind == event_kind::insert; }))
        row = repo_.lock_legacy_row(w.zoho_id);
    // Every row whose append event we now hold has committed: read the ledger once, here.
    if (row) {
        share_row_history(w, *row);
        read_ledger(w);
        // Appends are queued by a collection, after they commit: one that committed after this
        // transaction's claims is in the ledger read, and still new (schema step 0012).
        w.unannounced = repo_.first_unannounced(w.zoho_id);
    }
    out.captured += ingest_writes(w, late, row);
    w.events.insert(w.events.end(), std::make_move_iterator(late.begin()),
                    std::make_move_iterator(late.end()));
    return row;
}

long long syncer::capture_comments(work& w) {
    if (w.comments.empty())
        return 0;
    // Bodies only: writers fill the author column with whoever is logged in. Only comments of
    // writes the capture trigger could not judge need them.
    const bool by_body = std::any_of(w.comments.begin(), w.comments.end(), [](const auto& c) {
        return c.second.rule == core::comment_rule::by_body;
    });
    if (by_body && !w.ledger)
        read_ledger(w);
    std::unordered_set<std::string_view> bodies;
    if (w.ledger)
        for (const auto& m : *w.ledger)
            if (m.body)
                bodies.insert(*m.body);
    std::vector<core::left_comment> comments;
    for (auto& [snapshot, c] : w.comments) {
        const auto& text = w.snapshots[snapshot].text;
        c.history = text ? std::string_view(*text) : std::string_view();
        comments.push_back(c);
    }
    const auto now_us = std::chrono::duration_cast<std::chrono::microseconds>(
                            std::chrono::system_clock::now().time_since_epoch())
                            .count();
    std::vector<ledger::new_message> rows;
    for (size_t i : core::new_comment_messages(comments, bodies, cfg_.legacy.fields))
        rows.push_back({&w.zoho_id, comments[i].author, comments[i].body, now_us, std::nullopt,
                        core::message_source::legacy});
    if (rows.empty())
        return 0;
    const long long appended = ledger_.append(rows);
    if (w.ledger)
        for (const auto& r : rows)
            w.ledger->push_back({0, w.zoho_id, std::nullopt, r.author, r.body, r.sent_at_us,
                                 core::to_string(r.source), true});
    return appended;
}

void syncer::check_rendered_size(const work& w, size_t bytes) const {
    if (bytes <= text_limit_)
        return;
    throw error("the history of " + w.zoho_id + " would render to " + std::to_string(bytes) +
                    " bytes, more than a text value holds (" + std::to_string(text_limit_) +
                    "): its legacy columns are left as they are",
                "the ledger keeps every message; the legacy column cannot show this "
                "conversation whole: archive older messages on the dashboard's side, or read "
                "it from the ledger");
}

bool syncer::take_appended_path(work& w, const legacy_state& row,
                                const std::vector<queue_event>& late) {
    // The row is the version this daemon wrote, so it holds no message the ledger lacks and its
    // comment is the ledger's; a legacy write claimed late would still need ingesting.
    if (!row.unchanged || !w.memo ||
        std::any_of(late.begin(), late.end(),
                    [](const queue_event& e) { return e.kind != event_kind::append; }))
        return false;
    auto [before, fresh] = ledger_.messages_after(w.zoho_id, w.memo->last_id);
    // Ids commit out of order: a message below last_id that committed after the memo was
    // written is not in the text, and only the whole path puts it in its place; so is a
    // recovered message.
    if (before != w.memo->messages || std::any_of(fresh.begin(), fresh.end(), placed_by_time))
        return false;
    w.fresh = std::move(fresh);
    return true;
}

void syncer::render_appended(work& w, sync_outcome& out) {
    out.appended_only = true;
    if (w.fresh->empty())
        return;  // rendered already by an earlier sync that read them before their events
    // The whole render is render_array() of every message's element in id order; the text holds
    // exactly that up to last_id, so replacing its closing bracket renders the same bytes.
    std::string tail;
    for (const auto& m : *w.fresh) {
        tail += ',';
        tail += core::element_of({m.payload, m.author, m.body, m.sent_at_us, false, std::nullopt},
                                 cfg_.legacy.fields);
    }
    tail += ']';
    const auto& memo = *w.memo;
    const size_t bytes = memo.bytes - 1 + tail.size();
    check_rendered_size(w, bytes);
    const auto& latest = w.fresh->back();
    // Nothing the column showed can be missing here: backups as for a rewrite without drift.
    const bool backups = cfg_.backup.mode == backup_mode::every_rewrite;
    auto xmin =
        repo_.rewrite(w.zoho_id, std::move(tail), latest.body, latest.author, backups, true);
    if (!xmin)
        throw error("the legacy row of " + w.zoho_id + " did not keep the rendered history",
                    "check for triggers or a column type that rewrites " +
                        cfg_.legacy.history_column.name());
    out.rewritten = true;
    for (const auto& m : *w.fresh)
        if (m.source == "app" || m.source == "backup")
            w.rendered_ages_ms.push_back(m.age_ms);
    w.written = render_memo{std::move(*xmin), latest.id,
                            memo.messages + static_cast<long long>(w.fresh->size()), bytes};
}

std::vector<core::stored_message> syncer::stored_messages(work& w) const {
    // A message counts as lost only if the column showed it: an element of a committed legacy
    // value (a racing writer dropped it), or a row rendered before. Rows from the first one
    // the consumed append events announce, and comments captured now, are new.
    long long first_announced = w.unannounced.value_or(std::numeric_limits<long long>::max());
    for (const auto& e : w.events)
        if (e.first_ledger_id)
            first_announced = std::min(first_announced, *e.first_ledger_id);
    std::vector<core::stored_message> ledger;
    ledger.reserve(w.ledger->size());
    for (size_t i = 0; i < w.ledger->size(); ++i) {
        auto& m = (*w.ledger)[i];
        const bool from_legacy_value = m.payload && m.source == "legacy";
        const bool shown = from_legacy_value || (!m.this_transaction && m.id < first_announced);
        const bool migrated =
            !m.this_transaction && (m.source == "migration" || m.source == "unparseable");
        // Rows appended after the read have no identity yet: decide_render computes theirs.
        std::optional<std::string> id;
        if (i < w.identities.size())
            id = std::move(w.identities[i]);
        const bool comment_now = m.this_transaction && !m.payload;
        ledger.push_back({std::move(m.payload), std::move(m.author), std::move(m.body),
                          m.sent_at_us, shown, std::move(id), placed_by_time(m), migrated,
                          comment_now});
    }
    std::vector<std::string>().swap(w.identities);
    return ledger;
}

void syncer::render(work& w, legacy_state& row, sync_outcome& out) {
    // A lower bound of the rendered size, from the text in hand: a conversation that cannot be
    // written back is refused before its text is copied into elements and one array.
    size_t estimate = 2;
    for (const auto& m : *w.ledger)
        estimate +=
            1 + (m.payload ? m.payload->size()
                           : (m.body ? m.body->size() : 0) + (m.author ? m.author->size() : 0));
    check_rendered_size(w, estimate);
    // The next sync may append to this text when it is the ledger rendered whole in id order
    // and every message in it has its id in hand (comments captured now do not).
    const bool ids_known = std::none_of(w.ledger->begin(), w.ledger->end(),
                                        [](const auto& m) { return m.this_transaction; });
    const bool id_order = std::none_of(w.ledger->begin(), w.ledger->end(), placed_by_time);
    const long long last_id = w.ledger->empty() ? 0 : w.ledger->back().id;
    const auto messages = static_cast<long long>(w.ledger->size());
    auto ledger = stored_messages(w);
    w.ledger.reset();
    // The row's history moves into the decision: kept as it is, it becomes the text written.
    auto d =
        core::decide_render(ledger, {std::move(row.history), row.comments, row.comments_entered_by},
                            cfg_.legacy.fields);
    ledger = std::vector<core::stored_message>();  // what is left of it is in d.history
    out.missing = d.missing;
    if (!d.rewrite)
        return;
    // A first render follows no captured write: the column still holds what `run` read.
    const bool captured_write = std::any_of(w.events.begin(), w.events.end(), [](const auto& e) {
        return e.kind != event_kind::append;
    });
    if (d.first_render && !captured_write)
        out.first_render = d.first;
    out.drift = d.missing > 0 && !out.first_render;
    check_rendered_size(w, d.history.size());
    const bool backups = cfg_.backup.mode == backup_mode::every_rewrite ||
                         (cfg_.backup.mode == backup_mode::drift_only && out.drift);
    // The server compares what it stored: a type or trigger on the legacy column that changed
    // it would otherwise go unnoticed.
    const size_t written = d.history.size();
    auto xmin =
        repo_.rewrite(w.zoho_id, std::move(d.history), d.comment, d.comment_author, backups);
    if (!xmin)
        throw error("the legacy row of " + w.zoho_id + " did not keep the rendered history",
                    "check for triggers or a column type that rewrites " +
                        cfg_.legacy.history_column.name());
    out.rewritten = true;
    if (d.rendered && ids_known && id_order && messages > 0)
        w.written = render_memo{std::move(*xmin), last_id, messages, written};
}

}  // namespace chatledger::daemon

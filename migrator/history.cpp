// `history ZOHO_ID`: one conversation's timeline for the DBA of an incident: each ledger message
// with its source and when the ledger got it, and each legacy write that dropped it from the
// column (seen in the backup snapshots) and when it was put back. Text, or --json for tools.
#include <ostream>
#include <unordered_map>

#include "config/error.hpp"
#include "core/json.hpp"
#include "core/message.hpp"
#include "core/timestamp.hpp"
#include "ledger/ledger_repository.hpp"
#include "migrator/commands.hpp"
#include "migrator/history_repository.hpp"

namespace chatledger::migrator {

namespace {

/// A stretch during which the legacy column lacked a message it had shown.
struct drop {
    const snapshot_row* last_seen = nullptr;   ///< the last snapshot that showed it
    const snapshot_row* dropped_in = nullptr;  ///< the first that lacked it; null: only now
    const snapshot_row* put_back = nullptr;    ///< the next that showed it again
    bool back_now = false;                     ///< not seen again in a snapshot, but now
};

/// One ledger row and what the snapshots and the current column say about it.
struct message_timeline {
    const timeline_row* row = nullptr;
    bool in_column_now = false;
    const snapshot_row* first_seen = nullptr;  ///< the first snapshot that showed it
    std::vector<drop> drops;
};

/// Everything `history` shows about one conversation.
struct conversation_history {
    legacy_now legacy;
    std::vector<timeline_row> rows;
    std::vector<snapshot_row> snapshots;
    std::vector<queued_row> queued;
    std::optional<set_aside_row> aside;
    std::optional<std::string> migrated_at;
    std::vector<message_timeline> messages;
    long long shown_now = 0;  ///< ledger messages the legacy column holds now
};

/// Where a row came from, in the words of docs/reference.md.
std::string origin(const timeline_row& r) {
    if (r.source == "migration")
        return "migrated";
    if (r.source == "legacy")
        return r.payload ? "captured legacy write" : "comment-only legacy write";
    if (r.source == "backup")
        return "recovered from a backup";
    if (r.source == "unparseable")
        return "unparseable legacy value";
    return r.source == "app" ? "application" : r.source;
}

/// Follows one message (the k-th of its identity) through the snapshots to the column now.
message_timeline follow(const timeline_row& row, long long k,
                        const std::vector<core::identity_counts>& snapshot_counts,
                        const std::vector<snapshot_row>& snapshots, const std::string& identity,
                        const core::identity_counts& now) {
    message_timeline m;
    m.row = &row;
    auto holds = [&](const core::identity_counts& c) {
        auto it = c.find(identity);
        return it != c.end() && it->second >= k;
    };
    std::optional<drop> open;
    const snapshot_row* last_seen = nullptr;
    bool shown_before = false;  // by the previous snapshot
    for (size_t i = 0; i < snapshots.size(); ++i) {
        const bool shown = holds(snapshot_counts[i]);
        if (shown) {
            if (open) {
                open->put_back = &snapshots[i];
                m.drops.push_back(*open);
                open.reset();
            }
            if (!m.first_seen)
                m.first_seen = &snapshots[i];
            last_seen = &snapshots[i];
        } else if (shown_before) {
            // Only a message the column showed can be dropped: one appended after this
            // snapshot was never in it.
            open = drop{last_seen, &snapshots[i], nullptr, false};
        }
        shown_before = shown;
    }
    m.in_column_now = holds(now);
    if (open) {
        open->back_now = m.in_column_now;
        m.drops.push_back(*open);
    } else if (!m.in_column_now && shown_before) {
        m.drops.push_back(drop{last_seen, nullptr, nullptr, false});
    }
    return m;
}

conversation_history read_history(pg::connection& conn, const command_context& ctx) {
    ledger::ledger_repository ledger(conn, ctx.cfg);
    history_repository repo(conn, ctx.cfg);
    pg::transaction tx(conn, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    ledger.require_schema();
    conversation_history h;
    h.legacy = repo.legacy_row(ctx.key);
    h.rows = repo.ledger_rows(ctx.key);
    if (!h.legacy.exists && h.rows.empty())
        throw usage_error("no conversation " + ctx.key + ": neither " +
                              ctx.cfg.legacy.table.display() + " nor the ledger has that key",
                          "give the key as the legacy table spells it (compared as text, "
                          "blanks and case included)");
    h.snapshots = repo.snapshots(ctx.key);
    h.queued = repo.queued(ctx.key);
    h.aside = repo.set_aside(ctx.key);
    h.migrated_at = repo.migrated_at(ctx.key);
    tx.commit();

    const auto& fields = ctx.cfg.legacy.fields;
    std::vector<core::identity_counts> counts(h.snapshots.size());
    for (size_t i = 0; i < h.snapshots.size(); ++i)
        for (auto& id : core::value_identities(h.snapshots[i].history, fields)) ++counts[i][id];
    core::identity_counts now, seen;
    if (h.legacy.exists)
        for (auto& id : core::value_identities(h.legacy.history, fields)) ++now[id];
    for (const auto& r : h.rows) {
        auto id = core::stored_identity(r.payload, r.author, r.body, r.sent_at_us, fields);
        const long long k = ++seen[id];
        h.messages.push_back(follow(r, k, counts, h.snapshots, id, now));
        h.shown_now += h.messages.back().in_column_now ? 1 : 0;
    }
    return h;
}

/// A snapshot in words: "2024-01-03T09:00:00.000Z (backup row 7, UPDATE by webapp)".
std::string describe(const snapshot_row& s) {
    return (s.at.empty() ? std::string("an unknown time") : s.at) + " (backup row " +
           std::to_string(s.id) + ", " + s.operation_type.value_or("no operation type") + " by " +
           s.operation_user.value_or("an unknown user") + ")";
}

/// A body on one line, cut to 60 characters.
std::string one_line(const std::optional<std::string>& text) {
    if (!text)
        return "(no body)";
    std::string out;
    for (char c : *text) out += (static_cast<unsigned char>(c) < 0x20) ? ' ' : c;
    return out.size() > 60 ? out.substr(0, 57) + "..." : out;
}

void print_drop(std::ostream& out, const drop& d) {
    if (!d.dropped_in) {
        out << "      dropped by a legacy write after " << describe(*d.last_seen)
            << "; not in the legacy column now\n";
        return;
    }
    out << "      dropped by a legacy write between " << describe(*d.last_seen) << " and "
        << describe(*d.dropped_in) << "\n";
    if (d.put_back)
        out << "      put back " << describe(*d.put_back) << "\n";
    else
        out << (d.back_now ? "      put back since (in the legacy column now)\n"
                           : "      not put back: not in the legacy column now\n");
}

void print_text(const command_context& ctx, const conversation_history& h) {
    auto& out = ctx.out;
    out << "conversation " << ctx.key << "\n";
    if (h.legacy.exists)
        out << "legacy row             present; its history column shows " << h.shown_now << " of "
            << h.rows.size() << " ledger message(s); comment by "
            << h.legacy.comment_author.value_or("nobody") << ": " << one_line(h.legacy.comment)
            << "\n";
    else
        out << "legacy row             none (" << ctx.cfg.legacy.table.display()
            << " has no row with this key)\n";
    out << "migrated               " << h.migrated_at.value_or("no (run has not copied it)")
        << "\nqueued events          " << h.queued.size();
    for (const auto& q : h.queued)
        out << (&q == &h.queued.front() ? ": " : ", ") << q.kind
            << (q.id ? "" : " (not collected yet)") << " at " << q.enqueued_at;
    out << "\nset aside by syncd     ";
    if (h.aside)
        out << "yes: " << h.aside->failures << " failed attempt(s) since "
            << h.aside->first_failed_at << ", last at " << h.aside->failed_at << ": "
            << h.aside->error << "; next attempt " << h.aside->retry_at << "\n";
    else
        out << "no\n";
    out << "backup snapshots       " << h.snapshots.size() << "\nmessages (ledger order)\n";
    for (const auto& m : h.messages) {
        const auto& r = *m.row;
        out << "  id " << r.id << ", " << origin(r) << ", the ledger got it " << r.created_at
            << ", sent " << (r.sent_at_us ? core::format_iso_ms(*r.sent_at_us) : "at no known time")
            << "\n      " << r.author.value_or("(no author)") << ": " << one_line(r.body) << "\n";
        if (m.first_seen)
            out << "      first in a backup snapshot " << describe(*m.first_seen) << "\n";
        for (const auto& d : m.drops) print_drop(out, d);
        out << (m.in_column_now ? "      in the legacy column now\n"
                                : "      NOT in the legacy column now\n");
    }
}

std::string json_text(const std::optional<std::string>& v) {
    return v ? core::json_string(*v) : std::string("null");
}

std::string json_snapshot(const snapshot_row* s) {
    if (!s)
        return "null";
    return "{\"backup_id\":" + std::to_string(s->id) + ",\"at\":" + core::json_string(s->at) +
           ",\"operation_type\":" + json_text(s->operation_type) +
           ",\"operation_user\":" + json_text(s->operation_user) + "}";
}

void print_json_message(std::ostream& out, const message_timeline& m) {
    const auto& r = *m.row;
    out << "{\"id\":" << r.id << ",\"source\":" << core::json_string(r.source)
        << ",\"origin\":" << core::json_string(origin(r))
        << ",\"created_at\":" << core::json_string(r.created_at) << ",\"sent_at\":"
        << (r.sent_at_us ? core::json_string(core::format_iso_ms(*r.sent_at_us)) : "null")
        << ",\"author\":" << json_text(r.author) << ",\"body\":" << json_text(r.body)
        << ",\"in_legacy_column\":" << (m.in_column_now ? "true" : "false")
        << ",\"first_seen\":" << json_snapshot(m.first_seen) << ",\"drops\":[";
    for (size_t i = 0; i < m.drops.size(); ++i) {
        const auto& d = m.drops[i];
        out << (i ? "," : "") << "{\"last_seen\":" << json_snapshot(d.last_seen)
            << ",\"dropped_in\":" << json_snapshot(d.dropped_in)
            << ",\"put_back\":" << json_snapshot(d.put_back)
            << ",\"back_now\":" << (d.back_now ? "true" : "false") << "}";
    }
    out << "]}";
}

void print_json(const command_context& ctx, const conversation_history& h) {
    auto& out = ctx.out;
    out << "{\"zoho_id\":" << core::json_string(ctx.key)
        << ",\"legacy_row\":" << (h.legacy.exists ? "true" : "false")
        << ",\"ledger_messages\":" << h.rows.size() << ",\"shown_in_legacy_column\":" << h.shown_now
        << ",\"comment\":" << json_text(h.legacy.comment)
        << ",\"comment_author\":" << json_text(h.legacy.comment_author)
        << ",\"migrated_at\":" << json_text(h.migrated_at) << ",\"queued_events\":[";
    for (size_t i = 0; i < h.queued.size(); ++i)
        out << (i ? "," : "")
            << "{\"id\":" << (h.queued[i].id ? std::to_string(*h.queued[i].id) : "null")
            << ",\"collected\":" << (h.queued[i].id ? "true" : "false")
            << ",\"kind\":" << core::json_string(h.queued[i].kind)
            << ",\"enqueued_at\":" << core::json_string(h.queued[i].enqueued_at) << "}";
    out << "],\"set_aside\":";
    if (h.aside)
        out << "{\"failures\":" << h.aside->failures
            << ",\"first_failed_at\":" << core::json_string(h.aside->first_failed_at)
            << ",\"failed_at\":" << core::json_string(h.aside->failed_at)
            << ",\"retry_at\":" << core::json_string(h.aside->retry_at)
            << ",\"error\":" << core::json_string(h.aside->error) << "}";
    else
        out << "null";
    out << ",\"backup_snapshots\":" << h.snapshots.size() << ",\"messages\":[";
    for (size_t i = 0; i < h.messages.size(); ++i) {
        out << (i ? "," : "");
        print_json_message(out, h.messages[i]);
    }
    out << "]}\n";
}

}  // namespace

int history_command(const command_context& ctx) {
    auto conn = open_connection(ctx, "history");
    const auto h = read_history(conn, ctx);
    if (ctx.json)
        print_json(ctx, h);
    else
        print_text(ctx, h);
    return 0;
}

}  // namespace chatledger::migrator

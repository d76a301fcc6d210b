// The render and comment-only decisions of a sync, kept pure so they are unit-tested and fuzzed
// without a server; the daemon's syncer only gathers their inputs and applies their outputs.
#include "core/sync_decision.hpp"

#include <algorithm>
#include <deque>
#include <unordered_map>

#include "core/json.hpp"

namespace chatledger::core {

std::vector<size_t> render_order(const std::vector<stored_message>& ledger) {
    std::vector<size_t> others, placed, out;
    out.reserve(ledger.size());
    for (size_t i = 0; i < ledger.size(); ++i)
        (ledger[i].placed_by_time && ledger[i].sent_at_us ? placed : others).push_back(i);
    std::stable_sort(placed.begin(), placed.end(), [&](size_t a, size_t b) {
        return *ledger[a].sent_at_us < *ledger[b].sent_at_us;
    });
    size_t p = 0;
    for (size_t o : others) {
        // Others keep id order even when their times do not; one without a time decides nothing.
        const auto& at = ledger[o].sent_at_us;
        while (at && p < placed.size() && *ledger[placed[p]].sent_at_us < *at)
            out.push_back(placed[p++]);
        out.push_back(o);
    }
    out.insert(out.end(), placed.begin() + static_cast<std::ptrdiff_t>(p), placed.end());
    return out;
}

namespace {

/// The latest message `run` migrated, or nullptr.
const stored_message* latest_migrated(const std::vector<stored_message>& ledger) {
    for (auto it = ledger.rbegin(); it != ledger.rend(); ++it)
        if (it->migrated)
            return &*it;
    return nullptr;
}

/// True when `have` holds exactly `want` less `less` (a part of it), each identity as often.
template <typename counts>
bool holds_exactly(const counts& have, const counts& want, const counts& less) {
    size_t kinds = 0;
    for (const auto& [id, n] : want) {
        auto l = less.find(id);
        const long long expected = n - (l == less.end() ? 0 : l->second);
        if (expected == 0)
            continue;
        ++kinds;
        auto h = have.find(id);
        if (h == have.end() || h->second != expected)
            return false;
    }
    return kinds == have.size();
}

/// Fills d.first from what the render appended and the row held (d.rewrite is set).
void classify_first_render(const std::vector<stored_message>& ledger, const legacy_columns& row,
                           render_decision& d) {
    d.first_render = true;
    auto& f = d.first;
    for (const auto& m : ledger) {
        f.comment_appended = f.comment_appended || m.appended_now;
        // Only an unparseable value's row was migrated without a payload.
        f.unparseable_shown = f.unparseable_shown || (m.migrated && !m.payload);
    }
    if (!f.comment_appended) {
        const auto* latest = latest_migrated(ledger);
        f.comment_columns =
            latest && (row.comment != latest->body || row.comment_author != latest->author);
    }
}

}  // namespace

std::string element_of(const stored_message& m, const field_names& fields) {
    if (m.payload && is_valid_json(*m.payload))
        return *m.payload;
    return render_element(m.author, m.body, m.sent_at_us, fields);
}

render_decision decide_render(const std::vector<stored_message>& ledger, legacy_columns row,
                              const field_names& fields) {
    render_decision d;
    if (ledger.empty())
        return d;
    // Elements and identities are viewed where they already live (a payload, an identity the
    // caller computed); only what is computed here is stored, in a deque so views stay valid: a
    // conversation of hundreds of megabytes is not copied three more times.
    std::deque<std::string> computed;
    std::vector<std::string_view> elements;
    elements.reserve(ledger.size());
    // Messages appended now are few (comments): counted apart.
    std::unordered_map<std::string_view, long long> want, want_shown, have, appended_now;
    bool only_migrated = true;
    const auto order = render_order(ledger);
    for (size_t i : order) {
        const auto& m = ledger[i];
        if (m.payload && is_valid_json(*m.payload))
            elements.push_back(*m.payload);
        else
            elements.push_back(
                computed.emplace_back(render_element(m.author, m.body, m.sent_at_us, fields)));
        const std::string_view id =
            m.identity
                ? std::string_view(*m.identity)
                : std::string_view(computed.emplace_back(identity_of_element(elements.back())));
        if (m.shown_before)
            ++want_shown[id];
        if (m.appended_now)
            ++appended_now[id];
        else if (!m.migrated)
            only_migrated = false;
        ++want[id];
    }
    const auto shown = value_identities(row.history, fields);
    for (const auto& id : shown) ++have[id];
    for (const auto& [id, n] : want_shown) {
        auto it = have.find(id);
        const long long h = it == have.end() ? 0 : it->second;
        if (n > h)
            d.missing += n - h;
    }
    const auto& latest = ledger[order.back()];
    d.comment = latest.body;
    d.comment_author = latest.author;
    d.history_in_step = have == want;
    d.rewrite =
        !d.history_in_step || row.comment != latest.body || row.comment_author != latest.author;
    if (!d.rewrite)
        return d;
    if (only_migrated && holds_exactly(have, want, appended_now))
        classify_first_render(ledger, row, d);
    if (d.history_in_step && row.history) {
        // Same messages: the column keeps its own text, order and formatting.
        d.history = std::move(*row.history);
    } else {
        row.history.reset();  // not written: gone before the rendered text is built
        d.history = render_array(elements);
        d.rendered = true;
    }
    return d;
}

namespace {

/// True when an element of `history` has `body` as its body.
bool in_history(std::string_view history, const std::string& body, const field_names& fields) {
    for (auto e : split_value(history).elements)
        if (body_of(e, fields) == body)
            return true;
    return false;
}

}  // namespace

latest_message compare_latest(bool unparseable, const std::optional<std::string>& author,
                              const std::optional<std::string>& body,
                              const std::optional<std::string>& comment,
                              const std::optional<std::string>& comment_author) {
    return {unparseable, body == comment, author == comment_author};
}

first_render_change forecast_first_render(const std::optional<latest_message>& latest,
                                          const legacy_columns& row, const field_names& fields) {
    first_render_change f;
    if (row.comment) {
        // Every other ledger body is an element's body the history search finds; the latest
        // may be an unparseable value's, which no element has.
        std::unordered_set<std::string_view> bodies;
        if (latest && latest->body_is_comment)
            bodies.insert(*row.comment);
        const std::string_view history = row.history ? std::string_view(*row.history) : "";
        f.comment_appended =
            !new_comment_messages({{history, *row.comment, row.comment_author}}, bodies, fields)
                 .empty();
    }
    if (!f.comment_appended)
        f.comment_columns =
            latest && !(latest->body_is_comment && latest->author_is_comment_author);
    f.unparseable_shown =
        (f.comment_appended || f.comment_columns) && latest && latest->unparseable;
    return f;
}

first_render_change forecast_first_render(const legacy_columns& row, const field_names& fields) {
    std::optional<latest_message> latest;
    if (row.history) {
        const auto split = split_value(*row.history);
        if (split.kind == value_kind::unparseable) {
            latest = compare_latest(true, std::string(system_author), row.history, row.comment,
                                    row.comment_author);
        } else if (split.kind == value_kind::array) {
            const auto f = extract_fields(split.elements.back(), fields);
            latest = compare_latest(false, f.author, f.body, row.comment, row.comment_author);
        }
    }
    return forecast_first_render(latest, row, fields);
}

std::vector<size_t> new_comment_messages(const std::vector<left_comment>& comments,
                                         std::unordered_set<std::string_view> ledger_bodies,
                                         const field_names& fields) {
    std::vector<size_t> out;
    for (size_t i = 0; i < comments.size(); ++i) {
        const auto& c = comments[i];
        bool is_new = false;
        switch (c.rule) {
            case comment_rule::new_message:
                is_new = true;
                break;
            case comment_rule::own_history:
                is_new = !in_history(c.history, c.body, fields);
                break;
            case comment_rule::unchanged:
                break;
            case comment_rule::by_body:
                // Writers fill the author column with whoever is logged in, which need not be
                // the element's author: only bodies are compared. The ledger nearly always
                // answers; the history is scanned only for a really new comment.
                is_new = !ledger_bodies.count(c.body) && !in_history(c.history, c.body, fields);
                break;
        }
        if (!is_new)
            continue;
        ledger_bodies.insert(c.body);  // the current row repeating it is the same message
        out.push_back(i);
    }
    return out;
}

}  // namespace chatledger::core

// The render and comment-only decisions of a sync, kept pure so they are unit-tested and fuzzed
// without a server; the daemon's syncer only gathers their inputs and applies their outputs.
#include "core/sync_decision.hpp"

#include <deque>
#include <unordered_map>

#include "core/json.hpp"

namespace chatledger::core {

std::string element_of(const stored_message& m, const field_names& fields) {
    if (m.payload && is_valid_json(*m.payload))
        return *m.payload;
    return render_element(m.author, m.body, m.sent_at_us, fields);
}

render_decision decide_render(const std::vector<stored_message>& ledger, const legacy_columns& row,
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
    std::unordered_map<std::string_view, long long> want, want_shown, have;
    for (const auto& m : ledger) {
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
    const auto& latest = ledger.back();
    d.comment = latest.body;
    d.comment_author = latest.author;
    d.history_in_step = have == want;
    d.rewrite =
        !d.history_in_step || row.comment != latest.body || row.comment_author != latest.author;
    if (!d.rewrite)
        return d;
    if (d.history_in_step && row.history) {
        // Same messages: the column keeps its own text, order and formatting.
        d.history = *row.history;
    } else {
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

// The ingest rule over the database: identities of what the ledger holds, identities of a
// legacy value's elements, and one COPY of the difference. Pure decisions live in core/.
#include "ledger/ingest.hpp"

#include <algorithm>
#include <optional>
#include <string_view>
#include <unordered_map>

#include "core/json.hpp"

namespace chatledger::ledger {

std::string ledger_identity(const ledger_message& m, const core::field_names& fields) {
    return core::stored_identity(m.payload, m.author, m.body, m.sent_at_us, fields);
}

namespace {

/// Locks the values' conversations (unless the caller holds them) and makes `counts` hold the
/// ledger's identity counts of each, reading only the conversations it does not hold yet.
void prepare(ledger_repository& repo, const std::vector<legacy_value>& values,
             const core::field_names& fields, const ingest_options& options,
             std::unordered_map<std::string, core::identity_counts>& counts) {
    std::vector<std::string> keys;
    for (const auto& v : values) keys.push_back(v.zoho_id);
    std::sort(keys.begin(), keys.end());
    keys.erase(std::unique(keys.begin(), keys.end()), keys.end());
    if (!options.dry_run && !(options.cache && options.cache->locked))
        repo.lock_conversations(keys);
    std::vector<std::string> unread;
    for (const auto& k : keys)
        if (!counts.count(k))
            unread.push_back(k);
    if (unread.empty())
        return;
    for (const auto& k : unread) counts[k];  // read now, even when the ledger has none
    for (const auto& m : repo.ledger_messages(unread))
        ++counts[m.zoho_id][ledger_identity(m, fields)];
}

/// A value that is not a JSON array: one `unparseable` row with the raw text, unless the
/// ledger has it already (or the caller skips such values).
void take_unparseable(const legacy_value& v, core::identity_counts& have,
                      const core::field_names& fields, const ingest_options& options,
                      std::vector<new_message>& out, ingest_result& result) {
    ++result.unparseable;
    result.unparseable_keys.insert(v.zoho_id);
    if (options.skip_unparseable)
        return;
    auto& n = have[core::identity_of_element(core::unparseable_element(*v.text, fields))];
    if (n > 0)
        return;
    ++n;
    out.push_back({&v.zoho_id, std::string(core::system_author), *v.text, std::nullopt,
                   std::nullopt, core::message_source::unparseable});
    ++result.per_conversation[v.zoho_id];
}

/// Hands the caller a copy of what was appended (see ingest_options::appended).
void report_appended(const std::vector<new_message>& out, std::vector<ledger_message>& to) {
    for (const auto& m : out)
        to.push_back(
            {0, *m.zoho_id,
             m.payload ? std::optional<std::string>(std::string(*m.payload)) : std::nullopt,
             m.author, m.body, m.sent_at_us, core::to_string(m.source), true});
}

}  // namespace

ingest_result ingest(ledger_repository& repo, const std::vector<legacy_value>& values,
                     const core::field_names& fields, const ingest_options& options) {
    const bool dry_run = options.dry_run;
    ingest_cache* const cache = options.cache;
    ingest_result result;
    if (values.empty())
        return result;
    ingest_cache local;
    auto& counts = (cache ? *cache : local).counts;
    prepare(repo, values, fields, options, counts);

    // The daemon ingests many snapshots of one conversation at once, nearly all elements alike:
    // canonicalize each distinct element text once. Views point into `values`, which outlive it.
    std::unordered_map<std::string_view, std::string> identity_cache;
    auto identity = [&](std::string_view element) -> const std::string& {
        auto it = identity_cache.find(element);
        if (it == identity_cache.end())
            it = identity_cache.emplace(element, core::identity_of_element(element)).first;
        return it->second;
    };

    std::unordered_map<std::string, const legacy_value*> last_value_of;
    for (const auto& v : values) last_value_of[v.zoho_id] = &v;

    // Rows go to the COPY in pieces as they are decided: a large value's messages are never all
    // held as rows (a 50 MB value made about 110 MB of them).
    std::optional<ledger_repository::appender> sink;
    if (!dry_run)
        sink.emplace(repo);
    std::vector<new_message> out;
    long long decided = 0;
    auto flush = [&] {
        decided += static_cast<long long>(out.size());
        if (sink)
            for (const auto& m : out) sink->add(m);
        if (options.appended && !dry_run)
            report_appended(out, *options.appended);
        out.clear();
    };
    for (const auto& v : values) {
        auto& have = counts[v.zoho_id];
        if (!v.text) {
            ++result.null_values;
            continue;
        }
        const auto split = core::split_value(*v.text);
        if (split.kind == core::value_kind::empty) {
            const bool blank = v.text->find_first_not_of(" \t\r\n") == std::string::npos;
            ++(blank ? result.blank_values : result.empty_arrays);
            continue;
        }
        if (split.kind == core::value_kind::unparseable) {
            take_unparseable(v, have, fields, options, out, result);
            continue;
        }
        result.elements += static_cast<long long>(split.elements.size());
        // A conversation the ledger has never seen takes every element: no identities needed,
        // which is what keeps a first migration close to the speed of a plain COPY. Only the
        // last value of a conversation in this batch may skip them (earlier ones feed `have`).
        // (Not with a cache: the cache must learn every identity appended.)
        const bool fresh = !cache && have.empty() && last_value_of[v.zoho_id] == &v;
        std::vector<std::string> ids;
        std::vector<size_t> take;
        if (fresh) {
            take.resize(split.elements.size());
            for (size_t i = 0; i < take.size(); ++i) take[i] = i;
        } else {
            ids.reserve(split.elements.size());
            for (auto e : split.elements) ids.push_back(identity(e));
            take = core::elements_to_append(ids, have);
        }
        for (size_t i : take) {
            if (!fresh)
                ++have[ids[i]];
            auto f = core::extract_fields(split.elements[i], fields);
            if (!f.sent_at_us)
                ++result.no_timestamp;
            out.push_back({&v.zoho_id, std::move(f.author), std::move(f.body), f.sent_at_us,
                           split.elements[i], options.source});
            if (out.size() >= 1024)
                flush();
        }
        // Once per value, not per message: a hash of the key for each of a migration's rows.
        if (!take.empty())
            result.per_conversation[v.zoho_id] += static_cast<long long>(take.size());
    }
    flush();
    result.appended = sink ? sink->finish() : decided;
    return result;
}

}  // namespace chatledger::ledger

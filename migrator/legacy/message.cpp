// Field extraction, rendering and the ingest rule over message identities.
// Everything here is deterministic text processing, unit-tested and fuzzed without a server.
#include "migrator/legacy/message.hpp"

#include "migrator/legacy/json.hpp"
#include "migrator/legacy/timestamp.hpp"

namespace chatledger::legacy {

namespace {

std::optional<std::string> text_member(std::string_view element, const std::string& key) {
    auto raw = find_member(element, key);
    if (!raw || *raw == "null") return std::nullopt;
    if (raw->front() == '"') return decode_string(*raw);
    return std::string(*raw);
}

void json_or_null(std::string& out, const std::optional<std::string>& v) {
    if (v)
        encode_string(out, *v);
    else
        out += "null";
}

}  // namespace

message_fields extract_fields(std::string_view element, const field_names& names) {
    message_fields f;
    f.author = text_member(element, names.author);
    f.body = text_member(element, names.body);
    if (auto raw = find_member(element, names.sent_at)) f.sent_at_us = parse_timestamp_json(*raw);
    return f;
}

std::string render_element(const std::optional<std::string>& author,
                           const std::optional<std::string>& body,
                           std::optional<int64_t> sent_at_us, const field_names& names) {
    std::string out = "{";
    encode_string(out, names.author);
    out += ':';
    json_or_null(out, author);
    out += ',';
    encode_string(out, names.body);
    out += ':';
    json_or_null(out, body);
    out += ',';
    encode_string(out, names.sent_at);
    out += ':';
    if (sent_at_us)
        encode_string(out, format_iso_ms(*sent_at_us));
    else
        out += "null";
    out += '}';
    return out;
}

std::string render_array(const std::vector<std::string_view>& elements) {
    size_t size = 2;
    for (auto e : elements) size += e.size() + 1;
    std::string out;
    out.reserve(size);
    out += '[';
    for (size_t i = 0; i < elements.size(); ++i) {
        if (i) out += ',';
        out += elements[i];
    }
    out += ']';
    return out;
}

std::string identity_of_element(std::string_view element) { return canonical(element); }

std::vector<size_t> elements_to_append(const std::vector<std::string>& identities,
                                       const identity_counts& ledger) {
    std::vector<size_t> out;
    identity_counts seen;
    for (size_t i = 0; i < identities.size(); ++i) {
        const long long k = ++seen[identities[i]];
        auto it = ledger.find(identities[i]);
        if (k > (it == ledger.end() ? 0 : it->second)) out.push_back(i);
    }
    return out;
}

}  // namespace chatledger::legacy

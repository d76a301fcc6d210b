// Field extraction, rendering and the ingest rule over message identities.
// Everything here is deterministic text processing, unit-tested and fuzzed without a server.
#include "core/message.hpp"

#include <openssl/evp.h>

#include <cstdint>
#include <memory>
#include <stdexcept>

#include "core/bytes.hpp"
#include "core/json.hpp"
#include "core/timestamp.hpp"

namespace chatledger::core {

namespace {

std::string text_column_of(std::string&& text);

/// A member's raw JSON value as a text column: NULL for null or absent, a string decoded.
std::optional<std::string> text_value(const std::optional<std::string_view>& raw) {
    if (!raw || *raw == "null")
        return std::nullopt;
    if (raw->front() == '"')
        return text_column_of(decode_string(*raw));
    return std::string(*raw);
}

std::optional<std::string> text_member(std::string_view element, const std::string& key) {
    return text_value(find_member(element, key));
}

/// Length of the valid UTF-8 sequence (no surrogates, no overlongs) at s[i], or 0.
size_t utf8_length(std::string_view s, size_t i) {
    const auto b = [&](size_t k) { return static_cast<unsigned char>(s[i + k]); };
    const unsigned char c = b(0);
    if (c < 0x80)
        return c == 0 ? 0 : 1;
    size_t n;
    unsigned cp;
    if ((c & 0xE0) == 0xC0) {
        n = 2;
        cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
        n = 3;
        cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
        n = 4;
        cp = c & 0x07;
    } else {
        return 0;
    }
    if (i + n > s.size())
        return 0;
    for (size_t k = 1; k < n; ++k) {
        if ((b(k) & 0xC0) != 0x80)
            return 0;
        cp = (cp << 6) | (b(k) & 0x3F);
    }
    static const unsigned min_cp[] = {0, 0, 0x80, 0x800, 0x10000};
    if (cp < min_cp[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
        return 0;
    return n;
}

void json_or_null(std::string& out, const std::optional<std::string>& v) {
    if (v)
        encode_string(out, *v);
    else
        out += "null";
}

}  // namespace

std::string to_text_column(std::string_view text) {
    std::string out;
    out.reserve(text.size());
    for (size_t i = 0; i < text.size();) {
        const size_t n = utf8_length(text, i);
        if (n == 0) {
            out += "\xEF\xBF\xBD";  // U+FFFD
            // A WTF-8 surrogate is one 3-byte unit; anything else skips one byte.
            const bool surrogate = static_cast<unsigned char>(text[i]) == 0xED &&
                                   i + 2 < text.size() &&
                                   (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0xA0;
            i += surrogate ? 3 : 1;
        } else {
            out.append(text, i, n);
            i += n;
        }
    }
    return out;
}

namespace {

/// to_text_column() that keeps `text` itself when it needs no change: a large body is not
/// copied a second time.
std::string text_column_of(std::string&& text) {
    // Eight ASCII bytes at a time: a migration checks every message's author and body here.
    for (size_t i = 0; i < text.size();) {
        if (text.size() - i >= 8) {
            const uint64_t block = bytes::load8(text.data() + i);
            if (((block & bytes::highs) | bytes::zero_mask(block)) == 0) {
                i += 8;  // no high bit and no NUL: eight one-byte characters
                continue;
            }
        }
        const size_t n = utf8_length(text, i);
        if (n == 0)
            return to_text_column(text);
        i += n;
    }
    return std::move(text);
}

/// The body of a bare string or number element (all of it is body); nullopt for anything else.
std::optional<std::string> bare_body(std::string_view element) {
    const auto first = element.find_first_not_of(" \t\r\n");
    if (first == std::string_view::npos)
        return std::nullopt;
    const char c = element[first];
    // The comment columns and the comment-only rule read bodies: plain text is one.
    if (c == '"')
        return text_column_of(decode_string(element.substr(first)));
    if (c == '-' || (c >= '0' && c <= '9') || c == 't' || c == 'f') {
        const auto last = element.find_last_not_of(" \t\r\n");
        return std::string(element.substr(first, last - first + 1));
    }
    return std::nullopt;
}

}  // namespace

std::optional<std::string> body_of(std::string_view element, const field_names& names) {
    if (auto body = bare_body(element))
        return body;
    return text_member(element, names.body);
}

message_fields extract_fields(std::string_view element, const field_names& names) {
    message_fields f;
    if ((f.body = bare_body(element)))
        return f;
    // One pass over the element for all three: a migration reads every message's.
    const std::string_view keys[] = {names.author, names.body, names.sent_at};
    std::optional<std::string_view> raw[3];
    find_members(element, keys, raw);
    f.author = text_value(raw[0]);
    f.body = text_value(raw[1]);
    if (raw[2])
        f.sent_at_us = parse_timestamp_json(*raw[2]);
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
        if (i)
            out += ',';
        out += elements[i];
    }
    out += ']';
    return out;
}

namespace {

/// SHA-256 fetched once and a digest context per thread: EVP_Digest() looked the algorithm up
/// under a lock and allocated a context for every message (a tenth of verify's time).
EVP_MD_CTX* sha256_context() {
    static EVP_MD* const md = EVP_MD_fetch(nullptr, "SHA256", nullptr);
    thread_local const std::unique_ptr<EVP_MD_CTX, decltype(&EVP_MD_CTX_free)> ctx(EVP_MD_CTX_new(),
                                                                                   EVP_MD_CTX_free);
    if (!md || !ctx || EVP_DigestInit_ex(ctx.get(), md, nullptr) != 1)
        return nullptr;
    return ctx.get();
}

}  // namespace

std::string identity_of_element(std::string_view element) {
    const std::string form = canonical(element);
    unsigned char digest[EVP_MAX_MD_SIZE];
    unsigned int size = 0;
    EVP_MD_CTX* ctx = sha256_context();
    if (!ctx || EVP_DigestUpdate(ctx, form.data(), form.size()) != 1 ||
        EVP_DigestFinal_ex(ctx, digest, &size) != 1)
        throw std::runtime_error("computing a message identity failed: SHA-256 is unavailable");
    return std::string(reinterpret_cast<const char*>(digest), size);
}

const char* to_string(message_source source) {
    switch (source) {
        case message_source::migration:
            return "migration";
        case message_source::legacy:
            return "legacy";
        case message_source::backup:
            return "backup";
        case message_source::unparseable:
            return "unparseable";
        case message_source::app:
            break;
    }
    return "app";
}

std::string unparseable_element(const std::string& raw, const field_names& fields) {
    return render_element(std::string(system_author), raw, std::nullopt, fields);
}

std::vector<std::string> value_identities(const std::optional<std::string>& text,
                                          const field_names& fields) {
    std::vector<std::string> ids;
    if (!text)
        return ids;
    const auto split = split_value(*text);
    if (split.kind == value_kind::unparseable) {
        ids.push_back(identity_of_element(unparseable_element(*text, fields)));
        return ids;
    }
    ids.reserve(split.elements.size());
    for (auto e : split.elements) ids.push_back(identity_of_element(e));
    return ids;
}

void for_each_value_identity(const std::optional<std::string>& text, const field_names& fields,
                             const std::function<void(std::string)>& f) {
    if (!text)
        return;
    const auto split = split_value(*text);
    if (split.kind == value_kind::unparseable) {
        f(identity_of_element(unparseable_element(*text, fields)));
        return;
    }
    for (auto e : split.elements) f(identity_of_element(e));
}

std::string stored_identity(const std::optional<std::string>& payload,
                            const std::optional<std::string>& author,
                            const std::optional<std::string>& body,
                            std::optional<int64_t> sent_at_us, const field_names& fields) {
    // A payload that is not valid JSON cannot be stored (the column is json); if one ever were,
    // rendering still gives it a stable identity.
    if (payload && is_valid_json(*payload))
        return identity_of_element(*payload);
    return identity_of_element(render_element(author, body, sent_at_us, fields));
}

std::vector<size_t> elements_to_append(const std::vector<std::string>& identities,
                                       const identity_counts& ledger) {
    std::vector<size_t> out;
    identity_counts seen;
    for (size_t i = 0; i < identities.size(); ++i) {
        const long long k = ++seen[identities[i]];
        auto it = ledger.find(identities[i]);
        if (k > (it == ledger.end() ? 0 : it->second))
            out.push_back(i);
    }
    return out;
}

}  // namespace chatledger::core

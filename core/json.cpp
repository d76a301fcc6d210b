// A small, strict JSON scanner and canonicalizer for legacy chat histories.
// Written here rather than taken from a library because we need each element's exact bytes
// and acceptance of lone surrogates, which RapidJSON and simdjson reject.
#include "core/json.hpp"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

namespace chatledger::core {

namespace {

using iter = const char*;

bool is_ws(char c) {
    return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

iter skip_ws(iter p, iter e) {
    while (p < e && is_ws(*p)) ++p;
    return p;
}

int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    if (c >= 'A' && c <= 'F')
        return c - 'A' + 10;
    return -1;
}

/// Skips a string token starting at its opening quote; nullptr when invalid.
iter skip_string(iter p, iter e) {
    ++p;  // opening quote
    while (p < e) {
        // Fast path over plain bytes: a 1 MB message body is mostly these.
        const unsigned char c = static_cast<unsigned char>(*p);
        if (c == '"')
            return p + 1;
        if (c < 0x20)
            return nullptr;
        if (c == '\\') {
            if (p + 1 >= e)
                return nullptr;
            const char x = p[1];
            if (x == 'u') {
                if (p + 6 > e)
                    return nullptr;
                for (int i = 2; i < 6; ++i)
                    if (hex_value(p[i]) < 0)
                        return nullptr;
                p += 6;
                continue;
            }
            if (std::strchr("\"\\/bfnrt", x) == nullptr || x == '\0')
                return nullptr;
            p += 2;
            continue;
        }
        ++p;
    }
    return nullptr;
}

iter skip_digits(iter p, iter e) {
    while (p < e && *p >= '0' && *p <= '9') ++p;
    return p;
}

/// Skips a number token; nullptr when invalid.
iter skip_number(iter p, iter e) {
    if (p < e && *p == '-')
        ++p;
    if (p >= e)
        return nullptr;
    if (*p == '0') {
        ++p;
    } else if (*p >= '1' && *p <= '9') {
        p = skip_digits(p, e);
    } else {
        return nullptr;
    }
    if (p < e && *p == '.') {
        iter q = skip_digits(p + 1, e);
        if (q == p + 1)
            return nullptr;
        p = q;
    }
    if (p < e && (*p == 'e' || *p == 'E')) {
        ++p;
        if (p < e && (*p == '+' || *p == '-'))
            ++p;
        iter q = skip_digits(p, e);
        if (q == p)
            return nullptr;
        p = q;
    }
    return p;
}

iter skip_literal(iter p, iter e, std::string_view word) {
    if (static_cast<size_t>(e - p) < word.size() || std::memcmp(p, word.data(), word.size()) != 0)
        return nullptr;
    return p + word.size();
}

/// Skips an object member's key, its colon and the whitespace after; nullptr when invalid.
iter skip_key(iter p, iter e) {
    if (p >= e || *p != '"')
        return nullptr;
    p = skip_string(p, e);
    if (!p)
        return nullptr;
    p = skip_ws(p, e);
    if (p >= e || *p != ':')
        return nullptr;
    return skip_ws(p + 1, e);
}

/// Skips one JSON value starting at p (no leading whitespace); nullptr when invalid.
/// Iterative with an explicit stack, so hostile nesting cannot overflow the call stack.
iter skip_value(iter p, iter e) {
    std::vector<char> stack;  // '[' or '{' per open container
    while (true) {
        // Parse one value start.
        if (p >= e)
            return nullptr;
        bool opened = false;
        switch (*p) {
            case '"':
                p = skip_string(p, e);
                break;
            case '{':
            case '[': {
                if (static_cast<int>(stack.size()) >= max_depth)
                    return nullptr;
                const char open = *p;
                stack.push_back(open);
                p = skip_ws(p + 1, e);
                if (p < e && *p == (open == '[' ? ']' : '}')) {
                    stack.pop_back();
                    ++p;
                    break;
                }
                if (open == '{' && !(p = skip_key(p, e)))
                    return nullptr;
                opened = true;
                break;
            }
            case 't':
                p = skip_literal(p, e, "true");
                break;
            case 'f':
                p = skip_literal(p, e, "false");
                break;
            case 'n':
                p = skip_literal(p, e, "null");
                break;
            default:
                p = skip_number(p, e);
                break;
        }
        if (!p)
            return nullptr;
        if (opened)
            continue;  // the container's first value comes next
        // After a complete value: close containers or move to the next member.
        while (true) {
            if (stack.empty())
                return p;
            p = skip_ws(p, e);
            if (p >= e)
                return nullptr;
            const char top = stack.back();
            if (*p == ',') {
                p = skip_ws(p + 1, e);
                if (top == '{' && !(p = skip_key(p, e)))
                    return nullptr;
                break;  // parse the next value
            }
            if (*p == (top == '[' ? ']' : '}')) {
                stack.pop_back();
                ++p;
                continue;
            }
            return nullptr;
        }
    }
}

void append_utf8(std::string& out, unsigned cp) {
    if (cp < 0x80) {
        out += static_cast<char>(cp);
    } else if (cp < 0x800) {
        out += static_cast<char>(0xC0 | (cp >> 6));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else if (cp < 0x10000) {
        out += static_cast<char>(0xE0 | (cp >> 12));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    } else {
        out += static_cast<char>(0xF0 | (cp >> 18));
        out += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
        out += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
        out += static_cast<char>(0x80 | (cp & 0x3F));
    }
}

unsigned read_hex4(iter p) {
    unsigned v = 0;
    for (int i = 0; i < 4; ++i) v = v * 16 + static_cast<unsigned>(hex_value(p[i]));
    return v;
}

/// Decodes the string token at p (validated) into out; returns the position after it.
iter decode_string_at(iter p, iter e, std::string& out) {
    ++p;
    while (p < e) {
        iter run = p;
        while (p < e && *p != '"' && *p != '\\') ++p;
        out.append(run, p);
        if (p >= e)
            break;
        if (*p == '"')
            return p + 1;
        const char x = p[1];
        p += 2;
        switch (x) {
            case 'b':
                out += '\b';
                break;
            case 'f':
                out += '\f';
                break;
            case 'n':
                out += '\n';
                break;
            case 'r':
                out += '\r';
                break;
            case 't':
                out += '\t';
                break;
            case 'u': {
                unsigned cp = read_hex4(p);
                p += 4;
                if (cp >= 0xD800 && cp <= 0xDBFF && e - p >= 6 && p[0] == '\\' && p[1] == 'u') {
                    unsigned lo = read_hex4(p + 2);
                    if (lo >= 0xDC00 && lo <= 0xDFFF) {
                        cp = 0x10000 + ((cp - 0xD800) << 10) + (lo - 0xDC00);
                        p += 6;
                    }
                }
                // A lone surrogate stays a 3-byte WTF-8 sequence; encode_string escapes it back.
                append_utf8(out, cp);
                break;
            }
            default:
                out += x;
                break;  // \" \\ \/
        }
    }
    throw std::invalid_argument("unterminated JSON string");
}

void canonical_at(iter& p, iter e, std::string& out, int depth);

void canonical_number(iter& p, iter e, std::string& out) {
    const iter start = p;
    p = skip_number(p, e);
    double v = 0;
    if (std::from_chars(start, p, v).ec == std::errc::result_out_of_range) {
        // from_chars leaves v untouched then; strtod gives +-HUGE_VAL on overflow, 0 on underflow.
        v = std::strtod(std::string(start, p).c_str(), nullptr);
    }
    if (!std::isfinite(v)) {
        out += "null";  // JSON.stringify writes an infinite number as null
        return;
    }
    if (v == 0)
        v = 0;  // -0 prints as 0, as JSON.stringify does
    char buf[32];
    out.append(buf, std::to_chars(buf, buf + sizeof buf, v).ptr);
}

void canonical_array(iter& p, iter e, std::string& out, int depth) {
    p = skip_ws(p + 1, e);
    out += '[';
    if (*p == ']') {
        ++p;
        out += ']';
        return;
    }
    while (true) {
        canonical_at(p, e, out, depth + 1);
        p = skip_ws(p, e);
        if (*p != ',')
            break;
        out += ',';
        ++p;
    }
    ++p;  // ']'
    out += ']';
}

void canonical_object(iter& p, iter e, std::string& out, int depth) {
    std::map<std::string, std::string> members;  // sorted, last duplicate wins
    p = skip_ws(p + 1, e);
    while (*p != '}') {
        p = skip_ws(p, e);
        std::string key;
        p = decode_string_at(p, e, key);
        p = skip_ws(p, e) + 1;  // ':'
        std::string value;
        canonical_at(p, e, value, depth + 1);
        members[std::move(key)] = std::move(value);
        p = skip_ws(p, e);
        if (*p == ',')
            ++p;
    }
    ++p;  // '}'
    out += '{';
    bool first = true;
    for (const auto& [k, v] : members) {
        if (!first)
            out += ',';
        first = false;
        encode_string(out, k);
        out += ':';
        out += v;
    }
    out += '}';
}

void canonical_at(iter& p, iter e, std::string& out, int depth) {
    p = skip_ws(p, e);
    if (p >= e)
        throw std::invalid_argument("invalid JSON");
    if (depth > max_depth)
        throw std::invalid_argument("JSON nested too deeply");
    switch (*p) {
        case '"': {
            std::string s;
            p = decode_string_at(p, e, s);
            encode_string(out, s);
            return;
        }
        case '[':
            canonical_array(p, e, out, depth);
            return;
        case '{':
            canonical_object(p, e, out, depth);
            return;
        case 't':
            p += 4;
            out += "true";
            return;
        case 'f':
            p += 5;
            out += "false";
            return;
        case 'n':
            p += 4;
            out += "null";
            return;
        default:
            canonical_number(p, e, out);
            return;
    }
}

}  // namespace

split_result split_value(std::string_view text) {
    split_result r;
    iter p = text.data(), e = text.data() + text.size();
    p = skip_ws(p, e);
    if (p == e)
        return r;  // empty or blank
    if (*p != '[') {
        r.kind = value_kind::unparseable;
        return r;
    }
    p = skip_ws(p + 1, e);
    if (p < e && *p == ']') {
        r.kind = skip_ws(p + 1, e) == e ? value_kind::empty : value_kind::unparseable;
        return r;
    }
    while (true) {
        iter start = p;
        iter end = skip_value(p, e);
        if (!end) {
            r.elements.clear();
            r.kind = value_kind::unparseable;
            return r;
        }
        r.elements.emplace_back(start, static_cast<size_t>(end - start));
        p = skip_ws(end, e);
        if (p < e && *p == ',') {
            p = skip_ws(p + 1, e);
            continue;
        }
        if (p < e && *p == ']' && skip_ws(p + 1, e) == e) {
            r.kind = value_kind::array;
            return r;
        }
        r.elements.clear();
        r.kind = value_kind::unparseable;
        return r;
    }
}

bool is_valid_json(std::string_view text) {
    iter p = skip_ws(text.data(), text.data() + text.size());
    iter e = text.data() + text.size();
    iter end = skip_value(p, e);
    return end && skip_ws(end, e) == e;
}

std::string canonical(std::string_view value) {
    if (!is_valid_json(value))
        throw std::invalid_argument("invalid JSON value");
    std::string out;
    out.reserve(value.size());
    iter p = value.data();
    canonical_at(p, value.data() + value.size(), out, 0);
    return out;
}

std::string decode_string(std::string_view token) {
    iter p = token.data(), e = token.data() + token.size();
    if (p >= e || *p != '"' || skip_string(p, e) != e)
        throw std::invalid_argument("not a JSON string token");
    std::string out;
    decode_string_at(p, e, out);
    return out;
}

std::string json_string(std::string_view text) {
    std::string out;
    encode_string(out, text);
    return out;
}

void encode_string(std::string& out, std::string_view text) {
    static const char hex[] = "0123456789abcdef";
    out += '"';
    const size_t n = text.size();
    for (size_t i = 0; i < n; ++i) {
        const unsigned char c = static_cast<unsigned char>(text[i]);
        switch (c) {
            case '"':
                out += "\\\"";
                continue;
            case '\\':
                out += "\\\\";
                continue;
            case '\b':
                out += "\\b";
                continue;
            case '\f':
                out += "\\f";
                continue;
            case '\n':
                out += "\\n";
                continue;
            case '\r':
                out += "\\r";
                continue;
            case '\t':
                out += "\\t";
                continue;
            default:
                break;
        }
        if (c < 0x20) {
            out += "\\u00";
            out += hex[c >> 4];
            out += hex[c & 15];
        } else if (c == 0xED && i + 2 < n &&
                   (static_cast<unsigned char>(text[i + 1]) & 0xE0) == 0xA0) {
            // A WTF-8 lone surrogate: write it back as the escape it came from.
            unsigned cp = ((c & 0x0F) << 12) |
                          ((static_cast<unsigned char>(text[i + 1]) & 0x3F) << 6) |
                          (static_cast<unsigned char>(text[i + 2]) & 0x3F);
            out += "\\u";
            out += hex[(cp >> 12) & 15];
            out += hex[(cp >> 8) & 15];
            out += hex[(cp >> 4) & 15];
            out += hex[cp & 15];
            i += 2;
        } else {
            out += static_cast<char>(c);
        }
    }
    out += '"';
}

std::optional<std::string_view> find_member(std::string_view object, std::string_view key) {
    iter p = object.data(), e = object.data() + object.size();
    p = skip_ws(p, e);
    if (p >= e || *p != '{')
        return std::nullopt;
    p = skip_ws(p + 1, e);
    std::optional<std::string_view> found;
    if (p < e && *p == '}')
        return found;
    std::string decoded;
    while (p < e) {
        iter key_end = skip_string(p, e);
        if (!key_end)
            return std::nullopt;
        std::string_view raw(p + 1, static_cast<size_t>(key_end - p - 2));
        bool match;
        if (raw.find('\\') == std::string_view::npos) {
            match = raw == key;
        } else {
            decoded.clear();
            decode_string_at(p, key_end, decoded);
            match = decoded == key;
        }
        p = skip_ws(key_end, e);
        if (p >= e || *p != ':')
            return std::nullopt;
        p = skip_ws(p + 1, e);
        iter value_end = skip_value(p, e);
        if (!value_end)
            return std::nullopt;
        if (match)
            found = std::string_view(p, static_cast<size_t>(value_end - p));
        p = skip_ws(value_end, e);
        if (p < e && *p == ',') {
            p = skip_ws(p + 1, e);
            continue;
        }
        break;
    }
    return found;
}

}  // namespace chatledger::core

// A small, strict JSON scanner and canonicalizer for legacy chat histories.
// Written here rather than taken from a library because we need each element's exact bytes
// and acceptance of lone surrogates, which RapidJSON and simdjson reject.
#include "core/json.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <map>
#include <stdexcept>

#include "core/bytes.hpp"

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

/// Whether any of the 8 bytes in `v` is a quote, a backslash or a control character.
constexpr bool has_string_special(uint64_t v) {
    using namespace bytes;
    return (less_mask(v, 0x20) | zero_mask(v ^ (ones * '"')) | zero_mask(v ^ (ones * '\\'))) != 0;
}

/// Skips a string token starting at its opening quote; nullptr when invalid.
iter skip_string(iter p, iter e) {
    ++p;  // opening quote
    while (p < e) {
        // Eight plain bytes at a time: every message's text is scanned here, a migration's
        // millions of them included.
        while (e - p >= 8 && !has_string_special(bytes::load8(p))) p += 8;
        if (p == e)
            break;
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

/// `magnitude` (decimal digits, no sign) plus `delta`, for a result known to stay positive.
std::string add_small(std::string magnitude, long long delta) {
    const bool sub = delta < 0;
    unsigned long long carry = sub ? 0ULL - static_cast<unsigned long long>(delta)
                                   : static_cast<unsigned long long>(delta);
    for (size_t i = magnitude.size(); i-- > 0 && carry > 0;) {
        const unsigned d = static_cast<unsigned>(magnitude[i] - '0');
        const unsigned c = static_cast<unsigned>(carry % 10);
        carry /= 10;
        if (!sub) {
            const unsigned v = d + c;
            magnitude[i] = static_cast<char>('0' + v % 10);
            carry += v / 10;
        } else if (d >= c) {
            magnitude[i] = static_cast<char>('0' + d - c);
        } else {
            magnitude[i] = static_cast<char>('0' + d + 10 - c);
            carry += 1;
        }
    }
    if (carry > 0)
        magnitude.insert(0, std::to_string(carry));
    const size_t nz = magnitude.find_first_not_of('0');
    return nz == std::string::npos ? "0" : magnitude.substr(nz);
}

/// The exact decimal value of a valid JSON number, one way: significant digits without leading
/// or trailing zeros, then the power of ten as `e<n>` when it is not 0; zero is "0". So 1, 1.0
/// and 10e-1 are one value, and 9007199254740993 is not 9007199254740992, whatever a double
/// would round them to. The exponent is kept as text: a JSON exponent has no size limit.
void canonical_number(iter& p, iter e, std::string& out) {
    const iter start = p;
    p = skip_number(p, e);
    iter q = start;
    const bool negative = *q == '-';
    if (negative)
        ++q;
    std::string digits;
    long long scale = 0;  // value = digits * 10^(exponent + scale)
    while (q < p && *q >= '0' && *q <= '9') digits += *q++;
    if (q < p && *q == '.')
        for (++q; q < p && *q >= '0' && *q <= '9'; ++q, --scale) digits += *q;
    bool exp_negative = false;
    std::string exponent = "0";
    if (q < p && (*q == 'e' || *q == 'E')) {
        ++q;
        if (*q == '+' || *q == '-')
            exp_negative = *q++ == '-';
        // Without its leading zeros: 1E000000000000000000000 is 1, and its canonical form must
        // be what 1e0 and 1 give (the fuzzer found `1e0`, not canonical itself).
        while (q + 1 < p && *q == '0') ++q;
        exponent.assign(q, p);
    }
    const size_t first = digits.find_first_not_of('0');
    if (first == std::string::npos) {
        out += '0';  // -0, 0.000 and 0e7 are all zero
        return;
    }
    digits.erase(0, first);
    while (digits.back() == '0') {
        digits.pop_back();
        ++scale;
    }
    // exponent + scale, with the exponent's sign: add_small on the magnitude keeps its sign
    // unless the sum crosses zero, which only a short exponent can do.
    std::string power;
    if (exponent.size() <= 17) {
        const long long x = std::stoll(exponent) * (exp_negative ? -1 : 1) + scale;
        if (x != 0)
            power = std::to_string(x);
    } else {
        power = add_small(exponent, exp_negative ? -scale : scale);
        if (power == "0")
            power.clear();
        else if (exp_negative)
            power.insert(0, 1, '-');
    }
    if (negative)
        out += '-';
    out += digits;
    if (!power.empty()) {
        out += 'e';
        out += power;
    }
}

/// One JSON value while canonicalizing: a scalar's canonical text, or a container's children.
/// Values form a tree in one vector, so the text is written once at the end: building strings
/// level by level would copy a deeply nested value once per level.
struct json_node {
    bool object = false, array = false;
    std::string text;                                     ///< scalar: its canonical text
    std::vector<std::pair<std::string, size_t>> members;  ///< object: decoded key, child node
    std::vector<size_t> items;                            ///< array: child nodes in order
};

/// Parses the valid JSON value at p into `nodes` (iteratively, any depth); returns the root.
size_t parse_tree(iter p, iter e, std::vector<json_node>& nodes) {
    std::vector<size_t> open;  // containers being filled
    std::string pending_key;   // the key of the member whose value comes next
    auto attach = [&](size_t child, const std::string& key) {
        if (open.empty())
            return;
        auto& parent = nodes[open.back()];
        if (parent.object)
            parent.members.emplace_back(key, child);
        else
            parent.items.push_back(child);
    };
    auto read_key = [&](iter q) {
        pending_key.clear();  // decode_string_at appends
        q = decode_string_at(skip_ws(q, e), e, pending_key);
        return skip_ws(q, e) + 1;  // ':'
    };
    size_t root = 0;
    while (true) {
        p = skip_ws(p, e);
        const size_t index = nodes.size();
        nodes.emplace_back();
        // Only an object's member needs its key; an array element or the root does not.
        const std::string key = !open.empty() && nodes[open.back()].object ? pending_key : "";
        if (*p == '[' || *p == '{') {
            const bool object = *p == '{';
            nodes[index].object = object;
            nodes[index].array = !object;
            attach(index, key);
            p = skip_ws(p + 1, e);
            if (*p != (object ? '}' : ']')) {
                open.push_back(index);
                if (object)
                    p = read_key(p);
                continue;  // the container's first value comes next
            }
            ++p;  // empty: complete at once
        } else {
            auto& text = nodes[index].text;
            if (*p == '"') {
                std::string s;
                p = decode_string_at(p, e, s);
                text.reserve(s.size() + 2);  // no doubling: a string can be a 50 MB message
                encode_string(text, s);
            } else if (*p == 't' || *p == 'f' || *p == 'n') {
                text = *p == 't' ? "true" : *p == 'f' ? "false" : "null";
                p += static_cast<std::ptrdiff_t>(text.size());
            } else {
                canonical_number(p, e, text);
            }
            attach(index, key);
        }
        if (open.empty())
            return index;
        // A complete value: move to the next member, closing every container it completes.
        while (true) {
            p = skip_ws(p, e);
            if (*p == ',') {
                p = nodes[open.back()].object ? read_key(p + 1) : p + 1;
                break;
            }
            ++p;  // ']' or '}'
            root = open.back();
            open.pop_back();
            if (open.empty())
                return root;
        }
    }
}

/// Writes the tree's canonical text: keys sorted by their decoded bytes, the last of a
/// repeated key kept. Iterative, like the parse.
std::string emit_tree(std::vector<json_node>& nodes, size_t root, size_t size_hint) {
    std::string out;
    // The canonical text is about as long as the input: one allocation, where growing by
    // doubling held up to three times a large value at once.
    out.reserve(size_hint);
    struct frame {
        size_t node;
        size_t next = 0;  ///< the next child to write
    };
    std::vector<frame> stack;
    auto start = [&](size_t n) {
        auto& node = nodes[n];
        if (!node.object && !node.array) {
            out += node.text;
            return;
        }
        if (node.object) {
            // Stable: equal keys keep their order, and the last of them is the one kept.
            std::stable_sort(node.members.begin(), node.members.end(),
                             [](const auto& a, const auto& b) { return a.first < b.first; });
            std::vector<std::pair<std::string, size_t>> kept;
            for (auto& m : node.members) {
                if (!kept.empty() && kept.back().first == m.first)
                    kept.back() = std::move(m);
                else
                    kept.push_back(std::move(m));
            }
            node.members = std::move(kept);
        }
        out += node.object ? '{' : '[';
        stack.push_back({n});
    };
    start(root);
    while (!stack.empty()) {
        auto& f = stack.back();
        auto& node = nodes[f.node];
        const size_t count = node.object ? node.members.size() : node.items.size();
        if (f.next == count) {
            out += node.object ? '}' : ']';
            stack.pop_back();
            continue;
        }
        if (f.next > 0)
            out += ',';
        size_t child;
        if (node.object) {
            encode_string(out, node.members[f.next].first);
            out += ':';
            child = node.members[f.next].second;
        } else {
            child = node.items[f.next];
        }
        ++f.next;
        start(child);  // may push: `f` and `node` are not used after this
    }
    return out;
}

/// The canonical form of the valid JSON value at p, in time linear in its size (plus sorting
/// keys) whatever its depth.
std::string canonical_value(iter p, iter e) {
    std::vector<json_node> nodes;
    const size_t root = parse_tree(p, e, nodes);
    return emit_tree(nodes, root, static_cast<size_t>(e - p));
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
    return canonical_value(value.data(), value.data() + value.size());
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
    std::optional<std::string_view> found;
    find_members(object, {&key, 1}, {&found, 1});
    return found;
}

void find_members(std::string_view object, std::span<const std::string_view> keys,
                  std::span<std::optional<std::string_view>> found) {
    std::fill(found.begin(), found.end(), std::nullopt);
    iter p = object.data(), e = object.data() + object.size();
    p = skip_ws(p, e);
    if (p >= e || *p != '{')
        return;
    p = skip_ws(p + 1, e);
    if (p < e && *p == '}')
        return;
    // Until the whole object has been read it may still turn out invalid: nothing found then.
    const auto invalid = [&] { std::fill(found.begin(), found.end(), std::nullopt); };
    std::string decoded;
    while (p < e) {
        iter key_end = skip_string(p, e);
        if (!key_end)
            return invalid();
        std::string_view raw(p + 1, static_cast<size_t>(key_end - p - 2));
        if (raw.find('\\') != std::string_view::npos) {
            decoded.clear();
            decode_string_at(p, key_end, decoded);
            raw = decoded;
        }
        const auto match = std::find(keys.begin(), keys.end(), raw);
        p = skip_ws(key_end, e);
        if (p >= e || *p != ':')
            return invalid();
        p = skip_ws(p + 1, e);
        iter value_end = skip_value(p, e);
        if (!value_end)
            return invalid();
        // The last one when repeated; every key equal to it (names may coincide).
        for (size_t i = static_cast<size_t>(match - keys.begin()); i < keys.size(); ++i)
            if (keys[i] == raw)
                found[i] = std::string_view(p, static_cast<size_t>(value_end - p));
        p = skip_ws(value_end, e);
        if (p < e && *p == ',') {
            p = skip_ws(p + 1, e);
            continue;
        }
        break;
    }
}

}  // namespace chatledger::core

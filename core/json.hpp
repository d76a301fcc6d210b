// The legacy JSON codec: validates a legacy history value, splits an array into its elements'
// exact text, and gives each JSON value one canonical form that serves as its identity.
#pragma once

#include <optional>
#include <span>
#include <string>
#include <string_view>
#include <vector>

namespace chatledger::core {

/// How a legacy history value reads (NULL is the caller's business).
enum class value_kind {
    empty,        ///< "", all whitespace, or an array without elements: no messages
    array,        ///< a JSON array with at least one element
    unparseable,  ///< anything else: invalid JSON, or valid JSON that is not an array
};

/// A classified legacy value; `elements` point into the text that was split.
struct split_result {
    value_kind kind = value_kind::empty;
    std::vector<std::string_view> elements;  ///< each element exactly as written, trimmed
};

/// Classifies `text` and, for an array, returns its elements' exact text in order.
///
/// Validity follows PostgreSQL's `json` input (RFC 8259): lone surrogate escapes and \u0000 are
/// accepted, as JavaScript's JSON.parse accepts them; trailing commas, NaN, comments, leading
/// zeros and raw control characters in strings are not.
split_result split_value(std::string_view text);

/// True when `text` is exactly one valid JSON value, whitespace around it allowed.
bool is_valid_json(std::string_view text);

/// The canonical form of one valid JSON value: what JSON.parse followed by JSON.stringify would
/// agree on, except that numbers keep their exact decimal value. Object keys sorted by their
/// decoded UTF-8 bytes, a repeated key keeps its last value, no whitespace, numbers as their
/// exact value one way (1.0 and 1 are one number, -0 is 0, 1e400 and -1e400 are two, and
/// 9007199254740993 is not 9007199254740992), strings decoded and re-escaped one way; no
/// nesting limit. Throws std::invalid_argument for invalid JSON.
std::string canonical(std::string_view value);

/// Decodes a JSON string token (with its quotes) into UTF-8; a lone surrogate escape becomes
/// its 3-byte WTF-8 form, \u0000 a NUL byte. Throws std::invalid_argument if not a string token.
std::string decode_string(std::string_view token);

/// Appends `text` as a JSON string literal in canonical escaping (see canonical()). The one
/// JSON string encoder of chatledger: log lines and reports use it too.
void encode_string(std::string& out, std::string_view text);

/// `text` as a JSON string literal (encode_string into a new string).
std::string json_string(std::string_view text);

/// The raw text of member `key` of a JSON object (the last one when repeated), or nullopt when
/// `object` is not an object or has no such member.
std::optional<std::string_view> find_member(std::string_view object, std::string_view key);

/// find_member() for several keys in one pass over `object`: found[i] for keys[i].
void find_members(std::string_view object, std::span<const std::string_view> keys,
                  std::span<std::optional<std::string_view>> found);

}  // namespace chatledger::core

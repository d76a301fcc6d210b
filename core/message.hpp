// The message model shared by the migrator and the daemon: fields of a legacy element, the
// element a ledger row renders to, message identity and the ingest rule, all without a database.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

namespace chatledger::core {

/// Where a ledger row came from (chat_messages.source).
enum class message_source {
    migration,    ///< an element of a legacy value, migrated by `run`
    legacy,       ///< an element or comment of a captured legacy write
    backup,       ///< recovered from the old system's backup table
    unparseable,  ///< a whole legacy value that is not a JSON array
    app,          ///< appended by an application
};

/// The value stored in chat_messages.source.
const char* to_string(message_source source);

/// Keys of one message object in the legacy JSON array (legacy.fields in the config).
struct field_names {
    std::string author = "sender";
    std::string body = "message";
    std::string sent_at = "timestamp";
};

/// What a legacy element says about its message.
///
/// author and body are valid UTF-8 without NUL, as a PostgreSQL text column requires: a \u0000
/// or a lone surrogate in the JSON becomes U+FFFD here. The payload keeps the exact original.
struct message_fields {
    std::optional<std::string> author;  ///< decoded string, or raw JSON text of another kind
    std::optional<std::string> body;    ///< likewise
    std::optional<int64_t> sent_at_us;  ///< nullopt when missing or not a parseable timestamp
};

/// Makes `text` storable in a text column: NUL bytes, UTF-16 surrogates and invalid UTF-8
/// sequences become U+FFFD; everything else is unchanged.
std::string to_text_column(std::string_view text);

/// Reads author, body and sent_at from an object element; missing members give nullopt.
///
/// An element that is a bare string or number (an early dashboard stored plain text) is all
/// body: the decoded string or the number's text, with no author or time. `null`, arrays and
/// objects without the body member have no body.
message_fields extract_fields(std::string_view element, const field_names& names);

/// Only the body of extract_fields(), for scans that compare bodies and nothing else.
std::optional<std::string> body_of(std::string_view element, const field_names& names);

/// The legacy element a ledger row renders to: `{"sender":..,"message":..,"timestamp":..}` in
/// the configured names, NULLs as JSON null, sent_at as YYYY-MM-DDTHH:MM:SS.mmmZ.
std::string render_element(const std::optional<std::string>& author,
                           const std::optional<std::string>& body,
                           std::optional<int64_t> sent_at_us, const field_names& names);

/// A legacy array: `[e1,e2,...]` with each element's text unchanged.
std::string render_array(const std::vector<std::string_view>& elements);

/// A message's identity: the SHA-256 digest (32 bytes) of the canonical form of its JSON value
/// (see json.hpp). A digest, not the form itself: a sync holds one identity per message of a
/// conversation several times over, and the canonical form is often larger than the element.
std::string identity_of_element(std::string_view element);

/// How many messages of each identity one conversation holds.
using identity_counts = std::unordered_map<std::string, long long>;

/// Author of the one row a value that is not a JSON array becomes.
inline constexpr const char* system_author = "system";

/// The element the one row of an unparseable value renders to; its identity is the value's.
std::string unparseable_element(const std::string& raw, const field_names& fields);

/// Identities of a legacy value's messages in array order: canonical elements, or for a value
/// that is not a JSON array the identity of the one `unparseable` row it becomes.
std::vector<std::string> value_identities(const std::optional<std::string>& text,
                                          const field_names& fields);

/// value_identities() one at a time: `f` gets each identity in array order, so a large value's
/// identities are never all held at once.
void for_each_value_identity(const std::optional<std::string>& text, const field_names& fields,
                             const std::function<void(std::string)>& f);

/// Identity of a stored message: its payload's canonical form, or, without a payload (an
/// application's append, an unparseable value), the element it renders to, so writing the
/// rendered column back adds nothing.
std::string stored_identity(const std::optional<std::string>& payload,
                            const std::optional<std::string>& author,
                            const std::optional<std::string>& body,
                            std::optional<int64_t> sent_at_us, const field_names& fields);

/// The ingest rule: indexes of the elements to append, in array order.
///
/// For each identity the array holds n times and the ledger c times, the occurrences after the
/// first c are appended: a message that legitimately repeats stays repeated, and an array that
/// was only re-serialized adds nothing. `ledger` is not changed.
std::vector<size_t> elements_to_append(const std::vector<std::string>& identities,
                                       const identity_counts& ledger);

}  // namespace chatledger::core

// Message timestamps: parsing the forms legacy writers used, and the two output forms
// chatledger writes (the legacy rendering and PostgreSQL's timestamptz input).
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace chatledger::core {

/// Parses a timestamp into microseconds since the Unix epoch, or nullopt.
///
/// Accepted: ISO 8601 / RFC 3339 dates and times (`T` or a space between them; a fraction of any
/// length, truncated to microseconds; zone `Z`, `+05:30`, `+0530`, `+05`, or none for UTC; a leap
/// second 60 reads as 59.999999), a date alone (midnight UTC), and epoch numbers as text: seconds,
/// or milliseconds when the magnitude is 1e11 or more (1e11 s is the year 5138). Results outside
/// the years 1 to 9999 are refused.
std::optional<int64_t> parse_timestamp(std::string_view text);

/// Same as parse_timestamp for a raw JSON member value: a string token (quoted) or a number.
std::optional<int64_t> parse_timestamp_json(std::string_view json_value);

/// `YYYY-MM-DDTHH:MM:SS.mmmZ` in UTC, milliseconds truncated: the legacy rendering.
std::string format_iso_ms(int64_t us);

/// `YYYY-MM-DD HH:MM:SS.ffffff+00`: exact timestamptz input for COPY.
std::string format_timestamptz(int64_t us);

}  // namespace chatledger::core

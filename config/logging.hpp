// Logging for both executables: spdlog to stderr as text or JSON lines, with sd-daemon level
// prefixes instead of timestamps when stderr is the journal (JOURNAL_STREAM is set).
#pragma once

#include <spdlog/common.h>

#include <initializer_list>
#include <string>
#include <string_view>
#include <variant>

#include "config/config.hpp"

namespace chatledger {

/// Installs the default logger; throws config_error for an unknown level or format.
void setup_logging(const logging_config& cfg, std::string_view program);

/// Parses trace, debug, info, warn, error, critical or off; throws config_error otherwise.
spdlog::level::level_enum parse_level(const std::string& level);

/// One named figure of a log record (a count, a rate, a key).
struct log_field {
    std::string_view name;
    std::variant<long long, double, std::string_view> value;
};

/// Logs `text`, the line a person reads with the figures in its words. A JSON line carries
/// `msg` instead and each field as a member of its own, so a tool reads counters without
/// parsing words.
void log_with_fields(spdlog::level::level_enum level, std::string_view msg, std::string_view text,
                     std::initializer_list<log_field> fields);

/// `fields` as JSON members, each preceded by a comma (`,"done":5,"rate":1.5`).
std::string json_fields(std::initializer_list<log_field> fields);

/// Formats one record the way setup_logging() prints it (exposed for tests). `fields` (from
/// json_fields()) and `msg` replace `message` in a JSON line; a text line shows `message`.
std::string format_log_line(const logging_config& cfg, std::string_view program, bool journal,
                            spdlog::level::level_enum level, std::string_view message,
                            std::chrono::system_clock::time_point when, std::string_view msg = {},
                            std::string_view fields = {});

}  // namespace chatledger

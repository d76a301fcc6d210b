// Logging for both executables: spdlog to stderr as text or JSON lines, with sd-daemon level
// prefixes instead of timestamps when stderr is the journal (JOURNAL_STREAM is set).
#pragma once

#include <spdlog/common.h>

#include <string>
#include <string_view>

#include "config/config.hpp"

namespace chatledger {

/// Installs the default logger; throws config_error for an unknown level or format.
void setup_logging(const logging_config& cfg, std::string_view program);

/// Parses trace, debug, info, warn, error, critical or off; throws config_error otherwise.
spdlog::level::level_enum parse_level(const std::string& level);

/// Formats one record the way setup_logging() prints it (exposed for tests).
std::string format_log_line(const logging_config& cfg, std::string_view program, bool journal,
                            spdlog::level::level_enum level, std::string_view message,
                            std::chrono::system_clock::time_point when);

}  // namespace chatledger

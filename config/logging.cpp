// A custom spdlog formatter: text or JSON lines, journald priority prefixes under systemd.
// Messages never carry conninfo or message bodies; callers log names, counts and keys only.
#include "config/logging.hpp"

#include <spdlog/sinks/stdout_sinks.h>
#include <spdlog/spdlog.h>

#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <ctime>

#include "config/error.hpp"
#include "core/json.hpp"

namespace chatledger {

namespace {

const char* level_name(spdlog::level::level_enum l) {
    switch (l) {
        case spdlog::level::trace:
            return "trace";
        case spdlog::level::debug:
            return "debug";
        case spdlog::level::info:
            return "info";
        case spdlog::level::warn:
            return "warn";
        case spdlog::level::err:
            return "error";
        case spdlog::level::critical:
            return "critical";
        default:
            return "off";
    }
}

/// sd-daemon(3) priority prefixes, so journald stores the right severity.
const char* journal_prefix(spdlog::level::level_enum l) {
    switch (l) {
        case spdlog::level::critical:
            return "<2>";
        case spdlog::level::err:
            return "<3>";
        case spdlog::level::warn:
            return "<4>";
        case spdlog::level::info:
            return "<6>";
        default:
            return "<7>";
    }
}

std::string iso_time(std::chrono::system_clock::time_point when) {
    auto secs = std::chrono::system_clock::to_time_t(when);
    auto ms =
        std::chrono::duration_cast<std::chrono::milliseconds>(when.time_since_epoch()).count() %
        1000;
    std::tm tm{};
    gmtime_r(&secs, &tm);
    char buf[64];
    std::snprintf(buf, sizeof buf, "%04d-%02d-%02dT%02d:%02d:%02d.%03dZ", tm.tm_year + 1900,
                  tm.tm_mon + 1, tm.tm_mday, tm.tm_hour, tm.tm_min, tm.tm_sec,
                  static_cast<int>(ms));
    return buf;
}

/// The fields of the record log_with_fields() is logging on this thread. A thread-local
/// rather than a marker in the text, so no key or value in a message can pose as fields; the
/// loggers are synchronous, so the formatter runs on the logging thread.
struct pending_fields {
    std::string_view text, msg, json;
};
thread_local const pending_fields* pending = nullptr;

class line_formatter final : public spdlog::formatter {
  public:
    line_formatter(logging_config cfg, std::string program, bool journal)
        : cfg_(std::move(cfg)), program_(std::move(program)), journal_(journal) {}

    void format(const spdlog::details::log_msg& msg, spdlog::memory_buf_t& dest) override {
        const std::string_view text(msg.payload.data(), msg.payload.size());
        const bool fields = pending && pending->text == text;
        auto line = format_log_line(cfg_, program_, journal_, msg.level, text, msg.time,
                                    fields ? pending->msg : std::string_view(),
                                    fields ? pending->json : std::string_view());
        dest.append(line.data(), line.data() + line.size());
    }

    std::unique_ptr<spdlog::formatter> clone() const override {
        return std::make_unique<line_formatter>(cfg_, program_, journal_);
    }

  private:
    logging_config cfg_;
    std::string program_;
    bool journal_;
};

}  // namespace

spdlog::level::level_enum parse_level(const std::string& level) {
    for (auto l :
         {spdlog::level::trace, spdlog::level::debug, spdlog::level::info, spdlog::level::warn,
          spdlog::level::err, spdlog::level::critical, spdlog::level::off}) {
        if (level == level_name(l))
            return l;
    }
    throw config_error("unknown log level \"" + level + "\"",
                       "use trace, debug, info, warn, error, critical or off");
}

std::string json_fields(std::initializer_list<log_field> fields) {
    std::string out;
    for (const auto& f : fields) {
        out += ',';
        core::encode_string(out, f.name);
        out += ':';
        if (const auto* i = std::get_if<long long>(&f.value)) {
            out += std::to_string(*i);
        } else if (const auto* d = std::get_if<double>(&f.value)) {
            char buf[32];
            std::snprintf(buf, sizeof buf, "%.3f", std::isfinite(*d) ? *d : 0.0);
            out += buf;
        } else {
            core::encode_string(out, std::get<std::string_view>(f.value));
        }
    }
    return out;
}

void log_with_fields(spdlog::level::level_enum level, std::string_view msg, std::string_view text,
                     std::initializer_list<log_field> fields) {
    const std::string json = json_fields(fields);
    const pending_fields p{text, msg, json};
    pending = &p;
    spdlog::log(level, "{}", text);
    pending = nullptr;
}

std::string format_log_line(const logging_config& cfg, std::string_view program, bool journal,
                            spdlog::level::level_enum level, std::string_view message,
                            std::chrono::system_clock::time_point when, std::string_view msg,
                            std::string_view fields) {
    std::string out;
    if (cfg.format == "json") {
        if (journal)
            out += journal_prefix(level);
        out += "{\"ts\":\"" + iso_time(when) + "\",\"level\":\"" + level_name(level) +
               "\",\"program\":";
        core::encode_string(out, program);
        out += ",\"msg\":";
        core::encode_string(out, msg.empty() ? message : msg);
        out += fields;
        out += "}\n";
        return out;
    }
    if (journal) {
        // journald adds its own timestamp and unit name.
        out += journal_prefix(level);
    } else {
        out += iso_time(when) + " " + level_name(level) + " " + std::string(program) + ": ";
    }
    // One record stays one line, whatever the message holds.
    for (char c : message) out += (c == '\n' || c == '\r') ? ' ' : c;
    out += '\n';
    return out;
}

void setup_logging(const logging_config& cfg, std::string_view program) {
    const auto level = parse_level(cfg.level);
    if (cfg.format != "text" && cfg.format != "json")
        throw config_error("unknown log format \"" + cfg.format + "\"", "use text or json");
    const bool journal = std::getenv("JOURNAL_STREAM") != nullptr;
    auto sink = std::make_shared<spdlog::sinks::stderr_sink_mt>();
    sink->set_formatter(std::make_unique<line_formatter>(cfg, std::string(program), journal));
    auto logger = std::make_shared<spdlog::logger>(std::string(program), sink);
    logger->set_level(level);
    logger->flush_on(spdlog::level::trace);
    spdlog::set_default_logger(logger);
}

}  // namespace chatledger

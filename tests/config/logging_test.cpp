// Unit tests of log line formatting: text, JSON escaping and journald prefixes. No server.
#include "config/logging.hpp"

#include <gtest/gtest.h>

#include "config/error.hpp"

namespace chatledger {
namespace {

const auto when = std::chrono::system_clock::time_point(std::chrono::milliseconds(1709296496123));

TEST(logging, text_lines_have_time_level_and_program) {
    logging_config cfg;
    EXPECT_EQ(format_log_line(cfg, "prog", false, spdlog::level::info, "hello\nworld", when),
              "2024-03-01T12:34:56.123Z info prog: hello world\n");
}

TEST(logging, journald_gets_priority_prefixes_without_time) {
    logging_config cfg;
    EXPECT_EQ(format_log_line(cfg, "prog", true, spdlog::level::err, "bad", when), "<3>bad\n");
    EXPECT_EQ(format_log_line(cfg, "prog", true, spdlog::level::warn, "w", when), "<4>w\n");
    EXPECT_EQ(format_log_line(cfg, "prog", true, spdlog::level::debug, "d", when), "<7>d\n");
}

TEST(logging, json_lines_escape_their_text) {
    logging_config cfg;
    cfg.format = "json";
    EXPECT_EQ(format_log_line(cfg, "p", false, spdlog::level::warn, "a\"b\\c\n\x01", when),
              "{\"ts\":\"2024-03-01T12:34:56.123Z\",\"level\":\"warn\",\"program\":\"p\","
              "\"msg\":\"a\\\"b\\\\c\\n\\u0001\"}\n");
}

TEST(logging, json_lines_carry_counters_as_fields_and_text_lines_as_words) {
    logging_config cfg;
    cfg.format = "json";
    const auto fields = json_fields({{"done", 5LL}, {"rate_per_s", 2.5}, {"key", "a\"b"}});
    EXPECT_EQ(fields, ",\"done\":5,\"rate_per_s\":2.500,\"key\":\"a\\\"b\"");
    EXPECT_EQ(format_log_line(cfg, "p", false, spdlog::level::info, "migrating: 5/9", when,
                              "migrating", fields),
              "{\"ts\":\"2024-03-01T12:34:56.123Z\",\"level\":\"info\",\"program\":\"p\","
              "\"msg\":\"migrating\",\"done\":5,\"rate_per_s\":2.500,\"key\":\"a\\\"b\"}\n");
    cfg.format = "text";
    EXPECT_EQ(format_log_line(cfg, "p", false, spdlog::level::info, "migrating: 5/9", when,
                              "migrating", fields),
              "2024-03-01T12:34:56.123Z info p: migrating: 5/9\n");
}

TEST(logging, levels_parse_and_bad_ones_are_config_errors) {
    EXPECT_EQ(parse_level("debug"), spdlog::level::debug);
    EXPECT_EQ(parse_level("error"), spdlog::level::err);
    try {
        parse_level("verbose");
        ADD_FAILURE() << "an unknown level was accepted";
    } catch (const config_error& e) {
        EXPECT_EQ(e.line(),
                  "unknown log level \"verbose\" HINT: use trace, debug, info, warn, error, "
                  "critical or off");
    }
    logging_config bad;
    bad.format = "xml";
    try {
        setup_logging(bad, "p");
        ADD_FAILURE() << "an unknown format was accepted";
    } catch (const config_error& e) {
        EXPECT_EQ(e.line(), "unknown log format \"xml\" HINT: use text or json");
    }
}

}  // namespace
}  // namespace chatledger

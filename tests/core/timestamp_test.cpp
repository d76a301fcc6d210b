// Unit tests of timestamp parsing and formatting: every accepted form, the rejects, and the
// epoch seconds/milliseconds rule. No server.
#include "core/timestamp.hpp"

#include <gtest/gtest.h>

namespace chatledger::core {
namespace {

constexpr int64_t base = 1709296496LL * 1000000;  // 2024-03-01T12:34:56Z

TEST(parse_timestamp, iso_forms) {
    EXPECT_EQ(parse_timestamp("2024-03-01T12:34:56Z"), base);
    EXPECT_EQ(parse_timestamp("2024-03-01T12:34:56"), base);
    EXPECT_EQ(parse_timestamp("2024-03-01 12:34:56"), base);
    EXPECT_EQ(parse_timestamp("2024-03-01T12:34:56.5Z"), base + 500000);
    EXPECT_EQ(parse_timestamp("2024-03-01T12:34:56.123456789Z"), base + 123456);
    EXPECT_EQ(parse_timestamp("2024-03-01T18:04:56+05:30"), base);
    EXPECT_EQ(parse_timestamp("2024-03-01T04:34:56-0800"), base);
    EXPECT_EQ(parse_timestamp("2024-03-01T17:34:56+05"), base);
    EXPECT_EQ(parse_timestamp("2024-03-01T12:34Z"), base - 56 * 1000000);
    EXPECT_EQ(parse_timestamp("2024-03-01"), base - (12 * 3600 + 34 * 60 + 56) * 1000000LL);
    EXPECT_EQ(parse_timestamp("2016-12-31T23:59:60Z"), 1483228799LL * 1000000 + 999999);
    EXPECT_EQ(parse_timestamp("2024-02-29T00:00:00Z"), 1709164800LL * 1000000);
}

TEST(parse_timestamp, epoch_seconds_and_milliseconds) {
    EXPECT_EQ(parse_timestamp("1709296496"), base);
    EXPECT_EQ(parse_timestamp("1709296496000"), base);
    EXPECT_EQ(parse_timestamp("1709296496.25"), base + 250000);
    EXPECT_EQ(parse_timestamp("0"), 0);
    EXPECT_EQ(parse_timestamp_json("1709296496123"), base + 123000);
    EXPECT_EQ(parse_timestamp_json("\"2024-03-01T12:34:56Z\""), base);
    EXPECT_EQ(parse_timestamp_json("\"1709296496\""), base);
}

TEST(parse_timestamp, rejects) {
    for (const char* t :
         {"", "garbage", "2024-02-30", "2023-02-29", "2024-13-01", "2024-03-01T25:00:00Z",
          "2024-03-01T12:60:00Z", "2024-03-01T12:34:56+25:00", "2024-03-01T12:34:56Q",
          "2024-03-01T12:34:56.Z", "0000-01-01", "1e30", "12abc", "2024/03/01"}) {
        EXPECT_FALSE(parse_timestamp(t)) << t;
    }
    EXPECT_FALSE(parse_timestamp_json("true"));
    EXPECT_FALSE(parse_timestamp_json("null"));
    EXPECT_FALSE(parse_timestamp_json("{\"a\":1}"));
}

TEST(format, legacy_rendering_is_utc_milliseconds) {
    EXPECT_EQ(format_iso_ms(base + 123456), "2024-03-01T12:34:56.123Z");
    EXPECT_EQ(format_iso_ms(0), "1970-01-01T00:00:00.000Z");
    EXPECT_EQ(format_iso_ms(-1), "1969-12-31T23:59:59.999Z");
    EXPECT_EQ(parse_timestamp(format_iso_ms(base + 7000)), base + 7000);
}

TEST(format, timestamptz_input_keeps_microseconds) {
    EXPECT_EQ(format_timestamptz(base + 123456), "2024-03-01 12:34:56.123456+00");
    EXPECT_EQ(format_timestamptz(-62135596800LL * 1000000), "0001-01-01 00:00:00.000000+00");
    EXPECT_EQ(format_timestamptz(-1), "1969-12-31 23:59:59.999999+00");
    EXPECT_EQ(format_timestamptz(253402300799999999LL), "9999-12-31 23:59:59.999999+00");
    // Beyond four-digit years the text widens as before.
    EXPECT_EQ(format_timestamptz(253402300800000000LL), "10000-01-01 00:00:00.000000+00");
}

}  // namespace
}  // namespace chatledger::core

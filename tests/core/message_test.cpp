// Unit tests of the message model: field extraction, rendering and the ingest rule.
// No server.
#include "core/message.hpp"

#include <gtest/gtest.h>

#include <thread>

#include "core/json.hpp"

namespace chatledger::core {
namespace {

std::vector<std::string> ids(std::string_view array) {
    std::vector<std::string> out;
    for (auto e : split_value(array).elements) out.push_back(identity_of_element(e));
    return out;
}

TEST(extract_fields, reads_strings_numbers_and_timestamps) {
    field_names names;
    auto f = extract_fields(
        R"({"sender":"ann","message":"hi \"there\"","timestamp":"2024-03-01T12:34:56Z"})", names);
    EXPECT_EQ(f.author, "ann");
    EXPECT_EQ(f.body, "hi \"there\"");
    EXPECT_EQ(f.sent_at_us, 1709296496LL * 1000000);
    auto g = extract_fields(R"({"sender":null,"message":42,"timestamp":"soon"})", names);
    EXPECT_FALSE(g.author);
    EXPECT_EQ(g.body, "42");
    EXPECT_FALSE(g.sent_at_us);
    // A bare string or number is all body; null, arrays and bodiless objects have none.
    auto h = extract_fields("\"just \\u00e9 text\"", names);
    EXPECT_EQ(h.body, "just \xC3\xA9 text");
    EXPECT_FALSE(h.author || h.sent_at_us);
    EXPECT_EQ(extract_fields("42.5e1", names).body, "42.5e1");
    EXPECT_EQ(extract_fields("-1", names).body, "-1");
    EXPECT_EQ(extract_fields("true", names).body, "true");
    EXPECT_EQ(extract_fields("\"a\\u0000b\"", names).body,
              "a\xEF\xBF\xBD"
              "b");
    for (const char* none : {"null", "[1,2]", "{}", R"({"sender":"x"})", ""})
        EXPECT_FALSE(extract_fields(none, names).body) << none;
}

TEST(body_of, agrees_with_extract_fields) {
    field_names names{"who", "what", "when"};
    for (const char* e : {R"({"who":"z","what":"w\u00e9","when":1})", R"({"what":12.50})",
                          R"({"who":"z"})", R"("bare")", "7", "null", "[1]", "{}", " ",
                          R"({"what":null})", R"({"what":{"nested":true}})"})
        EXPECT_EQ(body_of(e, names), extract_fields(e, names).body) << e;
}

TEST(extract_fields, uses_the_configured_names) {
    field_names names{"who", "what", "when"};
    auto f = extract_fields(R"({"who":"z","what":"w","when":1709296496})", names);
    EXPECT_EQ(f.author, "z");
    EXPECT_EQ(f.body, "w");
    EXPECT_EQ(f.sent_at_us, 1709296496LL * 1000000);
}

TEST(render_element, escapes_and_nulls) {
    field_names names;
    EXPECT_EQ(
        render_element(std::string("a\"b"), std::string("line\nnext"), 1709296496123456LL, names),
        R"({"sender":"a\"b","message":"line\nnext","timestamp":"2024-03-01T12:34:56.123Z"})");
    EXPECT_EQ(render_element(std::nullopt, std::nullopt, std::nullopt, names),
              R"({"sender":null,"message":null,"timestamp":null})");
    auto rendered = render_element(std::string("x"), std::string("y"), 0, names);
    EXPECT_TRUE(is_valid_json(rendered));
    auto back = extract_fields(rendered, names);
    EXPECT_EQ(back.author, "x");
    EXPECT_EQ(back.body, "y");
    EXPECT_EQ(back.sent_at_us, 0);
}

TEST(render_array, joins_elements_unchanged) {
    EXPECT_EQ(render_array({"{\"a\": 1}", "2"}), "[{\"a\": 1},2]");
    EXPECT_EQ(render_array({}), "[]");
}

TEST(ingest_rule, an_empty_ledger_takes_everything_in_order) {
    EXPECT_EQ(elements_to_append(ids("[1,2,3]"), {}), (std::vector<size_t>{0, 1, 2}));
}

TEST(ingest_rule, a_reserialized_array_adds_nothing) {
    identity_counts ledger;
    for (auto& id : ids(R"([{"b":1,"a":"x"}, {"m": 1.0}])")) ++ledger[id];
    EXPECT_TRUE(elements_to_append(ids(R"([{"a":"x","b":1},{"m":1}])"), ledger).empty());
}

TEST(ingest_rule, legitimate_duplicates_stay_duplicated) {
    identity_counts ledger;
    ++ledger[identity_of_element("\"hi\"")];
    EXPECT_EQ(elements_to_append(ids(R"(["hi","hi","hi"])"), ledger), (std::vector<size_t>{1, 2}));
}

TEST(ingest_rule, partial_overlap_appends_only_the_new_messages) {
    identity_counts ledger;
    for (auto& id : ids("[1,2]")) ++ledger[id];
    EXPECT_EQ(elements_to_append(ids("[1,2,3,4]"), ledger), (std::vector<size_t>{2, 3}));
    // A stale writer's array that dropped 2 adds 5 and takes nothing away.
    EXPECT_EQ(elements_to_append(ids("[1,5]"), ledger), (std::vector<size_t>{1}));
}

}  // namespace
}  // namespace chatledger::core

namespace chatledger::core {
namespace {

TEST(to_text_column, replaces_what_a_text_column_cannot_hold) {
    EXPECT_EQ(to_text_column("plain \xc3\xa9 \xf0\x9f\x98\x80"), "plain \xc3\xa9 \xf0\x9f\x98\x80");
    EXPECT_EQ(to_text_column(std::string("a\0b", 3)),
              "a\xef\xbf\xbd"
              "b");
    EXPECT_EQ(to_text_column("\xed\xa0\x80x"), "\xef\xbf\xbdx");
    EXPECT_EQ(to_text_column("\xff\xc3"), "\xef\xbf\xbd\xef\xbf\xbd");
    EXPECT_EQ(to_text_column("\xc0\x80"), "\xef\xbf\xbd\xef\xbf\xbd");
}

// Bodies are checked eight ASCII bytes at a time: a bad character is replaced at every offset,
// within a block of plain bytes or after one, and a valid one kept.
TEST(extract_fields, replaces_a_bad_character_at_any_offset_of_a_long_body) {
    const std::pair<const char*, const char*> cases[] = {
        {"\\u0000", "\xef\xbf\xbd"}, {"\\ud800", "\xef\xbf\xbd"}, {"\\u00e9", "\xc3\xa9"}};
    for (const auto& [escaped, decoded] : cases)
        for (size_t k = 0; k <= 24; ++k) {
            const std::string before(k, 'x'), after(24 - k, 'y');
            auto f =
                extract_fields("{\"message\":\"" + before + escaped + after + "\"}", field_names{});
            EXPECT_EQ(f.body, before + decoded + after) << escaped << " at " << k;
        }
}

TEST(extract_fields, nul_and_lone_surrogates_become_replacement_characters) {
    auto f = extract_fields(R"({"message":"a\u0000b\ud800"})", field_names{});
    EXPECT_EQ(f.body,
              "a\xef\xbf\xbd"
              "b\xef\xbf\xbd");
}

}  // namespace
}  // namespace chatledger::core

namespace chatledger::core {
namespace {

// Guards the digest itself: the identity is SHA-256 of the canonical form, the same bytes on
// every thread and for every call (the digest context is reused per thread).
TEST(message, an_identity_is_the_sha256_of_the_canonical_form_on_every_thread) {
    auto hex = [](const std::string& d) {
        static const char* digits = "0123456789abcdef";
        std::string out;
        for (unsigned char c : d) {
            out += digits[c >> 4];
            out += digits[c & 15];
        }
        return out;
    };
    // sha256("1") and sha256("{\"a\":1,\"b\":2}"), the canonical forms of these elements.
    const std::string one = "6b86b273ff34fce19d6b804eff5a3f5747ada4eaa22f1d49c01e52ddb7875b4b";
    EXPECT_EQ(hex(identity_of_element("1")), one);
    EXPECT_EQ(hex(identity_of_element("1")), one);
    EXPECT_EQ(hex(identity_of_element(R"({ "b" : 2, "a" : 1 })")),
              hex(identity_of_element(R"({"a":1,"b":2})")));
    std::string other;
    std::thread t([&] { other = hex(identity_of_element("1")); });
    t.join();
    EXPECT_EQ(other, one);
}

}  // namespace
}  // namespace chatledger::core

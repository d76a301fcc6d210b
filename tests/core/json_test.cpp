// Unit tests of the legacy JSON codec: exact element spans, every unparseable form, and
// canonical identity under re-serialization. No server.
#include "core/json.hpp"

#include <gtest/gtest.h>

#include <chrono>

namespace chatledger::core {
namespace {

std::vector<std::string> elements_of(std::string_view text) {
    auto r = split_value(text);
    EXPECT_EQ(r.kind, value_kind::array) << text;
    return {r.elements.begin(), r.elements.end()};
}

TEST(split_value, elements_keep_their_exact_text) {
    EXPECT_EQ(elements_of(R"([{"a": 1 ,"b":"x"},  {"c":[1, 2]} ])"),
              (std::vector<std::string>{R"({"a": 1 ,"b":"x"})", R"({"c":[1, 2]})"}));
}

TEST(split_value, pretty_printed_arrays_split_the_same_way) {
    EXPECT_EQ(elements_of("[\n  {\n    \"a\": 1\n  },\n  2\n]\n"),
              (std::vector<std::string>{"{\n    \"a\": 1\n  }", "2"}));
}

TEST(split_value, scalar_elements_are_elements) {
    EXPECT_EQ(elements_of(R"([null, 42, "text", true, -1.5e3])"),
              (std::vector<std::string>{"null", "42", "\"text\"", "true", "-1.5e3"}));
}

TEST(split_value, brackets_and_quotes_inside_strings_do_not_split) {
    EXPECT_EQ(elements_of(R"(["]", "\"]", "a,b", {"k":"}{"}])"),
              (std::vector<std::string>{R"("]")", R"("\"]")", R"("a,b")", R"({"k":"}{"})"}));
}

TEST(split_value, nul_escapes_and_lone_surrogates_are_valid) {
    const auto els = elements_of(R"(["a\u0000b", "\ud800", "\udc00x", "\ud83d\ude00"])");
    ASSERT_EQ(els, (std::vector<std::string>{R"("a\u0000b")", R"("\ud800")", R"("\udc00x")",
                                             R"("\ud83d\ude00")"}));
    // Each decodes to the bytes JSON.parse would give: NUL, WTF-8 for a lone half, a real pair.
    EXPECT_EQ(decode_string(els[0]), std::string("a\0b", 3));
    EXPECT_EQ(decode_string(els[1]), "\xed\xa0\x80");
    EXPECT_EQ(decode_string(els[2]), "\xed\xb0\x80x");
    EXPECT_EQ(decode_string(els[3]), "\xf0\x9f\x98\x80");
}

TEST(split_value, empty_forms_hold_no_messages) {
    for (const char* text : {"", "   ", "\n\t", "[]", "[ \n ]", " [] "}) {
        auto r = split_value(text);
        EXPECT_EQ(r.kind, value_kind::empty) << '"' << text << '"';
        EXPECT_TRUE(r.elements.empty());
    }
}

TEST(split_value, every_invalid_or_non_array_form_is_unparseable) {
    for (const char* text :
         {"{}",          "42",         "\"x\"",     "null",        "true",    "[1,]",
          "[,1]",        "[1 2]",      "[1",        "[{\"a\":1}",  "[1] x",   "[1][2]",
          "[01]",        "[1.]",       "[.5]",      "[-]",         "[NaN]",   "[Infinity]",
          "['a']",       "[\"a\tb\"]", "[\"\\x\"]", "[\"\\u12\"]", "[\"abc]", "[{a:1}]",
          "[{\"a\" 1}]", "[/*c*/1]",   "[tru]",     "[1e]",        "[1e+]",   "not json at all",
          "[}",          "{[]}"}) {
        auto r = split_value(text);
        EXPECT_EQ(r.kind, value_kind::unparseable) << text;
        EXPECT_TRUE(r.elements.empty()) << text;
    }
}

// PostgreSQL's json accepts any depth, so an element nested 100,000 levels deep is a message
// like any other; the old 512-level limit turned the whole array into one unparseable row.
TEST(split_value, deep_nesting_is_an_element_not_a_crash) {
    const std::string deep = std::string(100000, '[') + std::string(100000, ']');
    const std::string value = "[1, " + deep + "]";
    const auto r = split_value(value);  // views into `value`
    ASSERT_EQ(r.kind, value_kind::array);
    ASSERT_EQ(r.elements.size(), 2u);
    EXPECT_EQ(r.elements[1], deep);
    EXPECT_EQ(canonical(deep), deep);
    const std::string objects = [] {
        std::string s;
        for (int i = 0; i < 50000; ++i) s += "{\"k\" : ";
        s += "1";
        return s + std::string(50000, '}');
    }();
    EXPECT_EQ(canonical(objects).size(), objects.size() - 2 * 50000);  // the blanks go
    EXPECT_EQ(split_value("[" + deep.substr(1) + "]").kind,
              value_kind::unparseable);  // one ] too many
}

TEST(split_value, large_inputs_split_in_linear_time) {
    std::string big = "[";
    for (int i = 0; i < 100000; ++i) {
        if (i)
            big += ',';
        big += R"({"sender":"a","message":"m)" + std::to_string(i) +
               R"(","timestamp":"2024-01-01T00:00:00Z"})";
    }
    big += "]";
    const std::string body(1 << 20, 'x');
    const std::string one = "[{\"message\":\"" + body + "\"}]";
    auto start = std::chrono::steady_clock::now();
    const auto many = split_value(big);
    const auto single = split_value(one);
    // Generous bound: catches quadratic behaviour, not a slow machine (ASan included).
    EXPECT_LT(std::chrono::steady_clock::now() - start, std::chrono::seconds(5));
    ASSERT_EQ(many.elements.size(), 100000u);
    EXPECT_EQ(many.elements.front(),
              R"({"sender":"a","message":"m0","timestamp":"2024-01-01T00:00:00Z"})");
    EXPECT_EQ(many.elements[54321],
              R"({"sender":"a","message":"m54321","timestamp":"2024-01-01T00:00:00Z"})");
    EXPECT_EQ(many.elements.back(),
              R"({"sender":"a","message":"m99999","timestamp":"2024-01-01T00:00:00Z"})");
    ASSERT_EQ(single.elements.size(), 1u);
    // Not EXPECT_EQ: a failure would print the megabyte twice.
    EXPECT_TRUE(single.elements[0] == "{\"message\":\"" + body + "\"}")
        << "the 1 MB element differs from its source text";
}

TEST(canonical, key_order_and_whitespace_do_not_matter) {
    EXPECT_EQ(canonical(R"({ "b" : 1, "a" : [ 1 , 2 ] })"), R"({"a":[1,2],"b":1})");
    EXPECT_EQ(canonical(R"({"a":{"d":1,"c":2}})"), R"({"a":{"c":2,"d":1}})");
}

// Numbers are identified by their exact decimal value: one spelling per value, and no value
// rounded into another (a double round trip made 9007199254740993 equal 9007199254740992 and
// 1e400 equal -1e400).
TEST(canonical, numbers_are_identified_by_their_exact_value) {
    EXPECT_EQ(canonical("1.0"), canonical("1"));
    EXPECT_EQ(canonical("1e2"), canonical("100"));
    EXPECT_EQ(canonical("1E2"), canonical("100.000"));
    EXPECT_EQ(canonical("10e-1"), canonical("1"));
    EXPECT_EQ(canonical("0.1"), canonical("1e-1"));
    EXPECT_EQ(canonical("-0"), "0");
    EXPECT_EQ(canonical("0.000e9"), "0");
    EXPECT_EQ(canonical("1.5"), "15e-1");
    EXPECT_NE(canonical("1"), canonical("2"));
    EXPECT_NE(canonical("9007199254740993"), canonical("9007199254740992"));
    EXPECT_NE(canonical("1e400"), canonical("-1e400"));
    EXPECT_NE(canonical("1e400"), canonical("1e401"));
    EXPECT_NE(canonical("1e-400"), "0");
    EXPECT_EQ(canonical("0.00000000000000000000000000001"), canonical("1e-29"));
    // An exponent beyond any integer type still gives one spelling per value.
    EXPECT_EQ(canonical("1e123456789012345678901234567890"),
              canonical("10e123456789012345678901234567889"));
    EXPECT_EQ(canonical("100e-123456789012345678901234567890"),
              canonical("1e-123456789012345678901234567888"));
    EXPECT_NE(canonical("1e123456789012345678901234567890"),
              canonical("1e123456789012345678901234567891"));
}

// Found by json_fuzz: an exponent written with more than 17 digits, all or most of them leading
// zeros, took the long path and came out as `1e0`, whose own canonical form is `1`.
TEST(canonical, an_exponent_with_leading_zeros_is_the_exponent_it_spells) {
    EXPECT_EQ(canonical("1E00000000000000000000"), "1");
    EXPECT_EQ(canonical("1e-000000000000000000005"), canonical("1e-5"));
    EXPECT_EQ(canonical("25e+0000000000000000000000012"), canonical("25e12"));
    EXPECT_EQ(canonical("10e-00000000000000000001"), "1");
    for (const char* v : {"[1.4, 1e77777, 1E00000000000000000000]", "1E00000000000000000000",
                          "2e0000000000000000000000000000000000000000000000099"}) {
        const std::string c = canonical(v);
        EXPECT_EQ(canonical(c), c) << v;
    }
}

TEST(canonical, string_escapes_are_normalized) {
    EXPECT_EQ(canonical(R"("\u00e9")"), canonical("\"\xc3\xa9\""));
    EXPECT_EQ(canonical(R"("\/")"), R"("/")");
    EXPECT_EQ(canonical(R"("\u000a")"), R"("\n")");
    EXPECT_EQ(canonical(R"("\u001F")"), R"("\u001f")");
    EXPECT_EQ(canonical(R"("\ud83d\ude00")"), "\"\xf0\x9f\x98\x80\"");
    EXPECT_EQ(canonical(R"("\uD800")"), R"("\ud800")");
    EXPECT_EQ(canonical(R"("a\u0000b")"), R"("a\u0000b")");
    EXPECT_NE(canonical(R"("a")"), canonical(R"("b")"));
}

TEST(canonical, a_repeated_key_keeps_its_last_value) {
    EXPECT_EQ(canonical(R"({"a":1,"a":2})"), R"({"a":2})");
}

TEST(canonical, invalid_json_throws) {
    EXPECT_THROW(canonical("{"), std::invalid_argument);
    EXPECT_THROW(canonical("[1,]"), std::invalid_argument);
}

TEST(decode_string, escapes_decode_to_utf8) {
    EXPECT_EQ(decode_string(R"("a\"b\\c\/d\n")"), "a\"b\\c/d\n");
    EXPECT_EQ(decode_string(R"("\u0041\u00e9")"), "A\xc3\xa9");
    EXPECT_EQ(decode_string(R"("x\u0000y")"), std::string("x\0y", 3));
    EXPECT_THROW(decode_string("abc"), std::invalid_argument);
}

TEST(encode_string, round_trips_through_decode) {
    for (std::string s : {std::string("plain"), std::string("q\"b\\n\n\t\x01"),
                          std::string("x\0y", 3), std::string("\xed\xa0\x80")}) {
        std::string out;
        encode_string(out, s);
        EXPECT_EQ(decode_string(out), s);
    }
}

TEST(find_member, returns_the_last_raw_value) {
    const std::string obj = R"({"sender":"ann","message":{"x":1},"sender":"bob","n":null})";
    EXPECT_EQ(find_member(obj, "sender").value(), R"("bob")");
    EXPECT_EQ(find_member(obj, "message").value(), R"({"x":1})");
    EXPECT_EQ(find_member(obj, "n").value(), "null");
    EXPECT_FALSE(find_member(obj, "missing"));
    EXPECT_FALSE(find_member("[1]", "sender"));
    EXPECT_EQ(find_member(R"({"s\u0065nder":"esc"})", "sender").value(), R"("esc")");
}

// Strings are scanned eight bytes at a time: what ends or breaks one is found at every offset.
TEST(split_value, a_quote_escape_or_control_byte_is_seen_at_every_offset) {
    for (size_t n = 0; n < 40; ++n) {
        for (size_t k = 0; k < n; ++k) {
            std::string body(n, 'a');
            body[k] = '\x1f';
            EXPECT_EQ(split_value("[\"" + body + "\"]").kind, value_kind::unparseable) << n << k;
            body[k] = '\\';
            EXPECT_EQ(split_value("[\"" + body + "\"]").kind, value_kind::unparseable) << n << k;
            body.insert(k + 1, "n");
            const std::string text = "[\"" + body + "\",1]";  // elements point into it
            auto r = split_value(text);
            ASSERT_EQ(r.elements.size(), 2u) << n << k;
            EXPECT_EQ(r.elements[0], "\"" + body + "\"");
            body = std::string(n, 'a');
            body[k] = '"';
            r = split_value("[\"" + body + "\"]");
            EXPECT_EQ(r.kind, value_kind::unparseable) << n << k;
        }
        std::string accents;
        for (size_t i = 0; i < n; ++i) accents += "\xc3\xa9";  // high bytes are plain
        const std::string text = "[\"" + accents + "\"]";
        auto r = split_value(text);
        ASSERT_EQ(r.elements.size(), 1u) << n;
        EXPECT_EQ(r.elements[0], "\"" + accents + "\"");
    }
}

TEST(find_members, one_pass_finds_what_find_member_finds_for_each_key) {
    const std::string_view keys[] = {"sender", "message", "sender", "missing"};
    std::optional<std::string_view> found[4];
    find_members(R"({"sender":"ann","m\u0065ssage":"hi","sender":"bob"})", keys, found);
    EXPECT_EQ(found[0].value(), R"("bob")");
    EXPECT_EQ(found[1].value(), R"("hi")");
    EXPECT_EQ(found[2].value(), R"("bob")");  // a key named twice gets the same value
    EXPECT_FALSE(found[3]);
    // An object invalid after a match finds nothing, as find_member does.
    for (const auto* bad : {R"({"sender":"ann","message":})", R"({"sender":"ann",x)"}) {
        find_members(bad, keys, found);
        for (const auto& f : found) EXPECT_FALSE(f) << bad;
        EXPECT_FALSE(find_member(bad, "sender")) << bad;
    }
}

}  // namespace
}  // namespace chatledger::core

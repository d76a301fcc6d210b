// Unit tests of the daemon's pure decisions (no server): the columns a conversation must hold,
// what counts as drift, and which comments a legacy write left are messages of their own.
#include "core/sync_decision.hpp"

#include <gtest/gtest.h>

#include "core/json.hpp"

namespace chatledger::core {
namespace {

const field_names fields;

stored_message element(std::string payload, bool shown = true) {
    auto f = extract_fields(payload, fields);
    return {std::move(payload), f.author, f.body, f.sent_at_us, shown, std::nullopt, false, false};
}

stored_message app_row(std::string author, std::string body, bool shown) {
    return {std::nullopt, std::move(author), std::move(body), 1700000000000000,
            shown,        std::nullopt,      false,           false};
}

/// A message recover appended from a backup snapshot.
stored_message recovered(std::string payload) {
    auto m = element(std::move(payload), false);
    m.placed_by_time = true;
    return m;
}

TEST(decide_render, a_recovered_message_stands_where_its_time_puts_it_not_at_the_end) {
    const std::string jan1 = R"({"sender":"a","message":"1","timestamp":"2024-01-01T10:00:00Z"})";
    const std::string jan2 = R"({"sender":"b","message":"2","timestamp":"2024-01-02T10:00:00Z"})";
    const std::string jan3 = R"({"sender":"c","message":"3","timestamp":"2024-01-03T10:00:00Z"})";
    const std::string jan4 = R"({"sender":"d","message":"4","timestamp":"2024-01-04T10:00:00Z"})";
    // The legacy write that lost jan2 left jan1 and jan3; recover appended jan2 after them.
    const std::vector<stored_message> ledger = {element(jan1), element(jan3), recovered(jan2)};
    const auto d = decide_render(ledger, {"[" + jan1 + "," + jan3 + "]", "3", "c"}, fields);
    EXPECT_TRUE(d.rewrite);
    EXPECT_EQ(d.history, "[" + jan1 + "," + jan2 + "," + jan3 + "]");
    // The comment columns stay with the latest message, not the recovered older one.
    EXPECT_EQ(d.comment, "3");
    EXPECT_EQ(d.comment_author, "c");

    // Recovered messages among themselves by time; one later than every other goes last; an
    // other message without a time decides nothing, and a recovered one without a time stays
    // where it was appended.
    stored_message untimed = element(R"({"sender":"x","message":"no time"})");
    stored_message untimed_recovered = recovered(R"({"sender":"y","message":"when?"})");
    const std::vector<stored_message> mixed = {element(jan1),   untimed,           element(jan3),
                                               recovered(jan4), untimed_recovered, recovered(jan2)};
    EXPECT_EQ(render_order(mixed), (std::vector<size_t>{0, 1, 5, 2, 4, 3}));
    const auto m = decide_render(mixed, {std::nullopt, std::nullopt, std::nullopt}, fields);
    EXPECT_EQ(m.comment, "4");
}

TEST(decide_render, a_column_holding_every_message_with_current_comments_is_left_alone) {
    const std::vector<stored_message> ledger = {element(R"({"sender":"a","message":"1"})"),
                                                element(R"({"sender":"b","message":"2"})")};
    // Other spacing and key order: the same messages as values.
    const legacy_columns row{R"([ {"message":"1","sender":"a"}, {"sender":"b","message":"2"} ])",
                             "2", "b"};
    const auto d = decide_render(ledger, row, fields);
    EXPECT_FALSE(d.rewrite);
    EXPECT_TRUE(d.history_in_step);
    EXPECT_EQ(d.missing, 0);
}

TEST(decide_render, a_column_in_step_with_stale_comments_keeps_its_own_text) {
    const std::vector<stored_message> ledger = {element(R"({"sender":"a","message":"1"})"),
                                                element(R"({"sender":"b","message":"2"})")};
    const std::string text = R"([ {"message":"1","sender":"a"}, {"sender":"b","message":"2"} ])";
    const auto d = decide_render(ledger, {text, "1", "a"}, fields);
    EXPECT_TRUE(d.rewrite);
    EXPECT_TRUE(d.history_in_step);
    EXPECT_EQ(d.history, text);
    EXPECT_EQ(d.comment, "2");
    EXPECT_EQ(d.comment_author, "b");
    EXPECT_EQ(d.missing, 0);
}

TEST(decide_render, an_overwrite_that_dropped_a_shown_message_is_drift_and_rerendered) {
    const std::vector<stored_message> ledger = {element(R"("m1")"), element(R"("m2")"),
                                                element(R"("m3")"), element(R"("m4")")};
    const auto d = decide_render(ledger, {R"(["m1","m2","m4"])", "m4", std::nullopt}, fields);
    EXPECT_TRUE(d.rewrite);
    EXPECT_FALSE(d.history_in_step);
    EXPECT_EQ(d.missing, 1);
    EXPECT_EQ(d.history, R"(["m1","m2","m3","m4"])");
}

TEST(decide_render, new_messages_missing_from_the_column_are_not_drift) {
    // Application appends (announced by this sync's events) and a comment captured now.
    const std::vector<stored_message> ledger = {element(R"("m1")"), app_row("ann", "hi", false),
                                                app_row("carl", "call me", false)};
    const auto d = decide_render(ledger, {R"(["m1"])", "m1", std::nullopt}, fields);
    EXPECT_TRUE(d.rewrite);
    EXPECT_EQ(d.missing, 0);
    EXPECT_EQ(d.comment, "call me");
    EXPECT_EQ(d.comment_author, "carl");
    EXPECT_EQ(d.history, R"(["m1",{"sender":"ann","message":"hi","timestamp":)"
                         R"("2023-11-14T22:13:20.000Z"},{"sender":"carl","message":"call me",)"
                         R"("timestamp":"2023-11-14T22:13:20.000Z"}])");
}

TEST(decide_render, a_large_backlog_of_new_rows_counts_no_drift) {
    std::vector<stored_message> ledger = {element(R"("m0")")};
    for (int i = 0; i < 700; ++i) ledger.push_back(app_row("w", std::to_string(i), false));
    const auto d = decide_render(ledger, {R"(["m0"])", "m0", std::nullopt}, fields);
    EXPECT_TRUE(d.rewrite);
    EXPECT_EQ(d.missing, 0);
    EXPECT_EQ(split_value(d.history).elements.size(), 701u);
}

TEST(decide_render, a_repeated_message_counts_as_many_times_as_it_stands) {
    const std::vector<stored_message> ledger = {element(R"("ok")"), element(R"("ok")")};
    const auto d = decide_render(ledger, {R"(["ok"])", "ok", std::nullopt}, fields);
    EXPECT_TRUE(d.rewrite);
    EXPECT_EQ(d.missing, 1);
    EXPECT_EQ(d.history, R"(["ok","ok"])");
}

// The daemon hands over the identities it computed when it read the ledger, so a long
// conversation is not canonicalized twice per sync: a given identity is the one compared.
TEST(decide_render, an_identity_the_caller_computed_is_used_as_given) {
    auto m = element(R"("m1")");
    m.identity = identity_of_element(R"("other")");
    const auto d = decide_render({m}, {R"(["other"])", "m1", std::nullopt}, fields);
    EXPECT_TRUE(d.history_in_step);
    EXPECT_FALSE(d.rewrite);
}

TEST(decide_render, a_conversation_the_ledger_does_not_know_is_left_alone) {
    const auto d = decide_render({}, {R"(["x"])", "x", std::nullopt}, fields);
    EXPECT_FALSE(d.rewrite);
    EXPECT_EQ(d.missing, 0);
}

TEST(new_comment_messages, a_comment_no_message_has_is_new_once) {
    const std::string history = R"([{"sender":"a","message":"1"}])";
    const std::vector<left_comment> comments = {
        {history, "1", "a"}, {history, "call me", "carl"}, {history, "call me", "carl"}};
    EXPECT_EQ(new_comment_messages(comments, {}, fields), std::vector<size_t>({1}));
}

TEST(new_comment_messages, a_comment_the_ledger_or_the_same_write_has_is_not_new) {
    const std::string history = R"(["plain text", {"sender":"b","message":"in history"}])";
    const std::vector<left_comment> comments = {{history, "in history", "someone else"},
                                                {history, "plain text", std::nullopt},
                                                {"", "in the ledger", "c"}};
    EXPECT_TRUE(new_comment_messages(comments, {"in the ledger"}, fields).empty());
}

TEST(new_comment_messages, a_comment_only_write_is_new_even_when_its_words_repeat) {
    const std::string history = R"([{"sender":"carol","message":"ok"},"other"])";
    const std::vector<left_comment> comments = {
        {history, "ok", "carol", comment_rule::new_message},
        {history, "ok", "carol", comment_rule::by_body},  // the current row, after it
    };
    // The ledger already has "ok" once: the comment-only write is a second "ok", and the row
    // that shows it is the same message, not a third.
    EXPECT_EQ(new_comment_messages(comments, {"ok", "other"}, fields), std::vector<size_t>({0}));
}

TEST(new_comment_messages, a_write_that_changed_both_is_matched_against_its_own_history) {
    const std::string history = R"(["a",{"sender":"w","message":"b"}])";
    const std::vector<left_comment> comments = {
        {history, "b", "w", comment_rule::own_history},  // names the element it appended
        {history, "c", "w", comment_rule::own_history},  // names none of its elements
        {history, "zz", "w", comment_rule::unchanged},   // an earlier write's comment
    };
    // Unlike the body rule, a body the ledger has does not make a both-changed comment known.
    EXPECT_EQ(new_comment_messages(comments, {"c"}, fields), std::vector<size_t>({1}));
}

// --- The first render of a migrated conversation ---

stored_message migrated(std::string payload) {
    auto m = element(std::move(payload));
    m.migrated = true;
    return m;
}

/// The one row `run` makes of a value that is not a JSON array.
stored_message migrated_unparseable(std::string raw) {
    stored_message m{std::nullopt, std::string(system_author), std::move(raw), std::nullopt, true,
                     std::nullopt};
    m.migrated = true;
    return m;
}

stored_message comment_now(std::string author, std::string body) {
    stored_message m{std::nullopt, std::move(author), std::move(body), 1700000000000000,
                     false,        std::nullopt};
    m.appended_now = true;
    return m;
}

// Guards against the first render of a migrated row reading as something else (it was logged as
// healed drift, and `verify` had passed the row): the comment columns set to the latest message.
TEST(first_render, comment_columns_set_to_the_latest_migrated_message) {
    const std::vector<stored_message> ledger = {migrated(R"({"sender":"a","message":"1"})"),
                                                migrated(R"({"sender":"b","message":"2"})")};
    const legacy_columns row{R"([{"sender":"a","message":"1"},{"sender":"b","message":"2"}])", "2",
                             "agent7"};
    const auto d = decide_render(ledger, row, fields);
    ASSERT_TRUE(d.rewrite);
    EXPECT_TRUE(d.first_render);
    EXPECT_TRUE(d.first.comment_columns);
    EXPECT_FALSE(d.first.comment_appended);
    EXPECT_FALSE(d.first.unparseable_shown);
    EXPECT_EQ(d.missing, 0);
    EXPECT_EQ(d.history, *row.history);  // the text `run` read is kept byte for byte
}

TEST(first_render, an_unparseable_value_with_a_comment_in_no_message) {
    const std::string raw = "{broken";
    const std::vector<stored_message> ledger = {migrated_unparseable(raw),
                                                comment_now("carol", "call me")};
    const auto d = decide_render(ledger, {raw, "call me", "carol"}, fields);
    ASSERT_TRUE(d.rewrite);
    EXPECT_TRUE(d.first_render);
    EXPECT_TRUE(d.first.unparseable_shown);
    EXPECT_TRUE(d.first.comment_appended);
    EXPECT_FALSE(d.first.comment_columns);
    EXPECT_EQ(d.missing, 0);
    EXPECT_EQ(d.history.find(R"({"sender":"system","message":"{broken","timestamp":null})"), 1u)
        << d.history;
}

TEST(first_render, a_column_that_lost_a_migrated_message_is_drift_not_a_first_render) {
    const std::vector<stored_message> ledger = {migrated(R"("m1")"), migrated(R"("m2")")};
    const auto d = decide_render(ledger, {R"(["m1"])", "m2", std::nullopt}, fields);
    ASSERT_TRUE(d.rewrite);
    EXPECT_FALSE(d.first_render);
    EXPECT_EQ(d.missing, 1);
}

TEST(first_render, a_ledger_with_other_rows_was_rendered_before) {
    const std::vector<stored_message> ledger = {migrated(R"("m1")"), app_row("app", "hello", true)};
    const auto d = decide_render(ledger, {R"(["m1"])", "m1", std::nullopt}, fields);
    ASSERT_TRUE(d.rewrite);
    EXPECT_FALSE(d.first_render);
}

TEST(first_render, a_row_in_step_is_no_first_render) {
    const std::vector<stored_message> ledger = {migrated(R"({"sender":"a","message":"1"})")};
    const auto d = decide_render(ledger, {R"([{"sender":"a","message":"1"}])", "1", "a"}, fields);
    EXPECT_FALSE(d.rewrite);
    EXPECT_FALSE(d.first_render);
}

// plan and verify forecast without identities what the daemon's render then decides: the two
// must agree on every reason.
TEST(forecast_first_render, agrees_with_the_render_it_forecasts) {
    struct input {
        std::vector<stored_message> ledger;
        legacy_columns row;
    };
    const std::vector<input> inputs = {
        {{migrated(R"({"sender":"a","message":"1"})")},
         {R"([{"sender":"a","message":"1"}])", "1", "a"}},
        {{migrated(R"({"sender":"a","message":"1"})")},
         {R"([{"sender":"a","message":"1"}])", "1", "x"}},
        {{migrated(R"({"sender":"a","message":"1"})")},
         {R"([{"sender":"a","message":"1"}])", "new", "c"}},
        {{migrated(R"({"sender":"a","message":"1"})")},
         {R"([{"sender":"a","message":"1"}])", std::nullopt, std::nullopt}},
        {{migrated_unparseable("oops")}, {"oops", std::nullopt, std::nullopt}},
        {{migrated_unparseable("oops")}, {"oops", "hi", "c"}},
        {{migrated_unparseable("oops")}, {"oops", "oops", "system"}},
        {{}, {"[]", "hi", "c"}},
        {{}, {std::nullopt, std::nullopt, std::nullopt}},
    };
    for (const auto& in : inputs) {
        std::optional<latest_message> latest;
        if (!in.ledger.empty()) {
            const auto& m = in.ledger.back();
            latest =
                compare_latest(!m.payload, m.author, m.body, in.row.comment, in.row.comment_author);
        }
        const auto f = forecast_first_render(latest, in.row, fields);
        // plan's forecast, from the value alone (each ledger above is its value's messages).
        const auto p = forecast_first_render(in.row, fields);
        EXPECT_EQ(p.unparseable_shown, f.unparseable_shown);
        EXPECT_EQ(p.comment_appended, f.comment_appended);
        EXPECT_EQ(p.comment_columns, f.comment_columns);
        auto ledger = in.ledger;
        if (f.comment_appended)
            ledger.push_back(comment_now(in.row.comment_author.value_or(""), *in.row.comment));
        // The daemon appends the comment with the author the row names.
        if (f.comment_appended)
            ledger.back().author = in.row.comment_author;
        const auto d = decide_render(ledger, in.row, fields);
        const auto what = in.row.history.value_or("NULL") + " / " + in.row.comment.value_or("NULL");
        EXPECT_EQ(d.rewrite, f.any()) << what;
        EXPECT_EQ(d.first_render, d.rewrite) << what;
        EXPECT_EQ(d.first.unparseable_shown, f.unparseable_shown) << what;
        EXPECT_EQ(d.first.comment_appended, f.comment_appended) << what;
        EXPECT_EQ(d.first.comment_columns, f.comment_columns) << what;
    }
}

TEST(forecast_first_render, a_comment_an_element_of_the_value_holds_is_not_appended) {
    // The daemon reads the history too: a comment naming an element is no new message.
    const auto f = forecast_first_render(
        legacy_columns{R"([{"sender":"a","message":"1"},{"sender":"b","message":"2"}])", "1", "a"},
        fields);
    EXPECT_FALSE(f.comment_appended);
    EXPECT_TRUE(f.comment_columns);  // the latest message is b's "2"
}

}  // namespace
}  // namespace chatledger::core

// Database tests of ingest with a cache, as the daemon calls it twice in one transaction:
// the second call must see what the first appended without reading the ledger again.
#include "ledger/ingest.hpp"

#include <gtest/gtest.h>

#include "schema/apply.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::ledger {
namespace {

// The ledger's schema applied over the legacy table, and a repository that found it.
class ingest_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        schema::apply_schema(*conn_, cfg_, false);
        repo_.emplace(*conn_, cfg_);
        repo_->require_schema();
    }
    void TearDown() override {
        repo_.reset();
        legacy_db_test::TearDown();
    }

    std::optional<ledger_repository> repo_;
};

// Appends go out as binary COPY: every field arrives as the same bytes, NULLs stay NULL and
// timestamps keep their microsecond at both ends of the range the parser accepts.
TEST_F(ingest_pgtest, binary_appends_store_every_field_exactly) {
    auto& conn = *conn_;
    const std::string id = "z\t\\N";
    const std::string author =
        "tab\there, newline\n, return\r, backslash \\ and \\N \u00e9 \U0001f600";
    const std::string body = std::string(1500, 'x') + "\\.\n\\.";
    const std::string payload = R"({"sender":"a\tb","message":"\\","n":1e400})";
    const std::vector<std::optional<int64_t>> times = {
        std::nullopt,          -62135596800LL * 1000000, 253402300799999999LL, -1, 0,
        946684800LL * 1000000, 1709296496123456LL};
    std::vector<new_message> rows;
    for (const auto& t : times)
        rows.push_back({&id, author, body, t, payload, core::message_source::migration});
    rows.push_back(
        {&id, std::nullopt, std::nullopt, std::nullopt, std::nullopt, core::message_source::app});
    pg::transaction tx(conn);
    EXPECT_EQ(repo_->append(rows), static_cast<long long>(rows.size()));
    tx.commit();
    auto r = sql(conn,
                 "SELECT zoho_id, author, body, CASE WHEN isfinite(sent_at) THEN (extract(epoch "
                 "FROM sent_at) * 1000000)::bigint END, payload::text, source FROM "
                 "chatledger.chat_messages ORDER BY id");
    ASSERT_EQ(r.rows(), static_cast<int>(rows.size()));
    for (size_t i = 0; i < times.size(); ++i) {
        const int row = static_cast<int>(i);
        EXPECT_EQ(r.text(row, 0), id);
        EXPECT_EQ(r.text(row, 1), author);
        EXPECT_EQ(r.text(row, 2), body);
        EXPECT_EQ(r.is_null(row, 3), !times[i]) << i;
        if (times[i]) {
            EXPECT_EQ(r.integer(row, 3), *times[i]) << i;
        }
        EXPECT_EQ(r.text(row, 4), payload);
        EXPECT_EQ(r.text(row, 5), "migration");
    }
    const int last = static_cast<int>(times.size());
    for (int col : {1, 2, 3, 4}) EXPECT_TRUE(r.is_null(last, col)) << col;
    EXPECT_EQ(r.text(last, 5), "app");
}

TEST_F(ingest_pgtest, a_cached_second_ingest_adds_only_what_the_first_did_not) {
    auto& conn = *conn_;
    const config& cfg = cfg_;
    ledger_repository& repo = *repo_;
    const auto& fields = cfg.legacy.fields;
    const std::optional<std::string> one = R"([{"message":"a"},{"message":"b"}])";
    const std::optional<std::string> two = R"([{"message":"a"}, {"message":"b"}, {"message":"c"}])";
    ingest_cache cache;
    pg::transaction tx(conn);
    // A conversation new to the ledger: with a cache, the fast path must still count identities.
    EXPECT_EQ(ingest(repo, {{"z", one}}, fields,
                     {.source = core::message_source::legacy, .cache = &cache})
                  .appended,
              2);
    EXPECT_EQ(ingest(repo, {{"z", one}, {"z", two}}, fields,
                     {.source = core::message_source::legacy, .cache = &cache})
                  .appended,
              1);
    EXPECT_EQ(ingest(repo, {{"z", two}}, fields,
                     {.source = core::message_source::legacy, .cache = &cache})
                  .appended,
              0);
    tx.commit();
    EXPECT_EQ(sql(conn, "SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'z'")
                  .integer(0, 0),
              3);
    // Without a cache the same values add nothing either: the ledger holds them.
    pg::transaction again(conn);
    EXPECT_EQ(ingest(repo, {{"z", two}}, fields, {.source = core::message_source::legacy}).appended,
              0);
    again.commit();
}

// The COPY goes out in 1 MB pieces, a large field cut into slices (so no buffer holds a 50 MB
// message whole): escapes on either side of a cut must still store the message byte for byte,
// and more than 1024 messages (the rows handed to the COPY at a time) keep their order.
// Guards ledger_messages(), now read a row at a time: every column as stored (NULL payload,
// author, sent_at; an infinite-free timestamp in microseconds), by conversation then id, rows
// this transaction appended marked, and nothing for a conversation the ledger lacks.
TEST_F(ingest_pgtest, the_ledger_read_returns_every_message_as_stored) {
    auto& conn = *conn_;
    ledger_repository& repo = *repo_;
    sql(conn,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body, sent_at, payload, source) "
        "VALUES ('b', 'ann', 'one', '2024-01-02T03:04:05.678901Z', '{\"message\":\"one\"}', "
        "'migration'), ('a', NULL, 'two', NULL, NULL, 'legacy'), ('b', 'bob', NULL, NULL, NULL, "
        "'legacy')");
    EXPECT_TRUE(repo.ledger_messages({"none"}).empty());
    pg::transaction tx(conn);
    sql(conn, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'three')");
    const auto m = repo.ledger_messages({"b", "a", "none"});
    ASSERT_EQ(m.size(), 4u);
    EXPECT_EQ(m[0].zoho_id, "a");
    EXPECT_EQ(m[0].body, "two");
    EXPECT_EQ(m[0].author, std::nullopt);
    EXPECT_EQ(m[0].payload, std::nullopt);
    EXPECT_EQ(m[0].sent_at_us, std::nullopt);
    EXPECT_FALSE(m[0].this_transaction);
    EXPECT_EQ(m[1].body, "three");
    EXPECT_TRUE(m[1].this_transaction);
    EXPECT_GT(m[1].id, m[0].id);
    EXPECT_EQ(m[2].zoho_id, "b");
    EXPECT_EQ(m[2].payload, R"({"message":"one"})");
    EXPECT_EQ(m[2].author, "ann");
    EXPECT_EQ(m[2].sent_at_us, 1704164645678901LL);
    EXPECT_EQ(m[2].source, "migration");
    EXPECT_EQ(m[3].author, "bob");
    EXPECT_EQ(m[3].body, std::nullopt);
}

TEST_F(ingest_pgtest, messages_larger_than_a_copy_piece_and_many_rows_are_stored_exactly) {
    auto& conn = *conn_;
    const config& cfg = cfg_;
    ledger_repository& repo = *repo_;
    std::string body;
    for (int i = 0; body.size() < 3'500'000; ++i)
        body += (i % 7 == 0) ? "\\\\ tab\\t newline\\n " : "chat text \u00e9 ";  // JSON escapes
    std::string many = "[";
    for (int i = 0; i < 2500; ++i) many += (i ? "," : "") + std::to_string(i);
    many += "]";
    const std::optional<std::string> large = "[{\"message\":\"" + body + "\"}]";
    pg::transaction tx(conn);
    EXPECT_EQ(ingest(repo, {{"big", large}, {"many", many}}, cfg.legacy.fields,
                     {.source = core::message_source::migration})
                  .appended,
              2501);
    tx.commit();
    auto stored = sql(conn,
                      "SELECT payload::text, body FROM chatledger.chat_messages WHERE zoho_id = "
                      "'big'");
    EXPECT_EQ(stored.text(0, 0), large->substr(1, large->size() - 2));
    EXPECT_EQ(stored.text(0, 1), core::extract_fields(stored.text(0, 0), cfg.legacy.fields).body);
    EXPECT_EQ(sql(conn,
                  "SELECT count(*) FROM (SELECT body::int - row_number() OVER (ORDER BY id) AS d "
                  "FROM chatledger.chat_messages WHERE zoho_id = 'many') s WHERE d <> -1")
                  .integer(0, 0),
              0);
}

// verify reads the ledger through a cursor in pieces: order, the latest row of each
// conversation and the columns it leaves out must hold across piece boundaries.
TEST_F(ingest_pgtest, reading_in_pieces_keeps_order_and_marks_each_conversations_latest_row) {
    auto& conn = *conn_;
    const config& cfg = cfg_;
    ledger_repository& repo = *repo_;
    sql(conn,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'x', '1'), "
        "('b', 'y', '2'), ('a', 'x', '3'), ('b', 'y', '4'), ('a', 'x', '5')");
    pg::transaction tx(conn);
    ingest(repo, {{"b", R"([{"sender":"s","message":"6"}])"}}, cfg.legacy.fields,
           {.source = core::message_source::legacy});
    std::string seen;
    repo.for_each_ledger_message(
        {"a", "b"},
        [&](const ledger_message_view& m) {
            seen += std::string(m.zoho_id) + ":" + std::string(m.body.value_or("-")) +
                    (m.payload ? "p" : "") + (m.latest ? "L" : "") + " ";
        },
        2);
    tx.commit();
    EXPECT_EQ(seen, "a:1 a:3 a:5L b:2 b:4 b:-pL ");
}

}  // namespace
}  // namespace chatledger::ledger

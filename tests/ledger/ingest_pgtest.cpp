// Database tests of ingest with a cache, as the daemon calls it twice in one transaction:
// the second call must see what the first appended without reading the ledger again.
#include "ledger/ingest.hpp"

#include <gtest/gtest.h>

#include "schema/apply.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::ledger {
namespace {

class ingest_pgtest : public testing::pg_test {};

TEST_F(ingest_pgtest, a_cached_second_ingest_adds_only_what_the_first_did_not) {
    auto conn = connect();
    create_legacy_table(conn);
    const config cfg = make_config();
    schema::apply_schema(conn, cfg, false);
    ledger_repository repo(conn, cfg);
    repo.require_schema();
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

}  // namespace
}  // namespace chatledger::ledger

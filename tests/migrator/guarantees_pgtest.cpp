// Database tests of `run` guarantees, each seen to fail on its breakage (scripts/mutants.sh):
// batch and checkpoint commit together, repeats count, writes during the walk are ingested.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/legacy_db_fixture.hpp"
#include "tests/support/migrate_cli.hpp"

namespace chatledger::migrator {
namespace {

class migrate_guarantees_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        // Small batches and one worker: which conversations share a batch is known.
        std::ofstream(config_path_) << config_yaml() << "migrate:\n  batch_rows: 3\n  workers: 1\n";
    }
};

// Guards against migrate_batch committing a batch's messages and then recording its
// migrated_conversations rows in a separate transaction (run.cpp: tx->commit() before
// repo.mark_migrated()). The ledger would still end exact, since a re-run's ingest adds nothing,
// but a crash between the two leaves messages without a checkpoint, and the re-run then records
// 0 messages for them.
TEST_F(migrate_guarantees_pgtest, a_failed_checkpoint_rolls_back_its_batch_messages) {
    // In key order and three to a batch: (a1 a2 a3) (b1 b2 boom) (c1 c2 c3).
    for (const char* key : {"a1", "a2", "a3", "b1", "b2", "boom", "c1", "c2", "c3"})
        sql(*conn_,
            "INSERT INTO live_chat (zoho_id, chat_history) VALUES ($1, "
            "format('[{\"message\":\"%s-1\"},{\"message\":\"%s-2\"}]', $1::text, $1::text))",
            {key});
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    // The checkpoint INSERT fails for one conversation, as a lost connection or a full disk
    // would make it fail between the COPY and the commit.
    sql(*conn_,
        "CREATE FUNCTION boom() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.zoho_id = 'boom' THEN RAISE EXCEPTION 'checkpoint refused'; END IF; "
        "RETURN NEW; END $$; "
        "CREATE TRIGGER boom BEFORE INSERT ON chatledger.migrated_conversations "
        "FOR EACH ROW EXECUTE FUNCTION boom()");
    EXPECT_EQ(migrate("run"), 3) << out_.str() << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id IN ('b1', 'b2', "
                    "'boom')"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.migrated_conversations WHERE zoho_id IN "
                    "('b1', 'b2', 'boom')"),
              0);
    // Whatever committed did so with its checkpoint: every conversation in the ledger has one
    // whose count is its number of messages.
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT zoho_id, count(*) AS n FROM "
                    "chatledger.chat_messages GROUP BY 1) l LEFT JOIN "
                    "chatledger.migrated_conversations m USING (zoho_id) "
                    "WHERE m.messages IS DISTINCT FROM l.n"),
              0);

    sql(*conn_, "DROP TRIGGER boom ON chatledger.migrated_conversations");
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 18);
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT zoho_id, payload::text FROM "
                    "chatledger.chat_messages GROUP BY 1, 2 HAVING count(*) > 1) d"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.migrated_conversations"), 9);
    EXPECT_EQ(count("SELECT sum(messages) FROM chatledger.migrated_conversations"), 18);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.migrated_conversations WHERE messages <> 2"),
              0);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
}

// Guards against the ingest rule treating a legacy value as a set: an element the ledger
// already holds once must still be appended for its second occurrence (count becomes
// max(ledger, value)). E.g. core::elements_to_append comparing against 0 instead of the
// ledger's count, or skipping any identity the ledger holds.
TEST_F(migrate_guarantees_pgtest,
       a_value_repeating_a_message_the_ledger_holds_once_adds_the_repeat) {
    // A conversation the ledger already knows before `run` reaches it (a capture the daemon
    // ingested first): `run` compares identities instead of taking every element.
    sql(*conn_,
        "BEGIN; SET LOCAL chatledger.origin = 'syncd'; "
        "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('known', "
        "'[\"ok\",\"ok\",\"new\"]'); "
        "COMMIT");
    // A conversation `run` migrates, then a legacy write repeats its message.
    sql(*conn_, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('later', '[\"ok\"]')");
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, body, payload, source) "
        "VALUES ('known', 'ok', '\"ok\"', 'legacy')");
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'known' AND "
                    "payload::text = '\"ok\"'"),
              2);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'known'"), 3);
    EXPECT_EQ(count("SELECT messages FROM chatledger.migrated_conversations WHERE zoho_id = "
                    "'known'"),
              2);
    // The dashboard's next write shows "ok" twice: a second message with the same text.
    auto dashboard = connect_legacy();
    sql(dashboard,
        "UPDATE live_chat SET chat_history = '[\"ok\", \"ok\"]' WHERE zoho_id = 'later'");
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'later'"), 2);
    // Nothing more on a re-run, nor for the same value written back once more.
    sql(dashboard, "UPDATE live_chat SET chat_history = '[\"ok\",\"ok\"]' WHERE zoho_id = 'later'");
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'later'"), 2);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'known'"), 3);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
}

// Guards against `run` leaving out a legacy write that commits after the walk read its
// conversation (run.cpp: the ingest_captured_writes() call removed). run_pgtest's
// legacy_writes_during_run_reach_the_ledger_exactly_once races a writer against the walk, and a
// writer that keeps ahead of the walk only changes conversations not yet read: that mutation
// survived one of two probes there. Here the write commits after its conversation was read,
// every time: a trigger on the checkpoint table makes it in the batch's own transaction.
TEST_F(migrate_guarantees_pgtest,
       a_write_committed_after_its_conversation_was_read_is_ingested_by_run) {
    for (const char* key : {"a1", "a2", "a3", "b1"})
        sql(*conn_,
            "INSERT INTO live_chat (zoho_id, chat_history) VALUES ($1, format('[\"%s-1\"]', "
            "$1::text))",
            {key});
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    // The trigger runs in run's session, whose search_path does not hold the legacy schema.
    sql(*conn_,
        "CREATE FUNCTION late_write() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "UPDATE " +
            legacy_table() +
            " SET chat_history = '[\"a1-1\",\"a1-late\"]' WHERE zoho_id = 'a1'; "
            "RETURN NULL; END $$; "
            "CREATE TRIGGER late_write AFTER INSERT ON chatledger.migrated_conversations "
            "FOR EACH ROW WHEN (NEW.zoho_id = 'a1') EXECUTE FUNCTION late_write()");
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE payload::text = "
                    "'\"a1-late\"' AND source = 'legacy'"),
              1)
        << out_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 5);
    sql(*conn_, "DROP TRIGGER late_write ON chatledger.migrated_conversations");
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 5);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
}

}  // namespace
}  // namespace chatledger::migrator

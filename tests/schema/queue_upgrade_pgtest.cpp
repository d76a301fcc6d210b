// Database tests of schema step 0009 on a ledger already in use: a database at step 0008 with
// queued events upgrades to the partitioned queue with every event, id, grant and guard kept.
#include <gtest/gtest.h>

#include <cstdio>

#include "schema/apply.hpp"
#include "schema/schema_repository.hpp"
#include "schema/steps.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::schema {
namespace {

class queue_upgrade_pgtest : public testing::legacy_db_test {
  protected:
    /// Applies the versioned steps up to `last` and the capture step, as a `schema` of the
    /// release that had only those steps did.
    void apply_up_to(int last) {
        const auto values = placeholders(cfg_);
        schema_repository repo(*conn_, cfg_);
        pg::transaction tx(*conn_);
        repo.bootstrap();
        for (const auto& s : versioned_steps()) {
            if (s.version > last)
                break;
            repo.run_step("applying step " + s.name, render(s.text, values));
            repo.record_step(s.version, s.name, repo.checksum(std::string(s.text)));
        }
        const std::string capture = render(capture_step_text(), values);
        repo.run_step("installing the capture trigger", capture);
        repo.record_capture(repo.checksum(capture), cfg_.legacy.table.quoted());
        tx.commit();
    }
    std::string text(const std::string& query) {
        return std::string(sql(*conn_, query).text(0, 0));
    }
};

TEST_F(queue_upgrade_pgtest, events_queued_at_step_8_survive_the_upgrade_in_order) {
    apply_up_to(8);
    ASSERT_EQ(schema_version(*conn_, cfg_), 8);
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES "
        "('a', 'A', '[{\"sender\":\"x\",\"message\":\"m1\"}]'), ('b', 'B', '[]')");
    sql(*conn_,
        "UPDATE live_chat SET comments = 'c2', comments_entered_by = 'y' WHERE zoho_id = 'a'");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('b', 'z', 'm3')");
    // One consumed event: the ids must go on from the sequence, not from the highest row left.
    sql(*conn_, "DELETE FROM chatledger.sync_queue WHERE zoho_id = 'b' AND kind = 'insert'");
    const std::string before = text(
        "SELECT string_agg(concat_ws('|', id, zoho_id, kind, history, comments, "
        "comments_entered_by, first_ledger_id, enqueued_at, xact_id, comment_changed, "
        "history_changed), E'\\n' ORDER BY id) FROM chatledger.sync_queue");
    ASSERT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 3);
    const long long last_id = count("SELECT last_value FROM chatledger.sync_queue_id_seq");

    const auto report = apply_schema(*conn_, cfg_, false);
    EXPECT_EQ(report.version_before, 8);
    EXPECT_EQ(report.version_after, latest_schema_version());

    EXPECT_EQ(
        text("SELECT relkind::text FROM pg_class WHERE oid = 'chatledger.sync_queue'::regclass"),
        "p");
    EXPECT_EQ(text("SELECT string_agg(concat_ws('|', id, zoho_id, kind, history, comments, "
                   "comments_entered_by, first_ledger_id, enqueued_at, xact_id, comment_changed, "
                   "history_changed), E'\\n' ORDER BY id) FROM chatledger.sync_queue"),
              before);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue WHERE slot = 0"), 3);
    // A new event gets the next id of the old identity.
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('b', 'z', 'm4')");
    EXPECT_EQ(collect_appends(), 1);  // since step 0012 the daemon queues appends
    EXPECT_EQ(count("SELECT max(id) FROM chatledger.sync_queue"), last_id + 1);

    // What 0001 and 0008 set up on the queue is on the new table.
    EXPECT_TRUE(ledger_trigger_problems(*conn_, cfg_).empty());
    EXPECT_EQ(
        text("SELECT tgenabled::text FROM pg_trigger WHERE tgrelid = "
             "'chatledger.sync_queue'::regclass AND tgname = 'sync_queue_no_nested_daemon_write'"),
        "A");
    EXPECT_EQ(
        text("SELECT string_agg(c.relname || ':' || pg_get_userbyid(c.relowner), ',' ORDER BY "
             "c.relname) FROM pg_class c WHERE c.relnamespace = 'chatledger'::regnamespace AND "
             "c.relname LIKE 'sync_queue%' AND c.relkind IN ('r', 'p', 'S')"),
        "sync_queue:chatledger_owner,sync_queue_0:chatledger_owner,sync_queue_1:"
        "chatledger_owner,sync_queue_2:chatledger_owner,sync_queue_id_seq:chatledger_owner");
    EXPECT_EQ(text("SELECT string_agg(indexrelid::regclass::text, ',' ORDER BY 1) FROM pg_index "
                   "WHERE indrelid = 'chatledger.sync_queue'::regclass"),
              "chatledger.sync_queue_pkey,chatledger.sync_queue_zoho_id");
    EXPECT_EQ(
        text("SELECT concat_ws(',', has_table_privilege('chatledger_daemon', "
             "'chatledger.sync_queue', 'SELECT, UPDATE, DELETE'), "
             "has_table_privilege('chatledger_daemon', 'chatledger.sync_queue', 'INSERT'), "
             "has_table_privilege('chatledger_reader', 'chatledger.sync_queue', 'SELECT'), "
             "has_table_privilege('chatledger_reader', 'chatledger.sync_queue', 'DELETE'), "
             "has_table_privilege('chatledger_daemon', 'chatledger.sync_queue_0', 'DELETE'))"),
        "t,f,t,f,f");
    EXPECT_EQ(text("SELECT obj_description('chatledger.sync_queue'::regclass, 'pg_class') LIKE "
                   "'work queue:%'"),
              "t");

    // A second run has nothing to do, and the trust checks find nothing to re-enable.
    const auto again = apply_schema(*conn_, cfg_, false);
    EXPECT_TRUE(again.applied.empty());
    EXPECT_TRUE(again.reenabled.empty());
}

TEST_F(queue_upgrade_pgtest, a_disabled_guard_on_the_new_queue_is_reported_and_re_enabled) {
    apply_schema(*conn_, cfg_, false);
    sql(*conn_,
        "ALTER TABLE chatledger.sync_queue DISABLE TRIGGER sync_queue_no_nested_daemon_write");
    const auto problems = ledger_trigger_problems(*conn_, cfg_);
    ASSERT_EQ(problems.size(), 1u);
    EXPECT_NE(problems[0].find("sync_queue_no_nested_daemon_write on chatledger.sync_queue is "
                               "disabled"),
              std::string::npos)
        << problems[0];
    const auto report = apply_schema(*conn_, cfg_, false);
    EXPECT_EQ(report.reenabled.size(), 1u);
    EXPECT_TRUE(ledger_trigger_problems(*conn_, cfg_).empty());
}

}  // namespace
}  // namespace chatledger::schema

// Least privilege: what each ledger role may do, and that everything else is refused.
// Each statement runs in its own session of the login granted that role, as deployed.
#include <gtest/gtest.h>

#include "schema/apply.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::schema {
namespace {

class privileges_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        auto c = connect();
        create_legacy_table(c);
        sql(c, "INSERT INTO live_chat VALUES ('z', 'Zed', '[]', NULL, NULL)");
        auto cfg = make_config();
        apply_schema(c, cfg, false);
        sql(c, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('z', 'seed')");
    }

    /// SQLSTATE of `statement` in a session of the login granted `role` only, "ok" when it
    /// succeeds (rolled back either way). The legacy schema is put on its search_path so the
    /// statements may name `live_chat`; that changes no privilege.
    std::string as(const std::string& role, const std::string& statement) {
        const auto& l = provision_logins();
        auto c = connect_as(role == "chatledger_writer"   ? l.app
                            : role == "chatledger_reader" ? l.reader
                                                          : l.daemon);
        sql(c, "BEGIN; SET LOCAL search_path = " + legacy_schema_ + ", public");
        try {
            sql(c, statement);
        } catch (const pg::db_error& e) {
            return e.sqlstate();
        }
        sql(c, "ROLLBACK");
        return "ok";
    }
};

constexpr const char* refused = "42501";

TEST_F(privileges_pgtest, the_writer_appends_and_reads_and_nothing_else) {
    const std::string w = "chatledger_writer";
    EXPECT_EQ(
        as(w,
           "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('z', 'a', 'b')"),
        "ok");
    EXPECT_EQ(as(w, "SELECT count(*) FROM chatledger.chat_messages"), "ok");
    for (const char* s : {
             "INSERT INTO chatledger.chat_messages (zoho_id, body, source) VALUES ('z', 'b', "
             "'backup')",
             "INSERT INTO chatledger.chat_messages (zoho_id, body, created_at) VALUES ('z', 'b', "
             "now())",
             "UPDATE chatledger.chat_messages SET body = 'x'",
             "DELETE FROM chatledger.chat_messages",
             "TRUNCATE chatledger.chat_messages",
             "SELECT * FROM chatledger.sync_queue",
             "DELETE FROM chatledger.sync_queue",
             "SELECT * FROM chatledger.schema_history",
             "SELECT * FROM chatledger.migrated_conversations",
             "SELECT chatledger.lock_conversations(ARRAY['z'])",
             "ALTER TABLE chatledger.chat_messages DISABLE TRIGGER ALL",
             "DROP TABLE chatledger.chat_messages",
             "CREATE TABLE chatledger.intruder (x int)",
         })
        EXPECT_EQ(as(w, s), refused) << s;
}

TEST_F(privileges_pgtest, the_reader_only_reads) {
    const std::string r = "chatledger_reader";
    EXPECT_EQ(as(r, "SELECT count(*) FROM chatledger.chat_messages"), "ok");
    EXPECT_EQ(as(r, "SELECT count(*) FROM chatledger.sync_queue"), "ok");
    EXPECT_EQ(as(r, "SELECT count(*) FROM chatledger.syncd_instances"), "ok");
    for (const char* s : {
             "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('z', 'b')",
             "DELETE FROM chatledger.sync_queue",
             "UPDATE chatledger.syncd_instances SET rewrites = 0",
             "SELECT chatledger.lock_conversations(ARRAY['z'])",
         })
        EXPECT_EQ(as(r, s), refused) << s;
}

TEST_F(privileges_pgtest, the_daemon_has_what_it_needs_and_no_more) {
    const std::string d = "chatledger_daemon";
    for (const char* s : {
             "INSERT INTO chatledger.chat_messages (zoho_id, body, source, payload) VALUES ('z', "
             "'b', 'legacy', '1')",
             "SELECT id FROM chatledger.sync_queue FOR UPDATE SKIP LOCKED",
             "DELETE FROM chatledger.sync_queue",
             "SELECT chatledger.lock_conversations(ARRAY['z'])",
             "UPDATE live_chat SET chat_history = '[]', comments = 'c', comments_entered_by = 'a'",
             "INSERT INTO chat_history_backup (zoho_id, operation_type) VALUES ('z', "
             "'before_update')",
             "DELETE FROM chat_history_backup",
             "INSERT INTO chatledger.syncd_instances (instance, started_at, heartbeat_at) VALUES "
             "('i', now(), now())",
         })
        EXPECT_EQ(as(d, s), "ok") << s;
    for (const char* s : {
             "UPDATE chatledger.chat_messages SET body = 'x'",
             "DELETE FROM chatledger.chat_messages",
             "UPDATE live_chat SET full_name = 'x'",
             "DELETE FROM live_chat",
             "INSERT INTO live_chat (zoho_id) VALUES ('new')",
             "TRUNCATE chatledger.sync_queue",
             "DELETE FROM chatledger.schema_history",
             "ALTER TABLE chatledger.chat_messages DISABLE TRIGGER ALL",
             "DROP TABLE chatledger.sync_queue",
         })
        EXPECT_EQ(as(d, s), refused) << s;
}

}  // namespace
}  // namespace chatledger::schema

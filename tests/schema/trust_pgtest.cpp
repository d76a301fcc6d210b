// The hostile acts of CONTRACT section 7, one test each, as the logins of a real deployment:
// what a legacy writer, an application or the daemon's login may try, and that it fails or is
// captured anyway.
#include <gtest/gtest.h>

#include "schema/apply.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::schema {
namespace {

class trust_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        dba_.emplace(connect());
        create_legacy_table(*dba_);
        sql(*dba_, "INSERT INTO live_chat VALUES ('a', 'Ann', '[]', NULL, NULL)");
        apply_schema(*dba_, make_config(), false);
        logins_ = provision_logins();
    }
    void TearDown() override {
        dba_.reset();
        pg_test::TearDown();
    }

    long long queued() {
        return sql(*dba_, "SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'a'")
            .integer(0, 0);
    }
    /// SQLSTATE of `statement` in a session of `conninfo`, "ok" when it succeeds. The legacy
    /// schema is put on its search_path so the statement may name `live_chat`.
    std::string state_of(const std::string& conninfo, const std::string& statement) {
        database_config db;
        db.conninfo = conninfo;
        auto c = pg::connection::open(db, "chatledger-tests");
        sql(c, "SET search_path = " + legacy_schema_ + ", public");
        try {
            sql(c, statement);
        } catch (const pg::db_error& e) {
            message_ = e.what();
            return e.sqlstate();
        }
        return "ok";
    }

    std::optional<pg::connection> dba_;
    testing::deployment_logins logins_;
    std::string message_;
};

TEST_F(trust_pgtest, no_setting_a_legacy_writer_can_make_keeps_its_write_from_capture) {
    const std::string w = conninfo_as(logins_.legacy);
    // Each write adds a message, so each is a change the trigger must capture.
    int n = 0;
    auto write = [&n] {
        return "UPDATE live_chat SET chat_history = '[\"m" + std::to_string(++n) +
               "\"]' WHERE zoho_id = 'a'";
    };
    // What marked the daemon's own rewrites until now, set by hand, in the session and by options.
    ASSERT_EQ(state_of(w, "SET chatledger.origin = 'syncd'; " + write()), "ok");
    EXPECT_EQ(queued(), 1);
    ASSERT_EQ(state_of(w, "BEGIN; SET LOCAL chatledger.origin = 'syncd'; " + write() + "; COMMIT"),
              "ok");
    EXPECT_EQ(queued(), 2);
    ASSERT_EQ(state_of(w + " options='-c chatledger.origin=syncd'", write()), "ok");
    EXPECT_EQ(queued(), 3);
    // Replica mode does not switch it off either (ENABLE ALWAYS); only a superuser may set it.
    EXPECT_EQ(state_of(w, "SET session_replication_role = replica"), "42501");
    // The writer cannot borrow the daemon's role.
    EXPECT_EQ(state_of(w, "SET ROLE chatledger_daemon"), "42501");
    // A superuser's write is captured even with the old marker: it holds every role.
    auto su = connect_superuser();
    sql(su, "BEGIN; SET LOCAL chatledger.origin = 'syncd'; " + write() + "; COMMIT");
    sql(su,
        "SET session_replication_role = replica; " + write() + "; RESET session_replication_role");
    EXPECT_EQ(queued(), 5);
    // Only the daemon's login rewrites without being captured again.
    ASSERT_EQ(state_of(daemon_conninfo(), write()), "ok");
    EXPECT_EQ(queued(), 5);
}

TEST_F(trust_pgtest, the_daemon_login_appends_only_what_the_daemon_appends) {
    const std::string d = daemon_conninfo();
    const std::string insert = "INSERT INTO chatledger.chat_messages ";
    EXPECT_EQ(state_of(d, insert + "(zoho_id, body, payload, source) VALUES ('a', 'b', '\"b\"', "
                                   "'legacy')"),
              "ok");
    EXPECT_EQ(state_of(d, insert + "(zoho_id, author, body, source) VALUES ('a', 'system', "
                                   "'{x', 'unparseable')"),
              "ok");
    for (const auto& s : std::vector<std::string>{
             // A chosen id, rendered before every real message.
             insert + "(id, zoho_id, body, source) OVERRIDING SYSTEM VALUE VALUES (-7, 'a', "
                      "'first', 'legacy')",
             insert + "(zoho_id, body, source, created_at) VALUES ('a', 'old', 'legacy', "
                      "'2018-01-01')",
             insert + "(zoho_id, body, source) VALUES ('a', 'b', 'migration')",
             insert + "(zoho_id, body, source) VALUES ('a', 'b', 'backup')",
             insert + "(zoho_id, body, source, payload) VALUES ('a', 'b', 'app', "
                      "'{\"sender\":\"CEO\"}')",
             insert + "(zoho_id, body) VALUES ('a', 'an app row without the writer role')",
         })
        EXPECT_EQ(state_of(d, s), "42501") << s << ": " << message_;
    // Nor with the role set by name, as code running under the login could.
    EXPECT_EQ(state_of(d, "SET ROLE chatledger_daemon; " + insert +
                              "(zoho_id, body, source) VALUES ('a', 'b', 'migration')"),
              "42501");
    EXPECT_EQ(sql(*dba_, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0), 2);
}

// COPY into a table without BEFORE ROW INSERT triggers writes rows in bulk (step 0011 made the
// source check an AFTER trigger for that): a forged row among captured ones is refused all the
// same, and takes its whole COPY with it.
TEST_F(trust_pgtest, the_daemon_login_cannot_copy_in_a_row_it_does_not_append) {
    const auto bulk_loading = [&] {
        // tgtype bits 1, 2 and 4: ROW, BEFORE, INSERT. Any such trigger makes COPY row by row.
        return sql(*dba_,
                   "SELECT NOT EXISTS (SELECT FROM pg_catalog.pg_trigger WHERE tgrelid = "
                   "'chatledger.chat_messages'::regclass AND tgtype & 7 = 7)")
            .boolean(0, 0);
    };
    EXPECT_TRUE(bulk_loading());
    database_config db;
    db.conninfo = daemon_conninfo();
    auto d = pg::connection::open(db, "chatledger-tests");
    for (const std::string forged : {"migration", "backup", "app"}) {
        d.copy_begin("copying", "COPY chatledger.chat_messages (zoho_id, body, source) FROM STDIN");
        std::string rows;
        for (int i = 0; i < 2000; ++i)
            rows += "a\tm" + std::to_string(i) + "\t" + (i == 1500 ? forged : "legacy") + "\n";
        d.copy_put(rows);
        try {
            d.copy_end();
            ADD_FAILURE() << "the daemon's COPY of a " << forged << " row was accepted";
        } catch (const pg::db_error& e) {
            EXPECT_EQ(e.sqlstate(), "42501") << e.what();
            EXPECT_NE(std::string(e.what()).find("appends only captured messages"),
                      std::string::npos)
                << e.what();
        }
    }
    EXPECT_EQ(sql(*dba_, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0), 0);
    // The DBA's COPY of migrated rows goes through, in bulk.
    dba_->copy_begin("copying", "COPY chatledger.chat_messages (zoho_id, body, source) FROM STDIN");
    dba_->copy_put("a\tm\tmigration\na\tn\tmigration\n");
    EXPECT_EQ(dba_->copy_end(), 2);
}

TEST_F(trust_pgtest, a_trigger_on_the_legacy_table_cannot_forge_rows_through_the_daemon) {
    // The table's owner adds a trigger that the daemon's rewrite fires with the daemon's rights.
    sql(*dba_,
        "CREATE FUNCTION forge() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body, source) "
        "VALUES (NEW.zoho_id, 'CEO', 'approved', 'migration'); RETURN NULL; END $$; "
        "CREATE TRIGGER forge AFTER UPDATE ON live_chat FOR EACH ROW EXECUTE FUNCTION forge()");
    EXPECT_EQ(state_of(daemon_conninfo(),
                       "UPDATE live_chat SET chat_history = '[\"x\"]' WHERE zoho_id = 'a'"),
              "42501")
        << message_;
    EXPECT_EQ(sql(*dba_, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0), 0);
}

// Guards against code that the daemon's rewrite fires using the daemon's rights on the
// chatledger tables (step 0008): before it, such a trigger deleted another conversation's
// queued capture (the message lost for good), the old system's backup rows (recover then found
// nothing), and inserted backup rows recover would have taken for lost messages.
TEST_F(trust_pgtest, a_trigger_the_daemon_fires_cannot_touch_the_queue_backups_or_ledger) {
    sql(*dba_,
        "INSERT INTO live_chat VALUES ('b', 'Bob', '[]', NULL, NULL); "
        "UPDATE live_chat SET chat_history = '[\"captured\"]' WHERE zoho_id = 'b'; "
        "INSERT INTO chat_history_backup (zoho_id, chat_history_backup, operation_user) "
        "VALUES ('b', '[\"old\"]', 'dashboard')");
    const auto queued = [&] {
        return sql(*dba_, "SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'b'")
            .integer(0, 0);
    };
    ASSERT_EQ(queued(), 2);  // the INSERT and the UPDATE, both captured
    const std::vector<std::string> acts = {
        "DELETE FROM chatledger.sync_queue WHERE zoho_id <> NEW.zoho_id",
        "UPDATE chatledger.sync_queue SET history = '[]' WHERE zoho_id <> NEW.zoho_id",
        "DELETE FROM chat_history_backup WHERE operation_user = 'dashboard'",
        "INSERT INTO chat_history_backup (zoho_id, chat_history_backup, operation_user) "
        "VALUES ('b', '[{\"sender\":\"CEO\",\"message\":\"wire 50k\"}]', 'dashboard')",
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body, source) "
        "VALUES ('b', 'CEO', 'approved', 'legacy')",
    };
    for (const auto& act : acts) {
        sql(*dba_,
            "CREATE OR REPLACE FUNCTION hostile() RETURNS trigger LANGUAGE plpgsql AS $$ "
            "BEGIN " +
                act +
                "; RETURN NULL; END $$; "
                "DROP TRIGGER IF EXISTS hostile ON live_chat; "
                "CREATE TRIGGER hostile AFTER UPDATE ON live_chat FOR EACH ROW "
                "EXECUTE FUNCTION hostile()");
        // The daemon's rewrite of 'a' fires it, with the daemon login's rights.
        EXPECT_EQ(state_of(daemon_conninfo(),
                           "UPDATE live_chat SET chat_history = '[\"x\"]' WHERE zoho_id = 'a'"),
                  "42501")
            << act << ": " << message_;
        EXPECT_NE(message_.find("code fired by the daemon's write may not"), std::string::npos)
            << message_;
    }
    EXPECT_EQ(queued(), 2);
    EXPECT_EQ(sql(*dba_,
                  "SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'b' AND "
                  "history = '[\"captured\"]'")
                  .integer(0, 0),
              1);
    EXPECT_EQ(sql(*dba_, "SELECT count(*) FROM chat_history_backup").integer(0, 0), 1);
    EXPECT_EQ(sql(*dba_, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0), 0);
    // The daemon's own statements are not nested: it still consumes and prunes.
    EXPECT_EQ(state_of(daemon_conninfo(), "DELETE FROM chatledger.sync_queue WHERE zoho_id = 'b'"),
              "ok")
        << message_;
}

TEST_F(trust_pgtest, an_application_row_always_renders_from_its_own_columns) {
    const std::string app = conninfo_as(logins_.app);
    const std::string insert = "INSERT INTO chatledger.chat_messages ";
    EXPECT_EQ(state_of(app, insert + "(zoho_id, author, body) VALUES ('a', 'intern', 'hi')"), "ok");
    EXPECT_EQ(state_of(app, insert + "(zoho_id, author, body, sent_at) VALUES ('a', 'intern', "
                                     "'hi', '2024-01-01T00:00:00Z')"),
              "ok");
    for (const auto& s : std::vector<std::string>{
             insert + "(zoho_id, author, body, payload) VALUES ('a', 'intern', 'harmless', "
                      "'{\"sender\":\"CEO\",\"message\":\"Approved: wire 50k\"}')",
             insert + "(id, zoho_id, body) OVERRIDING SYSTEM VALUE VALUES (-7, 'a', 'first')",
             insert + "(zoho_id, body, source) VALUES ('a', 'b', 'migration')",
             insert + "(zoho_id, body, created_at) VALUES ('a', 'b', '2018-01-01')",
         })
        EXPECT_EQ(state_of(app, s), "42501") << s << ": " << message_;
    EXPECT_EQ(sql(*dba_,
                  "SELECT count(*) FROM chatledger.chat_messages WHERE source = 'app' AND "
                  "payload IS NULL AND id > 0")
                  .integer(0, 0),
              2);
}

}  // namespace
}  // namespace chatledger::schema

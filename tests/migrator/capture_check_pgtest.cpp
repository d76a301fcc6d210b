// What the legacy table's owner can do to the capture trigger (drop it, disable it, make it
// replica-only or origin-only, re-create it doing less): `status` names it, `schema` restores it.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/legacy_db_fixture.hpp"
#include "tests/support/migrate_cli.hpp"

namespace chatledger::migrator {
namespace {

class capture_check_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override { ASSERT_EQ(migrate("schema"), 0) << err_.str(); }
    /// True when a legacy writer's write now reaches the queue.
    bool captured() {
        sql(*conn_, "DELETE FROM chatledger.sync_queue");
        auto writer = connect_legacy();
        sql(writer,
            "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('p', '[1]') ON CONFLICT "
            "(zoho_id) DO UPDATE SET chat_history = live_chat.chat_history || ' '");
        return sql(*conn_, "SELECT count(*) FROM chatledger.sync_queue").integer(0, 0) == 1;
    }
};

TEST_F(capture_check_pgtest, status_names_every_way_the_trigger_is_undone_and_schema_restores_it) {
    ASSERT_EQ(migrate("status"), 0) << out_.str();
    EXPECT_NE(out_.str().find("capture trigger        in place, ENABLE ALWAYS"), std::string::npos)
        << out_.str();
    const std::vector<std::pair<std::string, std::string>> undo = {
        {"DROP TRIGGER chatledger_capture ON live_chat", "is missing"},
        {"ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture", "is disabled"},
        {"ALTER TABLE live_chat ENABLE REPLICA TRIGGER chatledger_capture",
         "fires only in replica sessions"},
        {"ALTER TABLE live_chat ENABLE TRIGGER chatledger_capture", "is not ENABLE ALWAYS"},
        {"DROP TRIGGER chatledger_capture ON live_chat; CREATE TRIGGER chatledger_capture AFTER "
         "INSERT ON live_chat FOR EACH ROW EXECUTE FUNCTION chatledger.capture_legacy_write(); "
         "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture",
         "is not chatledger's"},
        {"DROP TRIGGER chatledger_capture ON live_chat; CREATE TRIGGER chatledger_capture AFTER "
         "INSERT OR UPDATE OF full_name ON live_chat FOR EACH ROW EXECUTE FUNCTION "
         "chatledger.capture_legacy_write(); ALTER TABLE live_chat ENABLE ALWAYS TRIGGER "
         "chatledger_capture",
         "is not chatledger's"},
        {"DROP TRIGGER chatledger_capture ON live_chat; CREATE TRIGGER chatledger_capture AFTER "
         "INSERT OR UPDATE ON live_chat FOR EACH ROW WHEN (false) EXECUTE FUNCTION "
         "chatledger.capture_legacy_write(); ALTER TABLE live_chat ENABLE ALWAYS TRIGGER "
         "chatledger_capture",
         "is not chatledger's"},
    };
    for (const auto& [statement, said] : undo) {
        sql(*conn_, statement);
        EXPECT_EQ(migrate("status"), 1) << statement;
        EXPECT_NE(out_.str().find("NEEDS ATTENTION: the capture trigger chatledger_capture on " +
                                  legacy_table() + " " + said),
                  std::string::npos)
            << statement << "\n"
            << out_.str();
        EXPECT_EQ(migrate("schema"), 0) << err_.str();
        EXPECT_NE(out_.str().find("restored the capture trigger on " + legacy_table()),
                  std::string::npos)
            << statement << "\n"
            << out_.str();
        EXPECT_EQ(migrate("status"), 0) << statement << "\n" << out_.str();
        EXPECT_TRUE(captured()) << statement;
        // And a second run has nothing left to do.
        EXPECT_EQ(migrate("schema"), 0);
        EXPECT_NE(out_.str().find("up to date"), std::string::npos) << out_.str();
    }
}

TEST_F(capture_check_pgtest, the_ledgers_own_triggers_are_checked_and_enabled_again) {
    // A member of the owner role (the DBA) may do this; so may a superuser.
    for (const auto& [table, trigger] : std::vector<std::pair<std::string, std::string>>{
             {"chat_messages", "chat_messages_append_only_row"},
             {"chat_messages", "chat_messages_append_only_statement"},
             {"chat_messages", "chat_messages_daemon_source"},
             {"chat_messages", "chat_messages_no_nested_daemon_write"},
             {"sync_queue", "sync_queue_no_nested_daemon_write"}}) {
        for (const std::string how : {"DISABLE", "ENABLE", "ENABLE REPLICA"}) {
            sql(*conn_, "ALTER TABLE chatledger." + table + " " + how + " TRIGGER " + trigger);
            EXPECT_EQ(migrate("status"), 1) << trigger << " " << how;
            EXPECT_NE(
                out_.str().find("the ledger trigger " + trigger + " on chatledger." + table +
                                " is " + (how == "DISABLE" ? "disabled" : "not ENABLE ALWAYS")),
                std::string::npos)
                << out_.str();
            EXPECT_EQ(migrate("schema"), 0) << err_.str();
            EXPECT_NE(out_.str().find("enabled again: the ledger trigger " + trigger),
                      std::string::npos)
                << out_.str();
            EXPECT_EQ(migrate("status"), 0) << out_.str();
        }
    }
    EXPECT_NE(out_.str().find("ledger triggers        in place, ENABLE ALWAYS"), std::string::npos)
        << out_.str();
    // The append-only guarantee holds again for the superuser's plain statements.
    auto su = connect_superuser();
    sql(su, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('z', 'b')");
    EXPECT_THROW(sql(su, "DELETE FROM chatledger.chat_messages"), pg::db_error);
    // One that was dropped cannot be put back by a step already applied: said, not hidden.
    sql(*conn_, "DROP TRIGGER chat_messages_append_only_row ON chatledger.chat_messages");
    EXPECT_EQ(migrate("status"), 1);
    EXPECT_NE(
        out_.str().find("chat_messages_append_only_row on chatledger.chat_messages is missing"),
        std::string::npos)
        << out_.str();
    EXPECT_NE(migrate("schema"), 0);
}

// Guards against the backup table's guard (legacy_capture.sql: chatledger_no_nested_daemon_write,
// which keeps code the daemon's rewrite fires from deleting or forging the old system's backup
// rows) going unchecked: its owner dropped or disabled it, status said all was well and schema
// left it so.
TEST_F(capture_check_pgtest, the_backup_tables_guard_trigger_is_checked_and_restored) {
    const std::string backup = legacy_schema_ + ".chat_history_backup";
    const std::string name = "the guard trigger chatledger_no_nested_daemon_write on " + backup;
    for (const auto& [statement, said] : std::vector<std::pair<std::string, std::string>>{
             {"DROP TRIGGER chatledger_no_nested_daemon_write ON chat_history_backup",
              "is missing"},
             {"ALTER TABLE chat_history_backup DISABLE TRIGGER chatledger_no_nested_daemon_write",
              "is disabled"},
             {"ALTER TABLE chat_history_backup ENABLE TRIGGER chatledger_no_nested_daemon_write",
              "is not ENABLE ALWAYS"},
             {"DROP TRIGGER chatledger_no_nested_daemon_write ON chat_history_backup; CREATE "
              "TRIGGER chatledger_no_nested_daemon_write BEFORE TRUNCATE ON chat_history_backup "
              "FOR EACH STATEMENT EXECUTE FUNCTION chatledger.refuse_nested_daemon_write(); ALTER "
              "TABLE chat_history_backup ENABLE ALWAYS TRIGGER chatledger_no_nested_daemon_write",
              "is not chatledger's"}}) {
        sql(*conn_, statement);
        EXPECT_EQ(migrate("status"), 1) << statement << "\n" << out_.str();
        EXPECT_NE(out_.str().find(name + " " + said), std::string::npos) << statement << "\n"
                                                                         << out_.str();
        EXPECT_EQ(migrate("schema"), 0) << err_.str();
        EXPECT_NE(out_.str().find("restored the guard trigger on " + backup), std::string::npos)
            << statement << "\n"
            << out_.str();
        EXPECT_EQ(migrate("status"), 0) << statement << "\n" << out_.str();
        EXPECT_EQ(sql(*conn_,
                      "SELECT tgenabled FROM pg_trigger WHERE tgrelid = "
                      "'chat_history_backup'::regclass AND tgname = "
                      "'chatledger_no_nested_daemon_write'")
                      .text(0, 0),
                  "A");
        EXPECT_EQ(migrate("schema"), 0);
        EXPECT_NE(out_.str().find("up to date"), std::string::npos) << out_.str();
    }
}

TEST_F(capture_check_pgtest, status_as_the_reader_lists_other_triggers_and_rules_on_the_table) {
    sql(*conn_,
        "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END "
        "$$; CREATE TRIGGER audit AFTER UPDATE ON live_chat FOR EACH ROW EXECUTE FUNCTION "
        "audit(); CREATE TABLE notes (x text); CREATE RULE log_insert AS ON INSERT TO live_chat "
        "DO ALSO INSERT INTO notes VALUES (NEW.zoho_id)");
    const std::string reader_config = config_path_ + ".reader.yaml";
    std::ofstream(reader_config) << config_yaml(conninfo_as(provision_logins().reader));
    EXPECT_EQ(migrate_with(reader_config, {"status"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("on the legacy table    rule log_insert"), std::string::npos)
        << out_.str();
    EXPECT_NE(out_.str().find("on the legacy table    trigger audit"), std::string::npos)
        << out_.str();
    sql(*conn_, "ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture");
    EXPECT_EQ(migrate_with(reader_config, {"status"}), 1) << err_.str();
    std::filesystem::remove(reader_config);
}

}  // namespace
}  // namespace chatledger::migrator

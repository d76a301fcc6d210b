// Database tests of `chatledger-migrate history ZOHO_ID`: the incident's timeline, where a
// legacy write dropped a message, recover found it in a backup and the daemon put it back.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/child_process.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::migrator {
namespace {

const std::string m1 = R"({"sender":"ann","message":"hello","timestamp":"2024-01-01T10:00:00Z"})";
const std::string m2 = R"({"sender":"bob","message":"lost","timestamp":"2024-01-02T10:00:00Z"})";
const std::string m3 = R"({"sender":"ann","message":"later","timestamp":"2024-01-03T10:00:00Z"})";

class history_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        daemon_config_ = (dir_ / "syncd.yaml").string();
        std::ofstream(daemon_config_) << config_yaml(daemon_conninfo());
    }
    /// One reconcile pass of the real daemon, as its own login.
    void syncd_once() {
        const std::string log = (dir_ / "syncd.log").string();
        testing::child_process p(CHATLEDGER_SYNCD_BIN, {"--config", daemon_config_, "--once"}, log);
        ASSERT_EQ(p.wait_exit(std::chrono::seconds(60)), 0) << testing::read_file(log);
    }

    /// Backup row ids of the conversation, in time order.
    std::vector<std::string> backup_ids() {
        auto r = sql(*conn_,
                     "SELECT id::text FROM chat_history_backup WHERE zoho_id = 'z1' ORDER BY "
                     "backup_timestamp, id");
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
        return out;
    }

    std::string daemon_config_;
};

TEST_F(history_pgtest, shows_each_source_the_write_that_dropped_a_message_and_its_return) {
    sql(*conn_, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('z1', $1)",
        {"[" + m1 + "," + m3 + "]"});
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    // The old system's snapshots: m2 stood in the column on the 2nd; a write on the 3rd lost it.
    sql(*conn_,
        "INSERT INTO chat_history_backup (zoho_id, backup_timestamp, operation_type, "
        "chat_history_backup, operation_user) VALUES ('z1', '2024-01-02 12:00Z', 'UPDATE', $1, "
        "'webapp'), ('z1', '2024-01-03 12:00Z', 'UPDATE', $2, 'webapp')",
        {"[" + m1 + "," + m2 + "]", "[" + m1 + "," + m3 + "]"});
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    ASSERT_EQ(migrate("recover"), 0) << err_.str();
    syncd_once();
    // Put back where its time puts it, and the comment stays with the latest message.
    auto row = sql(*conn_, "SELECT chat_history, comments FROM live_chat WHERE zoho_id = 'z1'");
    EXPECT_EQ(row.text(0, 0), "[" + m1 + "," + m2 + "," + m3 + "]");
    EXPECT_EQ(row.text(0, 1), "later");
    // A legacy writer drops m2 again; the daemon puts it back.
    auto writer = connect_legacy();
    sql(writer, "UPDATE live_chat SET chat_history = $1 WHERE zoho_id = 'z1'",
        {"[" + m1 + "," + m3 + "]"});
    syncd_once();
    // An application's message the daemon has not rendered yet.
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('z1', 'cy', 'new')");

    ASSERT_EQ(migrate("history", {"z1"}), 0) << err_.str();
    const std::string text = out_.str();
    const auto ids = backup_ids();
    ASSERT_EQ(ids.size(), 6u) << text;  // two old snapshots, two rewrites with before and after
    EXPECT_EQ(text.find("target: "), 0u) << text;
    EXPECT_NE(text.find("legacy row             present; its history column shows 3 of 4 ledger "
                        "message(s); comment by "),
              std::string::npos)
        << text;
    // The application's message: no daemon has collected it into an event yet.
    EXPECT_NE(text.find("queued events          1: append (not collected yet) at "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("set aside by syncd     no\n"), std::string::npos) << text;
    EXPECT_NE(text.find(", migrated, the ledger got it "), std::string::npos) << text;
    EXPECT_NE(text.find(", recovered from a backup, the ledger got it "), std::string::npos)
        << text;
    EXPECT_NE(text.find("sent 2024-01-02T10:00:00.000Z\n      bob: lost\n"
                        "      first in a backup snapshot 2024-01-02T12:00:00.000Z (backup row " +
                        ids[0] +
                        ", UPDATE by webapp)\n"
                        "      dropped by a legacy write between 2024-01-02T12:00:00.000Z "
                        "(backup row " +
                        ids[0] + ", UPDATE by webapp) and 2024-01-03T12:00:00.000Z (backup row " +
                        ids[1] + ", UPDATE by webapp)\n      put back "),
              std::string::npos)
        << text;
    // The second drop: after the daemon's first rewrite, before its second.
    EXPECT_NE(text.find("(backup row " + ids[3] + ", after_update by chatledger-syncd) and "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("(backup row " + ids[4] +
                        ", before_update by chatledger-syncd)\n"
                        "      put back "),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("      put back "), std::string::npos) << text;
    EXPECT_NE(text.find(", application, the ledger got it "), std::string::npos) << text;
    EXPECT_NE(text.find("      cy: new\n      NOT in the legacy column now\n"), std::string::npos)
        << text;

    ASSERT_EQ(migrate("history", {"z1", "--json"}), 0) << err_.str();
    const std::string json = out_.str();
    EXPECT_EQ(json.find("{\"zoho_id\":\"z1\",\"legacy_row\":true,\"ledger_messages\":4,"
                        "\"shown_in_legacy_column\":3,"),
              0u)
        << json;
    EXPECT_NE(json.find("\"queued_events\":[{\"id\":null,\"collected\":false,\"kind\":\"append\""),
              std::string::npos)
        << json;
    EXPECT_NE(json.find("\"source\":\"backup\",\"origin\":\"recovered from a backup\""),
              std::string::npos)
        << json;
    EXPECT_NE(json.find("\"drops\":[{\"last_seen\":{\"backup_id\":" + ids[0] +
                        ",\"at\":\"2024-01-02T12:00:00.000Z\",\"operation_type\":\"UPDATE\","
                        "\"operation_user\":\"webapp\"},\"dropped_in\":{\"backup_id\":" +
                        ids[1]),
              std::string::npos)
        << json;
    EXPECT_NE(json.find("\"dropped_in\":{\"backup_id\":" + ids[4] + ","), std::string::npos)
        << json;
    EXPECT_NE(json.find("\"put_back\":{\"backup_id\":" + ids[5] + ","), std::string::npos) << json;
}

TEST_F(history_pgtest, an_unknown_missing_or_extra_key_and_a_foreign_option_exit_2) {
    sql(*conn_, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('z1', '[1]')");
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    EXPECT_EQ(migrate("history", {"Z1"}), 2);
    EXPECT_NE(err_.str().find("no conversation Z1: neither " + legacy_table() +
                              " nor the ledger has that key HINT: "),
              std::string::npos)
        << err_.str();
    EXPECT_EQ(migrate("history"), 2);
    EXPECT_NE(err_.str().find("history needs the conversation's key HINT: "), std::string::npos)
        << err_.str();
    EXPECT_EQ(migrate("history", {"z1", "z2"}), 2);
    EXPECT_NE(err_.str().find("unexpected argument \"z2\" after the key"), std::string::npos)
        << err_.str();
    EXPECT_EQ(migrate("history", {"z1", "--report", "x.json"}), 2);
    EXPECT_NE(err_.str().find("history does not take --report"), std::string::npos) << err_.str();
    // Before the migration too: the legacy row alone is a conversation.
    ASSERT_EQ(migrate("history", {"z1"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("migrated               no (run has not copied it)"),
              std::string::npos)
        << out_.str();
}

}  // namespace
}  // namespace chatledger::migrator

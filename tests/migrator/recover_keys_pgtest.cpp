// Database tests of `recover` with backup keys that differ from the legacy keys in case, spacing
// or padding: such snapshots are listed with the likely key, never appended as conversations.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::migrator {
namespace {

class recover_keys_pgtest : public testing::legacy_db_test {
  protected:
    recover_keys_pgtest() {
        with_legacy_table_ = false;
    }  // each test creates the table it is about
};

// Guards against recover appending whole snapshots under 'z00060' and 'Z00061 ' as new
// conversations ("5 messages recovered") while the real conversations never got the lost one.
TEST_F(recover_keys_pgtest, backup_keys_no_legacy_row_has_are_listed_with_the_likely_key) {
    auto conn = connect();
    create_legacy_table(conn);
    sql(conn, R"(INSERT INTO live_chat (zoho_id, chat_history) VALUES
                     ('Z00060', '["a1","a2"]'), ('Z00061', '["b1"]'), ('Z00062', '["c1"]'))");
    std::string out;
    ASSERT_EQ(migrate_line("schema", out), 0) << out;
    ASSERT_EQ(migrate_line("run", out), 0) << out;
    sql(conn, R"(INSERT INTO chat_history_backup (zoho_id, operation_type, chat_history_backup)
                 VALUES ('z00060', 'before_update', '["a1","a2","lost60"]'),
                        ('Z00061 ', 'before_update', '["b1","lost61"]'),
                        ('Z00062', 'before_update', '["c1","lost62"]'),
                        ('nobody', 'before_update', '["n1"]'))");
    ASSERT_EQ(migrate_line("recover", out), 0) << out;
    EXPECT_NE(out.find("'z00060': no legacy row has this key, 1 snapshot(s) not recovered; "
                       "likely 'Z00060'"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("'Z00061 ': no legacy row has this key, 1 snapshot(s) not recovered; "
                       "likely 'Z00061'"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("'nobody': no legacy row has this key, 1 snapshot(s) not recovered\n"),
              std::string::npos)
        << out;
    EXPECT_NE(out.find("Z00062: 1 message(s) recovered"), std::string::npos) << out;
    EXPECT_NE(out.find("backup keys with no legacy row 3"), std::string::npos) << out;
    // Nothing under a key no legacy row has: the ledger knows exactly the legacy conversations.
    EXPECT_EQ(sql(conn,
                  "SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id NOT IN "
                  "(SELECT zoho_id FROM live_chat)")
                  .integer(0, 0),
              0);
    EXPECT_EQ(sql(conn, "SELECT count(*) FROM chatledger.chat_messages WHERE source = 'backup'")
                  .integer(0, 0),
              1);
}

}  // namespace
}  // namespace chatledger::migrator

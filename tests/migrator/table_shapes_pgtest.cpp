// Database tests of legacy tables as real shops have them: row-level security must be an error,
// never a filter that lets `run` and `verify` pass over rows they cannot see.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/migrate_cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::migrator {
namespace {

class table_shapes_pgtest : public testing::pg_test {
  protected:
    void TearDown() override {
        std::filesystem::remove(config_path_);
        pg_test::TearDown();
    }
    /// Runs a migrate command as `login`; its exit status, with its output in `output`.
    int migrate_as(const std::string& login, const std::string& command, std::string& output) {
        config_path_ = (std::filesystem::temp_directory_path() / (dbname_ + ".yaml")).string();
        std::ofstream(config_path_) << config_yaml(conninfo_as(login));
        return testing::migrate_cli(config_path_, {command}, output);
    }

    std::string config_path_;
};

// Guards against a policy silently hiding legacy rows: with FORCE ROW LEVEL SECURITY the
// owner's `run` appended 0 messages and `verify` said every legacy message was in the ledger.
TEST_F(table_shapes_pgtest, row_level_security_that_would_hide_rows_is_an_error) {
    const auto& l = provision_logins();
    auto dba = connect_as(l.dba);
    sql(dba, R"(CREATE TABLE crm.live_chat (zoho_id text PRIMARY KEY, full_name text,
                    chat_history text, comments text, comments_entered_by text);
                INSERT INTO crm.live_chat (zoho_id, chat_history) VALUES
                    ('t1', '["one"]'), ('t2', '["two"]');
                ALTER TABLE crm.live_chat ENABLE ROW LEVEL SECURITY;
                ALTER TABLE crm.live_chat FORCE ROW LEVEL SECURITY;
                CREATE POLICY tenant ON crm.live_chat
                    USING (zoho_id = current_setting('app.tenant', true)))");
    std::string out;
    ASSERT_EQ(migrate_as(l.dba, "schema", out), 0) << out;
    EXPECT_EQ(migrate_as(l.dba, "run", out), 3) << out;
    EXPECT_NE(out.find("row-level security"), std::string::npos) << out;
    EXPECT_NE(out.find("live_chat"), std::string::npos) << out;
    EXPECT_EQ(sql(dba, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0), 0);
    EXPECT_EQ(migrate_as(l.dba, "verify", out), 3) << out;
    EXPECT_EQ(out.find("every legacy message is in the ledger"), std::string::npos) << out;
    // Without FORCE the owner sees every row, and the migration is whole.
    sql(dba, "ALTER TABLE crm.live_chat NO FORCE ROW LEVEL SECURITY");
    EXPECT_EQ(migrate_as(l.dba, "run", out), 0) << out;
    EXPECT_EQ(migrate_as(l.dba, "verify", out), 0) << out;
    EXPECT_EQ(sql(dba, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0), 2);
}

}  // namespace
}  // namespace chatledger::migrator

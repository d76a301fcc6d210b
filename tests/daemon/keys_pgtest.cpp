// Database tests of the daemon with legacy keys as real shops have them: a key two rows share,
// integer and char(n) keys, and events for a key the legacy table does not have.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "daemon/syncer.hpp"
#include "migrator/cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::daemon {
namespace {

class keys_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        conn_.emplace(connect());
        config_path_ = (std::filesystem::temp_directory_path() / (dbname_ + ".yaml")).string();
        std::ofstream(config_path_) << "database:\n  conninfo: \"" << conninfo() << "\"\n";
        cfg_ = make_config();
        provision_logins();
    }
    void TearDown() override {
        std::filesystem::remove(config_path_);
        conn_.reset();
        pg_test::TearDown();
    }
    /// Runs a migrate command as the DBA; its exit status, with its output in `output`.
    int migrate(const std::string& command) {
        std::ostringstream out, err;
        const char* argv[] = {"chatledger-migrate", "--config", config_path_.c_str(),
                              command.c_str()};
        const int rc = migrator::run_cli(4, argv, out, err);
        EXPECT_EQ(rc, 0) << command << ": " << out.str() << err.str();
        return rc;
    }
    /// One sync transaction as the daemon login.
    sync_outcome sync(const std::string& key) {
        auto c = connect_as(provision_logins().daemon);
        syncer s(c, cfg_);
        return s.sync(key);
    }
    long long count(const std::string& q) { return sql(*conn_, q).integer(0, 0); }
    void append(const std::string& key, const std::string& body) {
        auto app = connect_as(provision_logins().app);
        sql(app,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ($1, 'app', $2)",
            {key, body});
    }

    std::optional<pg::connection> conn_;
    config cfg_;
    std::string config_path_;
};

// Guards against the daemon rendering one row's conversation into every row of a key that two
// rows share (a unique index dropped after schema): it names the key instead.
TEST_F(keys_pgtest, a_key_two_rows_share_is_an_error_naming_it) {
    sql(*conn_, R"(CREATE TABLE live_chat (tenant_id integer, zoho_id text, full_name text,
                       chat_history text, comments text, comments_entered_by text,
                       PRIMARY KEY (tenant_id, zoho_id));
                   CREATE UNIQUE INDEX whole_key ON live_chat (zoho_id);
                   INSERT INTO live_chat (tenant_id, zoho_id, chat_history)
                       VALUES (1, 'E100', '["one"]'))");
    migrate("schema");
    migrate("run");
    sql(*conn_,
        "DROP INDEX whole_key; INSERT INTO live_chat (tenant_id, zoho_id, chat_history) "
        "VALUES (2, 'E100', '[\"two\"]')");
    append("E100", "new");
    try {
        sync("E100");
        ADD_FAILURE() << "the sync of a key two rows share succeeded";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.line()).find("2 rows with zoho_id 'E100'"), std::string::npos)
            << e.line();
        EXPECT_NE(std::string(e.line()).find("HINT:"), std::string::npos) << e.line();
    }
    EXPECT_EQ(count("SELECT count(*) FROM live_chat WHERE chat_history LIKE '%new%'"), 0);
    EXPECT_GT(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'E100'"), 0);
}

}  // namespace
}  // namespace chatledger::daemon

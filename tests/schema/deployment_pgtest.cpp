// The deployment of CONTRACT section 7, end to end with the real executables: a DBA that is no
// superuser owning the legacy table in a non-public schema, and one login per ledger role.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>

#include "tests/support/child_process.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::schema {
namespace {

using namespace std::chrono_literals;

class deployment_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        base_ = (std::filesystem::temp_directory_path() / dbname_).string();
        logins_ = provision_logins(false);
        // Everything on the legacy side is the DBA's, as in a real CRM database (the fixture
        // made it the owner of crm, and gave the legacy login USAGE on it).
        auto dba = connect_as(logins_.dba);
        sql(dba,
            "CREATE TABLE crm.live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history "
            "text, comments text, comments_entered_by text); GRANT SELECT, INSERT, UPDATE ON "
            "crm.live_chat TO " +
                logins_.legacy +
                "; INSERT INTO crm.live_chat VALUES ('a', 'Ann', "
                "'[{\"sender\":\"ann\",\"message\":\"m1\",\"timestamp\":\"2024-01-01T00:00:00."
                "000Z\"}]', 'm1', 'ann')");
    }
    void TearDown() override {
        for (const char* f : {"_dba.yaml", "_daemon.yaml", "_reader.yaml", ".log"})
            std::filesystem::remove(base_ + f);
        pg_test::TearDown();
    }

    /// A config file logging in as `login`; returns its path.
    std::string config_for(const std::string& name, const std::string& login) {
        const std::string path = base_ + "_" + name + ".yaml";
        std::ofstream(path) << config_yaml(conninfo_as(login))
                            << "daemon:\n  poll_interval_ms: 100\n";
        return path;
    }

    /// Runs an executable to its end; its output is left in output_.
    int run(const char* binary, const std::vector<std::string>& args) {
        const std::string log = base_ + ".log";
        std::filesystem::remove(log);
        testing::child_process p(binary, args, log);
        const int rc = p.wait_exit(60s);
        output_ = testing::read_file(log);
        return rc;
    }
    int migrate(const std::string& config, const std::string& command) {
        return run(CHATLEDGER_MIGRATE_BIN, {"--config", config, command});
    }

    std::string base_;
    testing::deployment_logins logins_;
    std::string output_;
};

TEST_F(deployment_pgtest, every_login_does_its_part_with_only_its_role) {
    const auto dba = config_for("dba", logins_.dba);
    const auto daemon = config_for("daemon", logins_.daemon);
    const auto reader = config_for("reader", logins_.reader);
    ASSERT_EQ(migrate(dba, "schema"), 0) << output_;
    ASSERT_EQ(migrate(dba, "run"), 0) << output_;
    ASSERT_EQ(migrate(dba, "verify"), 0) << output_;
    {
        // The DBA hands out the ledger roles, as docs/operations.md tells it to.
        auto c = connect_as(logins_.dba);
        sql(c, "GRANT chatledger_daemon TO " + logins_.daemon + "; GRANT chatledger_reader TO " +
                   logins_.reader + "; GRANT chatledger_writer TO " + logins_.app);
    }

    // A legacy writer drops m1 and adds m2; an application appends m3.
    {
        auto c = connect_as(logins_.legacy);
        sql(c,
            "UPDATE crm.live_chat SET chat_history = '[{\"sender\":\"bob\",\"message\":\"m2\"}]', "
            "comments = 'm2', comments_entered_by = 'bob' WHERE zoho_id = 'a'");
        auto app = connect_as(logins_.app);
        sql(app,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', "
            "'app', 'm3')");
    }
    ASSERT_EQ(run(CHATLEDGER_SYNCD_BIN, {"--config", daemon, "--once"}), 0) << output_;
    EXPECT_EQ(output_.find("permission denied"), std::string::npos) << output_;
    auto probe = connect();
    auto history = [&] {
        return std::string(
            sql(probe, "SELECT chat_history FROM crm.live_chat WHERE zoho_id = 'a'").text(0, 0));
    };
    for (const char* m : {"\"m1\"", "\"m2\"", "\"m3\""})
        EXPECT_NE(history().find(m), std::string::npos) << m << " in " << history();

    // The long-running daemon, as the same login, keeps the column rendered.
    const std::string log = base_ + ".log";
    std::filesystem::remove(log);
    {
        testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", daemon}, log);
        ASSERT_TRUE(wait_until(
            [&] { return testing::read_file(log).find("ready:") != std::string::npos; }, 30s))
            << testing::read_file(log);
        auto c = connect_as(logins_.legacy);
        sql(c,
            "UPDATE crm.live_chat SET chat_history = '[]', comments = 'm4', comments_entered_by "
            "= 'bob' WHERE zoho_id = 'a'");
        EXPECT_TRUE(wait_until(
            [&] {
                return history().find("\"m4\"") != std::string::npos &&
                       history().find("\"m1\"") != std::string::npos &&
                       sql(probe, "SELECT count(*) FROM chatledger.sync_queue").integer(0, 0) == 0;
            },
            30s))
            << history() << testing::read_file(log);
        // Monitoring sees the daemon's heartbeat.
        EXPECT_TRUE(wait_until(
            [&] {
                return migrate(reader, "status") == 0 &&
                       output_.find("syncd ") != std::string::npos;
            },
            30s))
            << output_;
        // And who holds the daemon role, whose legacy writes are not captured. Roles are
        // cluster-wide: the other tests' daemon logins hold it too.
        const auto held = output_.find("daemon role held by    ");
        ASSERT_NE(held, std::string::npos) << output_;
        EXPECT_NE(output_.substr(held, output_.find('\n', held) - held).find(logins_.daemon),
                  std::string::npos)
            << output_;
        d.signal(SIGTERM);
        EXPECT_EQ(d.wait_exit(10s), 0);
    }
    const std::string daemon_log = testing::read_file(log);
    EXPECT_EQ(daemon_log.find("permission denied"), std::string::npos) << daemon_log;
    EXPECT_EQ(daemon_log.find("error"), std::string::npos) << daemon_log;
    EXPECT_EQ(migrate(dba, "verify"), 0) << output_;
    // Each login kept its place: the reader and the daemon cannot run the DBA's commands.
    EXPECT_NE(migrate(reader, "run"), 0);
    EXPECT_NE(migrate(daemon, "schema"), 0);
}

}  // namespace
}  // namespace chatledger::schema

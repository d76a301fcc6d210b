// The logins chatledger-syncd runs as: never a superuser, whose rights any trigger on the legacy
// table would borrow; the refusal is one error line and exit status 2, not a retry loop.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "schema/apply.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

class login_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        auto c = connect();
        create_legacy_table(c);
        schema::apply_schema(c, make_config(), false);
        base_ = (std::filesystem::temp_directory_path() / dbname_).string();
    }
    void TearDown() override {
        std::filesystem::remove(base_ + ".yaml");
        std::filesystem::remove(base_ + ".log");
        pg_test::TearDown();
    }

    /// Runs chatledger-syncd with `conninfo` and `args`; returns its exit status, output in out_.
    int syncd(const std::string& conninfo, std::vector<std::string> args) {
        std::ofstream(base_ + ".yaml") << config_yaml(conninfo);
        args.insert(args.begin(), {"--config", base_ + ".yaml"});
        std::filesystem::remove(base_ + ".log");
        testing::child_process d(CHATLEDGER_SYNCD_BIN, args, base_ + ".log");
        const int rc = d.wait_exit(15s);
        out_ = testing::read_file(base_ + ".log");
        return rc;
    }

    std::string base_, out_;
};

TEST_F(login_pgtest, a_superuser_login_is_refused_with_exit_2_and_the_grant_to_run) {
    for (const auto& args : {std::vector<std::string>{}, std::vector<std::string>{"--once"}}) {
        ASSERT_EQ(syncd(superuser_conninfo(), args), 2) << out_;
        // One error line, after the start line that says what the daemon targets.
        EXPECT_EQ(std::count(out_.begin(), out_.end(), '\n'), 2) << out_;
        EXPECT_LT(out_.find(" starting"), out_.find("refusing")) << out_;
        EXPECT_NE(out_.find("chatledger-syncd: refusing to run as superuser"), std::string::npos)
            << out_;
        EXPECT_NE(out_.find("HINT: log in as a role granted only chatledger_daemon"),
                  std::string::npos)
            << out_;
        EXPECT_NE(out_.find("GRANT chatledger_daemon TO"), std::string::npos) << out_;
    }
}

TEST_F(login_pgtest, a_superuser_role_taken_through_conninfo_options_is_refused_too) {
    // The login holds the daemon role, but options switch the session to a superuser role.
    const auto& l = provision_logins();
    const std::string su = std::getenv("PGUSER") ? std::getenv("PGUSER") : "postgres";
    auto c = connect_superuser();  // only a superuser grants a superuser role
    sql(c, "GRANT " + su + " TO " + l.daemon);
    EXPECT_EQ(syncd(conninfo_as(l.daemon) + " options='-c role=" + su + "'", {"--once"}), 2)
        << out_;
    sql(c, "REVOKE " + su + " FROM " + l.daemon);
    EXPECT_EQ(syncd(daemon_conninfo(), {"--once"}), 0) << out_;
}

// A login without the daemon role is told the one GRANT it lacks, with the role's real name.
TEST_F(login_pgtest, a_login_without_the_daemon_role_is_told_the_grant) {
    const auto& l = provision_logins(false);
    EXPECT_EQ(syncd(conninfo_as(l.daemon), {"--once"}), 3) << out_;
    EXPECT_NE(out_.find("permission denied"), std::string::npos) << out_;
    EXPECT_NE(out_.find("HINT: grant the login its role, as the DBA: GRANT chatledger_daemon TO " +
                        l.daemon + "; chatledger-syncd needs nothing else"),
              std::string::npos)
        << out_;
    EXPECT_EQ(out_.find('<'), std::string::npos) << out_;
}

}  // namespace
}  // namespace chatledger::daemon

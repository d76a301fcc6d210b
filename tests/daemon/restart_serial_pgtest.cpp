// chatledger-syncd across a database restart (pg_ctl restart -m immediate): it reconnects with
// backoff, LISTENs again, catches up, and loses nothing. Runs alone: it restarts the server.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/cluster.hpp"
#include "tests/support/migrate_cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

class restart_pgtest : public testing::pg_test {};

TEST_F(restart_pgtest, the_daemon_survives_a_database_restart) {
    const std::string data = std::string(std::getenv("PGHOST")) + "/data";
    if (!std::filesystem::exists(data + "/postmaster.pid"))
        GTEST_FAIL() << "no cluster data directory at " << data << " (run through scripts/test.sh)";
    auto conn = connect();
    create_legacy_table(conn);
    sql(conn, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('a', '[\"m1\"]')");
    const auto base = std::filesystem::temp_directory_path() / dbname_;
    const std::string config = base.string() + ".yaml", log = base.string() + ".log";
    std::ofstream(config) << config_yaml();
    for (const char* command : {"schema", "run"}) {
        std::string output;
        ASSERT_EQ(testing::migrate_cli(config, {command}, output), 0) << output;
    }
    // The daemon logs in as a deployment would run it: granted chatledger_daemon only.
    std::ofstream(config) << config_yaml(daemon_conninfo())
                          << "daemon:\n  poll_interval_ms: 200\n  reconnect_min_ms: 100\n"
                             "  reconnect_max_ms: 1000\n";
    testing::child_process daemon(CHATLEDGER_SYNCD_BIN, {"--config", config}, log);
    auto read_log = [&] { return testing::read_file(log); };
    auto wait_for = [&](auto pred, std::chrono::seconds limit) {
        auto until = std::chrono::steady_clock::now() + limit;
        while (std::chrono::steady_clock::now() < until) {
            if (pred())
                return true;
            std::this_thread::sleep_for(100ms);
        }
        return false;
    };
    ASSERT_TRUE(wait_for([&] { return read_log().find("ready") != std::string::npos; }, 20s))
        << read_log();
    ASSERT_EQ(testing::restart_server(), 0);
    // Appended by an application right after the restart, while the daemon is still
    // reconnecting.
    auto after = connect();
    auto app = connect_as(provision_logins().app);
    sql(app,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'x', 'after "
        "restart')");
    EXPECT_TRUE(wait_for(
        [&] {
            return sql(after, "SELECT chat_history FROM live_chat WHERE zoho_id = 'a'")
                       .text(0, 0)
                       .find("after restart") != std::string_view::npos;
        },
        30s))
        << read_log();
    const std::string l = read_log();
    const auto reconnected = l.find("reconnected: listening on channel chatledger");
    ASSERT_NE(reconnected, std::string::npos) << l;
    EXPECT_NE(l.find("caught up", reconnected), std::string::npos) << l;
    daemon.signal(SIGTERM);
    EXPECT_EQ(daemon.wait_exit(5s), 0) << read_log();
    std::filesystem::remove(config);
    std::filesystem::remove(log);
}

}  // namespace
}  // namespace chatledger::daemon

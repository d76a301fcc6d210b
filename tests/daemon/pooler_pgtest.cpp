// The daemon behind a real PgBouncer in transaction pooling mode, as dashboards are often fronted:
// it syncs through it, says that notifications do not reach it, and leaks no setting.
#include <gtest/gtest.h>
#include <signal.h>
#include <unistd.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/migrate_cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

constexpr const char* pgbouncer_bin = "/usr/sbin/pgbouncer";

class pooler_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        if (!std::filesystem::exists(pgbouncer_bin))
            GTEST_SKIP() << pgbouncer_bin
                         << " is not installed (Debian package pgbouncer, which "
                            "scripts/install-deps.sh installs)";
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        dir_ = std::filesystem::temp_directory_path() / (dbname_ + ".pooler");
        std::filesystem::create_directories(dir_);
        std::filesystem::permissions(dir_, std::filesystem::perms::all);
    }
    void TearDown() override {
        bouncer_.reset();
        if (!dir_.empty())
            std::filesystem::remove_all(dir_);
        pg_test::TearDown();
    }

    /// Starts PgBouncer (pool_mode = transaction, one server connection per user and database,
    /// so every client of a login shares it)
    /// on 127.0.0.1 in front of the test server; as `postgres` when root, which it refuses.
    int start_pgbouncer(const std::vector<std::string>& users) {
        const int port = testing::free_port();
        const char* host = std::getenv("PGHOST");
        const char* pgport = std::getenv("PGPORT");
        {
            std::ofstream users_file(dir_ / "users.txt");
            for (const auto& u : users) users_file << "\"" << u << "\" \"\"\n";
        }
        std::ofstream(dir_ / "pgbouncer.ini")
            << "[databases]\n* = host=" << (host ? host : "/var/run/postgresql")
            << " port=" << (pgport ? pgport : "5432") << "\n[pgbouncer]\nlisten_addr = 127.0.0.1\n"
            << "listen_port = " << port << "\nunix_socket_dir =\nauth_type = trust\nauth_file = "
            << (dir_ / "users.txt").string()
            << "\npool_mode = transaction\ndefault_pool_size = 1\nmax_client_conn = 50\n"
            << "logfile = " << (dir_ / "pgbouncer.log").string() << "\n";
        std::vector<std::string> args;
        std::string binary = pgbouncer_bin;
        if (geteuid() == 0) {
            binary = "/usr/bin/setpriv";
            args = {"--reuid=postgres", "--regid=postgres", "--init-groups", pgbouncer_bin};
        }
        args.push_back((dir_ / "pgbouncer.ini").string());
        bouncer_.emplace(binary, args, (dir_ / "pgbouncer.out").string());
        for (int i = 0; i < 100; ++i) {
            try {
                database_config db;
                db.conninfo = "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + dbname_ +
                              " user=" + users.front();
                pg::connection::open(db, "probe");
                return port;
            } catch (const error&) {
                std::this_thread::sleep_for(50ms);
            }
        }
        ADD_FAILURE() << "pgbouncer did not start: "
                      << testing::read_file((dir_ / "pgbouncer.out").string())
                      << testing::read_file((dir_ / "pgbouncer.log").string());
        return -1;
    }
    int migrate(const std::string& config, const std::string& command) {
        std::string output;
        const int rc = testing::migrate_cli(config, {command}, output);
        EXPECT_EQ(rc, 0) << output;
        return rc;
    }

    std::filesystem::path dir_;
    std::optional<testing::child_process> bouncer_;
};

// Guards against the daemon going quiet behind a transaction pooler: LISTEN does not work
// there and it logged "ready: listening" while lag grew; and against a setting of the daemon's
// (its lock_timeout) leaking to a dashboard client that shares its server connections.
TEST_F(pooler_pgtest, the_daemon_syncs_through_pgbouncer_and_says_notifications_do_not_reach_it) {
    const auto& l = provision_logins();
    auto conn = connect();
    create_legacy_table(conn);
    sql(conn,
        "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES "
        "('a', 'Ann', '[\"m1\"]')");
    const std::string dba_config = (dir_ / "dba.yaml").string();
    std::ofstream(dba_config) << config_yaml();
    ASSERT_EQ(migrate(dba_config, "schema"), 0);
    ASSERT_EQ(migrate(dba_config, "run"), 0);

    const int port = start_pgbouncer({l.daemon, l.app, l.legacy});
    ASSERT_GT(port, 0);
    auto pooled = [&](const std::string& user) {
        return "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + dbname_ +
               " user=" + user;
    };
    const int metrics_port = testing::free_port();
    const std::string daemon_config = (dir_ / "daemon.yaml").string();
    const std::string log = (dir_ / "daemon.log").string();
    std::ofstream(daemon_config) << config_yaml(pooled(l.daemon), "  lock_timeout_ms: 100\n")
                                 << "daemon:\n  poll_interval_ms: 5000\n  metrics_listen: "
                                    "\"127.0.0.1:"
                                 << metrics_port << "\"\n";
    testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", daemon_config}, log);
    auto wait_for = [](const std::function<bool()>& done) {
        for (auto until = std::chrono::steady_clock::now() + 20s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms))
            if (done())
                return true;
        return false;
    };
    ASSERT_TRUE(wait_for([&] {
        return testing::read_file(log).find("ready: listening") != std::string::npos;
    })) << testing::read_file(log);
    EXPECT_NE(testing::read_file(log).find("notifications do not reach this daemon: "
                                           "database.conninfo goes through a connection pooler "
                                           "in transaction pooling mode"),
              std::string::npos)
        << testing::read_file(log);
    const auto metrics = testing::http_get(metrics_port, "/metrics");
    EXPECT_NE(metrics.find("\nchatledger_syncd_notifications_ok 0\n"), std::string::npos)
        << metrics;

    // The failed probe leaves no LISTEN on the pooled server connection: a client the pooler
    // links to it (the one server connection of the daemon's login) listens on nothing, and
    // receives none of the ledger's wake-ups.
    database_config shared_db;
    shared_db.conninfo = pooled(l.daemon);
    auto shared = pg::connection::open(shared_db, "shared");
    EXPECT_EQ(sql(shared, "SELECT count(*) FROM pg_listening_channels()").integer(0, 0), 0);
    const auto notified = [&] {
        sql(shared, "SELECT 1");
        PQconsumeInput(shared.native());
        PGnotify* n = PQnotifies(shared.native());
        const std::string channel = n ? n->relname : "";
        PQfreemem(n);
        return channel;
    };

    // An application append through the pooler is rendered by polling, well before the 5 s
    // poll interval a notified daemon would wait at most.
    database_config app_db;
    app_db.conninfo = pooled(l.app);
    auto app = pg::connection::open(app_db, "app");
    const auto appended = std::chrono::steady_clock::now();
    sql(app,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'bob', "
        "'through the pooler')");
    ASSERT_TRUE(wait_for([&] {
        return sql(conn,
                   "SELECT count(*) FROM live_chat WHERE chat_history LIKE '%through the "
                   "pooler%'")
                   .integer(0, 0) == 1;
    })) << testing::read_file(log);
    EXPECT_LT(std::chrono::steady_clock::now() - appended, 3s);
    EXPECT_EQ(notified(), "");

    // An UPDATE through the same pooler waits for a row lock far longer than the daemon's
    // lock_timeout, and succeeds. PgBouncer pools per login and database, so the client logs in
    // as the daemon's login to share its one server connection, as a dashboard sharing the
    // daemon's credentials did.
    auto holder = connect();
    sql(holder, "BEGIN; SELECT FROM live_chat WHERE zoho_id = 'a' FOR UPDATE");
    database_config dash_db;
    dash_db.conninfo = pooled(l.daemon);
    auto update = std::async(std::launch::async, [&] {
        try {
            auto dash = pg::connection::open(dash_db, "dashboard");
            for (int i = 0; i < 3; ++i)  // while the daemon keeps polling on the same pool
                sql(dash, "SELECT full_name FROM " + legacy_table() + " WHERE zoho_id = 'a'", {});
            sql(dash, "UPDATE " + legacy_table() +
                          " SET comments_entered_by = 'Ann B' WHERE zoho_id = 'a'");
            return std::string();
        } catch (const error& e) {
            return std::string(e.line());
        }
    });
    std::this_thread::sleep_for(1500ms);
    sql(holder, "COMMIT");
    EXPECT_EQ(update.get(), "");
    EXPECT_EQ(
        std::string(
            sql(conn, "SELECT comments_entered_by FROM live_chat WHERE zoho_id = 'a'").text(0, 0)),
        "Ann B");
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(5s), 0) << testing::read_file(log);
}

// Guards against named prepared statements behind a transaction pooler: two clients share one
// server connection there, so the second one's statement collides with the first one's (and a
// swapped server connection has none). The daemon prepares only on a connection notifications
// reach; should it prepare behind a pooler anyway, the first collision is a retryable error and
// the connection goes on without preparing.
TEST_F(pooler_pgtest, a_connection_that_prepares_behind_pgbouncer_falls_back_to_plain_statements) {
    const auto& l = provision_logins();
    const int port = start_pgbouncer({l.daemon});
    ASSERT_GT(port, 0);
    database_config db;
    db.conninfo =
        "host=127.0.0.1 port=" + std::to_string(port) + " dbname=" + dbname_ + " user=" + l.daemon;
    auto first = pg::connection::open(db, "first");
    auto second = pg::connection::open(db, "second");
    first.prepare(true);
    second.prepare(true);
    const std::string hot = "SELECT $1::integer * 2";
    EXPECT_EQ(first.exec_hot("test statement", hot, {"2"}).integer(0, 0), 4);
    EXPECT_THROW(second.exec_hot("test statement", hot, {"3"}), pg::prepared_statement_lost);
    EXPECT_FALSE(second.prepares());
    for (int i = 0; i < 3; ++i)
        EXPECT_EQ(second.exec_hot("test statement", hot, {std::to_string(i)}).integer(0, 0), i * 2);
}

}  // namespace
}  // namespace chatledger::daemon

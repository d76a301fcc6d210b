// End-to-end tests of daemon guarantees: each write goes through the legacy table, the capture
// trigger, the queue and a running chatledger-syncd, never a direct syncer call.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <thread>

#include "tests/support/child_process.hpp"
#include "tests/support/legacy_db_fixture.hpp"
#include "tests/support/migrate_cli.hpp"

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

class syncd_guarantees_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        log_path_ = path("syncd.log");
        // The DBA's config for migrate; the daemon logs in as deployed, with its role only.
        std::ofstream(config_path_) << config_yaml() << "daemon:\n  poll_interval_ms: 200\n";
        daemon_config_path_ = path("syncd.yaml");
        std::ofstream(daemon_config_path_)
            << config_yaml(daemon_conninfo()) << "daemon:\n  poll_interval_ms: 200\n";
    }
    /// The real executable, as systemd runs it.
    std::unique_ptr<testing::child_process> start_daemon() {
        return std::make_unique<testing::child_process>(
            CHATLEDGER_SYNCD_BIN,
            std::vector<std::string>{"--config", daemon_config_path_, "--log-level", "debug"},
            log_path_);
    }
    std::string column(const std::string& name, const std::string& key) {
        return std::string(
            sql(*conn_, "SELECT " + name + " FROM live_chat WHERE zoho_id = $1", {key}).text(0, 0));
    }
    std::string log() { return testing::read_file(log_path_); }
    /// Waits until the daemon has worked off every queued event. A queue row is deleted in the
    /// transaction that acted on it, so an empty queue means every committed write is handled.
    [[nodiscard]] bool converge() {
        return wait_until([&] { return count("SELECT count(*) FROM chatledger.sync_queue") == 0; },
                          30s);
    }
    void stop(testing::child_process& d) {
        d.signal(SIGTERM);
        EXPECT_EQ(d.wait_exit(5s), 0) << log();
    }

    std::string daemon_config_path_, log_path_;
};

// Guards against the capture trigger no longer queueing a write that sets only the comment
// columns (legacy_capture.sql: {{comment}} and {{comment_author}} dropped from the trigger's
// UPDATE OF list, or from the function's "nothing changed" test). Such a write then never
// reaches the daemon, and the message an older write path left only in the comment is lost.
TEST_F(syncd_guarantees_pgtest, a_comment_only_legacy_write_reaches_the_ledger_through_the_daemon) {
    sql(*conn_,
        R"(INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ('a', 'Name', '[{"sender":"ann","message":"1"}]'))");
    migrate_ok("schema");
    migrate_ok("run");
    auto d = start_daemon();
    auto writer = connect_legacy();
    sql(writer,
        "UPDATE live_chat SET comments = 'call me', comments_entered_by = 'carl' WHERE zoho_id = "
        "'a'");
    ASSERT_TRUE(converge()) << log();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a' AND body = "
                    "'call me' AND author = 'carl'"),
              1)
        << log();
    // The rendered column shows it as a message, and the comment columns still hold it.
    EXPECT_NE(column("chat_history", "a").find("call me"), std::string::npos)
        << column("chat_history", "a") << "\n"
        << log();
    EXPECT_EQ(column("comments", "a"), "call me");
    EXPECT_EQ(column("comments_entered_by", "a"), "carl");
    // Its own rewrite is not captured again, and nothing is appended twice.
    std::this_thread::sleep_for(500ms);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a'"), 2);
    stop(*d);
}

// Guards against the ingest rule treating a value as a set, end to end: the column held "ok"
// once (so the ledger does), and a legacy write shows it twice. The ledger must then hold two,
// and the same value captured again adds nothing (count = max(ledger, value)). Fails when
// core::elements_to_append appends only identities the ledger lacks entirely.
TEST_F(syncd_guarantees_pgtest, a_legacy_write_repeating_a_held_message_adds_it_once_more) {
    sql(*conn_,
        R"(INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ('a', 'Name', '[{"sender":"s","message":"ok"}]'))");
    migrate_ok("schema");
    migrate_ok("run");
    ASSERT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 1);
    auto d = start_daemon();
    const std::string twice = R"([{"sender":"s","message":"ok"},{"sender":"s","message":"ok"}])";
    auto writer = connect_legacy();
    sql(writer, "UPDATE live_chat SET chat_history = $1 WHERE zoho_id = 'a'", {twice});
    ASSERT_TRUE(converge()) << log();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'ok'"), 2) << log();
    EXPECT_EQ(column("chat_history", "a"), twice);
    // Written back re-serialized, and once more as it is: still two.
    sql(writer,
        R"(UPDATE live_chat SET chat_history = '[{"message":"ok","sender":"s"}, {"message":"ok","sender":"s"}]' WHERE zoho_id = 'a')");
    ASSERT_TRUE(converge()) << log();
    sql(writer, "UPDATE live_chat SET chat_history = $1 WHERE zoho_id = 'a'", {twice});
    ASSERT_TRUE(converge()) << log();
    stop(*d);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'ok'"), 2);
    // A full reconcile agrees: nothing missing, nothing extra.
    testing::child_process once(CHATLEDGER_SYNCD_BIN, {"--config", daemon_config_path_, "--once"},
                                log_path_);
    EXPECT_EQ(once.wait_exit(30s), 0) << log();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'ok'"), 2);
    EXPECT_EQ(count("SELECT json_array_length(chat_history::json) FROM live_chat"), 2);
}

}  // namespace
}  // namespace chatledger::daemon

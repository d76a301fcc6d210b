// chatledger-syncd watches the capture trigger the legacy table's owner can drop or disable:
// an error line on connect and at the heartbeat that finds it, and a warning naming every other
// trigger or rule on the table, which the daemon's rewrites fire with its login's privileges.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <thread>

#include "schema/apply.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

class capture_watch_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        schema::apply_schema(*conn_, cfg_, false);
        base_ = path("syncd");
        std::ofstream(base_ + ".yaml")
            << config_yaml(daemon_conninfo()) << "daemon:\n  poll_interval_ms: 200\n";
    }
    std::string log() const { return testing::read_file(base_ + ".log"); }
    /// Waits until the log holds `what` after offset `from`.
    bool wait_log(const std::string& what, size_t from = 0) const {
        for (auto until = std::chrono::steady_clock::now() + 15s;
             std::chrono::steady_clock::now() < until; std::this_thread::sleep_for(50ms)) {
            const auto l = log();
            if (l.size() > from && l.find(what, from) != std::string::npos)
                return true;
        }
        return false;
    }

    /// The daemon's files: base_ + ".yaml", base_ + ".log".
    std::string base_;
};

TEST_F(capture_watch_pgtest, the_daemon_reports_the_trigger_at_once_and_names_foreign_ones) {
    sql(*conn_,
        "CREATE FUNCTION audit() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN RETURN NULL; END "
        "$$; CREATE TRIGGER audit AFTER UPDATE ON live_chat FOR EACH ROW EXECUTE FUNCTION "
        "audit(); ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture");
    testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", base_ + ".yaml"}, base_ + ".log");
    ASSERT_TRUE(wait_log("ready:")) << log();
    EXPECT_NE(log().find("warn chatledger-syncd: legacy table " + legacy_table() +
                         " also has trigger audit: the daemon's rewrites fire them with its "
                         "login's privileges"),
              std::string::npos)
        << log();
    EXPECT_NE(log().find("error chatledger-syncd: the capture trigger chatledger_capture on " +
                         legacy_table() + " is disabled"),
              std::string::npos)
        << log();
    EXPECT_NE(log().find("HINT: run: chatledger-migrate --config FILE schema"), std::string::npos)
        << log();
    // Put back by hand: the next heartbeat says so; dropped: the next one reports it.
    sql(*conn_, "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture");
    EXPECT_TRUE(wait_log("the capture trigger on " + legacy_table() + " is back in place"))
        << log();
    const size_t mark = log().size();
    sql(*conn_, "DROP TRIGGER chatledger_capture ON live_chat");
    EXPECT_TRUE(wait_log("error chatledger-syncd: the capture trigger chatledger_capture on " +
                             legacy_table() + " is missing",
                         mark))
        << log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(10s), 0) << log();
}

TEST_F(capture_watch_pgtest, once_reports_it_too) {
    sql(*conn_, "ALTER TABLE live_chat ENABLE REPLICA TRIGGER chatledger_capture");
    testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", base_ + ".yaml", "--once"},
                             base_ + ".log");
    EXPECT_EQ(d.wait_exit(30s), 0) << log();
    EXPECT_NE(log().find("error chatledger-syncd: the capture trigger chatledger_capture on " +
                         legacy_table() + " fires only in replica sessions"),
              std::string::npos)
        << log();
}

}  // namespace
}  // namespace chatledger::daemon

// daemon.workers: the daemon syncs conversations over several connections, and still never
// syncs one conversation on two of them at once.
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

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

class workers_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        config_ = path("syncd.yaml");
        log_ = path("syncd.log");
    }
    std::string log() { return testing::read_file(log_); }

    std::string config_, log_;
};

// Guards against one daemon syncing on one connection only: a conversation whose rewrite waits
// (here a legacy trigger waiting for the test to open a gate; in the field a slow trigger or a
// huge value) held every other conversation behind it. With two workers the other one is
// rendered meanwhile, and the held conversation is still synced by one worker at a time.
TEST_F(workers_pgtest, a_conversation_held_in_its_rewrite_does_not_hold_the_others) {
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ('a', 'A', '[\"a1\"]'), "
        "('b', 'B', '[\"b1\"]')");
    migrate_ok("schema");
    migrate_ok("run");
    // Not a lock wait: lock_timeout would end that one and move on to the next conversation.
    // Pinned to the legacy schema: the trigger runs with the daemon's search_path.
    sql(*conn_, R"(CREATE TABLE gate (open boolean); GRANT SELECT ON gate TO PUBLIC;
                   CREATE FUNCTION hold_a() RETURNS trigger LANGUAGE plpgsql
                   SET search_path FROM CURRENT AS $$
                   BEGIN
                       WHILE NEW.zoho_id = 'a' AND NOT EXISTS (SELECT FROM gate) LOOP
                           PERFORM pg_sleep(0.02);
                       END LOOP;
                       RETURN NEW;
                   END $$;
                   CREATE TRIGGER hold_a BEFORE UPDATE ON live_chat
                       FOR EACH ROW EXECUTE FUNCTION hold_a())");
    // a's event is the oldest: a single connection would take it first and wait there.
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'a2')");
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('b', 'b2')");
    // A long lock_timeout: a second sync of a would wait on its advisory lock, visibly.
    std::ofstream(config_) << config_yaml(daemon_conninfo(), "  lock_timeout_ms: 60000\n")
                           << "daemon:\n  workers: 2\n  poll_interval_ms: 100\n";
    testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", config_}, log_);
    ASSERT_TRUE(wait_until(
        [&] {
            return count(
                       "SELECT count(*) FROM live_chat WHERE zoho_id = 'b' AND chat_history "
                       "LIKE '%b2%'") == 1;
        },
        20s))
        << log();
    // More work for a while it is held: no second worker takes it up meanwhile.
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'a3')");
    for (int i = 0; i < 20; ++i, std::this_thread::sleep_for(50ms))
        ASSERT_EQ(count("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory' AND NOT "
                        "granted"),
                  0);
    EXPECT_EQ(count("SELECT count(*) FROM live_chat WHERE zoho_id = 'a' AND chat_history LIKE "
                    "'%a2%'"),
              0);
    sql(*conn_, "INSERT INTO gate VALUES (true)");
    ASSERT_TRUE(wait_until(
        [&] {
            return count(
                       "SELECT count(*) FROM live_chat WHERE zoho_id = 'a' AND "
                       "json_array_length(chat_history::json) = 3 AND "
                       "chat_history LIKE '%a1%a2%a3%'") == 1;
        },
        20s))
        << log()
        << std::string(
               sql(*conn_, "SELECT chat_history FROM live_chat WHERE zoho_id = 'a'").text(0, 0));
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(5s), 0) << log();
}

}  // namespace
}  // namespace chatledger::daemon

// Database tests of the rotating sync queue (schema step 0009): events written across a rotation
// and a maintenance pass are claimed once, and a slot is truncated only when drained and unlocked.
#include <gtest/gtest.h>

#include <atomic>
#include <chrono>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "daemon/sync_repository.hpp"
#include "daemon/syncer.hpp"
#include "schema/apply.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::daemon {
namespace {

class queue_rotation_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        cfg_.database.conninfo = conninfo();
        schema::apply_schema(*conn_, cfg_, false);
        const auto& l = provision_logins();
        sql(*conn_, "GRANT SELECT, INSERT, UPDATE ON live_chat TO " + l.legacy);
        // Autovacuum could shrink a slot to nothing behind the test's back.
        for (int s = 0; s < 3; ++s)
            sql(*conn_, "ALTER TABLE chatledger.sync_queue_" + std::to_string(s) +
                            " SET (autovacuum_enabled = false)");
        daemon_.emplace(connect_as(l.daemon));
    }
    void TearDown() override {
        daemon_.reset();
        legacy_db_test::TearDown();
    }

    long long slot_size(int s) {
        return count("SELECT pg_relation_size('chatledger.sync_queue_" + std::to_string(s) + "')");
    }
    int current_slot() { return static_cast<int>(count("SELECT chatledger.queue_slot()")); }
    /// Fills the current slot past the rotation size with events, committed and then consumed:
    /// a slot that has seen that many events is due to be left.
    void fill_current_slot() {
        sql(*conn_,
            "INSERT INTO chatledger.sync_queue (zoho_id, kind, history) "
            "SELECT 'filler', 'update', repeat('x', 1900) FROM generate_series(1, 4700)");
        sql(*conn_, "DELETE FROM chatledger.sync_queue WHERE zoho_id = 'filler'");
        ASSERT_GE(slot_size(current_slot()), 4 * 1024 * 1024);
    }
    queue_maintenance maintain() { return sync_repository(*daemon_, cfg_).maintain_queue(); }
    /// Syncs every queued conversation once, as the daemon's round does.
    long long sync_queued() {
        sync_repository repo(*daemon_, cfg_);
        repo.collect_appends();
        syncer s(*daemon_, cfg_);
        long long events = 0;
        for (const auto& z : repo.queued_conversations(100)) events += s.sync(z).events;
        return events;
    }

    std::optional<pg::connection> daemon_;
};

// Guards maintenance against a hostile login (schema step 0012): its turn was an advisory lock,
// which any login can take and keep, and then no slot was ever truncated or left again.
TEST_F(queue_rotation_pgtest, no_other_login_can_keep_maintenance_from_its_turn) {
    auto app = connect_as(provision_logins().app);
    sql(app, "SELECT pg_advisory_lock(hashtextextended('chatledger queue chatledger', 0))");
    sql(app, "BEGIN");
    EXPECT_THROW(sql(app, "LOCK TABLE chatledger.maintenance_turn IN ACCESS SHARE MODE"),
                 pg::db_error);
    sql(app, "ROLLBACK");
    fill_current_slot();
    EXPECT_TRUE(maintain().rotated);
    EXPECT_EQ(current_slot(), 1);
}

TEST_F(queue_rotation_pgtest,
       an_event_open_across_a_rotation_and_a_maintenance_pass_is_claimed_once) {
    sql(*conn_, "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ('k', 'K', '[]')");
    ASSERT_EQ(sync_queued(), 1);
    ASSERT_EQ(current_slot(), 0);

    // A legacy writer's capture event, written into slot 0 and left uncommitted.
    auto writer = connect_as(provision_logins().legacy);
    pg::transaction open(writer);
    sql(writer,
        "UPDATE live_chat SET chat_history = "
        "'[{\"sender\":\"w\",\"message\":\"held open\",\"timestamp\":\"2025-01-01T00:00:00Z\"}]' "
        "WHERE zoho_id = 'k'");

    fill_current_slot();
    auto m = maintain();
    EXPECT_TRUE(m.rotated);
    EXPECT_EQ(current_slot(), 1);
    // Slot 0 holds the open write: its lock keeps the slot from being truncated.
    m = maintain();
    EXPECT_EQ(m.truncated, 0);
    EXPECT_GT(slot_size(0), 0);

    open.commit();
    // Committed and not yet claimed: still not truncated.
    EXPECT_EQ(maintain().truncated, 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue_0"), 1);

    EXPECT_EQ(sync_queued(), 1);
    EXPECT_EQ(sync_queued(), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'k' AND "
                    "body = 'held open'"),
              1);
    EXPECT_EQ(count("SELECT json_array_length(chat_history::json) FROM live_chat "
                    "WHERE zoho_id = 'k'"),
              1);
    // Drained: now it goes.
    EXPECT_EQ(maintain().truncated, 1);
    EXPECT_EQ(slot_size(0), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
}

TEST_F(queue_rotation_pgtest, a_drained_slot_read_by_an_open_transaction_is_not_truncated) {
    fill_current_slot();
    ASSERT_TRUE(maintain().rotated);
    ASSERT_GT(slot_size(0), 0);

    // A reader left open holds its lock on every slot; NOWAIT gives up instead of waiting.
    auto reader = connect_as(provision_logins().reader);
    {
        pg::transaction t(reader);
        sql(reader, "SELECT count(*) FROM chatledger.sync_queue");
        EXPECT_EQ(maintain().truncated, 0);
        EXPECT_GT(slot_size(0), 0);
        // The current slot stays where it is while no empty slot is truncated... and new events
        // still flow into it: an append made now is claimed through the parent.
        EXPECT_EQ(current_slot(), 1);
    }
    EXPECT_EQ(maintain().truncated, 1);
    EXPECT_EQ(slot_size(0), 0);
}

TEST_F(queue_rotation_pgtest,
       a_slot_with_an_uncommitted_event_is_skipped_and_rotation_uses_the_third) {
    sql(*conn_, "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ('k', 'K', '[]')");
    ASSERT_EQ(sync_queued(), 1);
    // A legacy write's event is inserted by its own transaction (appends are queued by the
    // daemon since step 0012): held open, it keeps its slot from being truncated.
    auto writer = connect_legacy();
    pg::transaction open(writer);
    sql(writer, "UPDATE live_chat SET chat_history = '[\"x\"]' WHERE zoho_id = 'k'");

    fill_current_slot();
    ASSERT_TRUE(maintain().rotated);  // 0 -> 1; slot 0 keeps the open write
    fill_current_slot();
    ASSERT_TRUE(maintain().rotated);  // 1 -> 2: slot 0 is still held
    EXPECT_EQ(current_slot(), 2);
    EXPECT_EQ(maintain().truncated, 1);  // slot 1, drained; slot 0 stays
    fill_current_slot();
    ASSERT_TRUE(maintain().rotated);  // 2 -> 1, past the held slot 0
    EXPECT_EQ(current_slot(), 1);
    EXPECT_GT(slot_size(0), 0);

    open.commit();
    EXPECT_EQ(sync_queued(), 1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'k'"), 1);
    EXPECT_EQ(count("SELECT json_array_length(chat_history::json) FROM live_chat "
                    "WHERE zoho_id = 'k'"),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
}

// Legacy writers, a syncing daemon, maintenance passes and rotations all at once: the slots
// change under every insert and claim, and still each captured message reaches the ledger once.
// A captured write lives only in its queue row, so a truncation that took one loses it for good.
TEST_F(queue_rotation_pgtest, racing_writers_rotations_and_truncations_lose_and_double_nothing) {
    using namespace std::chrono_literals;
    constexpr int rows_per_writer = 150, writers = 2;
    std::atomic<int> writing{writers};
    std::vector<std::thread> threads;
    for (int w = 0; w < writers; ++w)
        threads.emplace_back([&, w] {
            auto c = connect_as(provision_logins().legacy);
            for (int i = 0; i < rows_per_writer; ++i) {
                // Two legacy rows per transaction, so a rotation can fall between them.
                pg::transaction t(c);
                for (int j = 0; j < 2; ++j)
                    sql(c,
                        "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ($1, "
                        "'W', json_build_array(json_build_object('sender', 'w', 'message', "
                        "$1::text))::text)",
                        {"w" + std::to_string(w) + "-" + std::to_string(i) + "-" +
                         std::to_string(j)});
                t.commit();
                std::this_thread::sleep_for(1ms);
            }
            --writing;
        });
    std::atomic<long long> rotations{0}, truncations{0};
    threads.emplace_back([&] {
        // Rotation as maintain_queue() does it, but without waiting for 4 MB of events.
        auto c = connect();
        auto m = connect_as(provision_logins().daemon);
        while (writing > 0) {
            sql(c,
                "SELECT setval('chatledger.queue_epoch', (SELECT last_value + 1 FROM "
                "chatledger.queue_epoch), true)");
            ++rotations;
            // Once the writers' transactions begun before the rotation have ended, the slot
            // just left holds committed events nobody has claimed yet.
            std::this_thread::sleep_for(2ms);
            truncations += sync_repository(m, cfg_).maintain_queue().truncated;
            std::this_thread::sleep_for(3ms);
        }
    });
    auto daemon = connect_as(provision_logins().daemon);
    sync_repository repo(daemon, cfg_);
    syncer s(daemon, cfg_);
    while (writing > 0 || !repo.queued_conversations(1).empty()) {
        for (const auto& z : repo.queued_conversations(100)) s.sync(z);
        truncations += repo.maintain_queue().truncated;
        std::this_thread::sleep_for(10ms);  // events wait in their slots a while
    }
    for (auto& t : threads) t.join();
    for (const auto& z : repo.queued_conversations(100)) s.sync(z);

    constexpr int rows = writers * rows_per_writer * 2;
    EXPECT_GT(rotations.load(), 10);
    EXPECT_GT(truncations.load(), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), rows);
    EXPECT_EQ(count("SELECT count(DISTINCT zoho_id) FROM chatledger.chat_messages WHERE body = "
                    "zoho_id"),
              rows);
}

TEST_F(queue_rotation_pgtest, maintenance_refuses_a_snapshot_older_than_its_lock) {
    pg::transaction t(*daemon_, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    try {
        sql(*daemon_, "SELECT * FROM chatledger.maintain_queue()");
        FAIL() << "maintain_queue ran in REPEATABLE READ";
    } catch (const pg::db_error& e) {
        EXPECT_EQ(e.sqlstate(), "25000");
        EXPECT_NE(std::string(e.what()).find("needs a READ COMMITTED transaction"),
                  std::string::npos)
            << e.what();
    }
}

TEST_F(queue_rotation_pgtest, the_oldest_open_transaction_is_named_for_monitoring) {
    auto idle = connect();
    sql(idle, "SET application_name = 'forgotten psql'");
    pg::transaction t(idle);
    sql(idle, "SELECT txid_current()");
    // The reader login sees the session whole through the owner's function.
    auto reader = connect_as(provision_logins().reader);
    const auto h = schema::read_queue_health(reader, cfg_);
    ASSERT_TRUE(h.oldest);
    EXPECT_EQ(h.oldest->application_name, "forgotten psql");
    EXPECT_EQ(h.oldest->state, "idle in transaction");
    ASSERT_TRUE(h.oldest->pid);
    EXPECT_EQ(*h.oldest->pid, static_cast<int>(sql(idle, "SELECT pg_backend_pid()").integer(0, 0)));
    ASSERT_TRUE(h.oldest->age_s);
    EXPECT_GE(*h.oldest->age_s, 0);
}

// The planner takes a third of all appends ever made for "not yet collected": at a few million
// the backlog count was JIT-compiled, 25 ms of CPU on every heartbeat and every `status`. It runs
// with JIT off, inside the caller's transaction or a transaction of its own, and leaks nothing.
TEST_F(queue_rotation_pgtest, the_backlog_count_is_not_jit_compiled_and_leaks_no_setting) {
    auto reader = connect_as(provision_logins().reader);
    sql(reader, "SET jit_above_cost = 0");  // every statement would be compiled
    const auto jit = [&] {
        return std::string(sql(reader, "SELECT current_setting('jit')").text(0, 0));
    };
    ASSERT_EQ(jit(), "on");
    {
        pg::transaction t(reader);
        schema::read_queue_health(reader, cfg_);
        EXPECT_EQ(jit(), "off");  // status reads in one transaction
        t.commit();
    }
    EXPECT_EQ(jit(), "on");
    schema::read_queue_health(reader, cfg_);  // the daemon's heartbeat: no transaction open
    EXPECT_EQ(jit(), "on");
}

}  // namespace
}  // namespace chatledger::daemon

namespace chatledger::daemon {
namespace {

// Guards against the daemon's prepared statements scanning a whole slot: a slot is often empty
// (just truncated) when their generic plans are made, and a plan made then scanned every row of
// it, for every claim and every delete, once writers had filled it (a tenth of two cores went to
// `id = ANY(...)` filters under 16 appending clients).
TEST_F(queue_rotation_pgtest, a_slot_filled_after_the_plans_were_made_is_read_through_its_index) {
    sql(*conn_, "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ('k', 'K', '[]')");
    // The next slot as maintenance leaves it: truncated, so the planner knows it empty.
    {
        auto super = connect_superuser();
        sql(super, "TRUNCATE chatledger.sync_queue_1");
        // As autovacuum leaves the slots between rounds: their statistics known.
        sql(super,
            "VACUUM ANALYZE chatledger.sync_queue_0, chatledger.sync_queue_1, "
            "chatledger.sync_queue_2");
    }
    daemon_->prepare(true);
    syncer s(*daemon_, cfg_);
    // More syncs than PostgreSQL's five custom plans: the generic ones are made while the next
    // slot is empty.
    for (int i = 0; i < 8; ++i) {
        sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('k', 'm')");
        collect_appends();
        ASSERT_GE(s.sync("k").events, 1);
    }
    fill_current_slot();
    ASSERT_TRUE(maintain().rotated);
    const int slot = current_slot();
    ASSERT_EQ(slot, 1);
    sql(*conn_,
        "INSERT INTO chatledger.sync_queue (zoho_id, kind, first_ledger_id) "
        "SELECT 'other' || i % 50, 'append', 1 FROM generate_series(1, 5000) i");
    auto rows_read = [&] {
        sql(*daemon_, "SELECT pg_stat_force_next_flush()");
        sql(*daemon_, "SELECT 1");
        sql(*conn_, "SELECT pg_stat_clear_snapshot()");
        return count(
            "SELECT coalesce(seq_tup_read, 0) FROM pg_stat_user_tables WHERE relid = "
            "'chatledger.sync_queue_" +
            std::to_string(slot) + "'::regclass");
    };
    const long long before = rows_read();
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('k', 'last')");
    collect_appends();
    ASSERT_EQ(s.sync("k").events, 1);
    EXPECT_LT(rows_read() - before, 5000) << "the sync scanned the slot's rows";
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'k'"), 0);
}

}  // namespace
}  // namespace chatledger::daemon

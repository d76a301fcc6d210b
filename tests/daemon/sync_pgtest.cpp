// Database tests of chatledger-syncd: rendering, capture, healing, backups, and the real
// executable under racing legacy writers, kill -9, two instances, SIGTERM and SIGHUP.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <mutex>
#include <set>
#include <sstream>
#include <thread>

#include "core/json.hpp"
#include "core/message.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/syncer.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/legacy_db_fixture.hpp"
#include "tests/support/migrate_cli.hpp"

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

/// chatledger-syncd as a child process logging to `log`.
class daemon_process : public testing::child_process {
  public:
    daemon_process(const std::string& config, const std::string& log,
                   std::vector<std::string> extra = {})
        : child_process(CHATLEDGER_SYNCD_BIN, args(config, std::move(extra)), log) {}

  private:
    static std::vector<std::string> args(const std::string& config,
                                         std::vector<std::string> extra) {
        std::vector<std::string> a = {"--config", config, "--log-level", "debug"};
        a.insert(a.end(), extra.begin(), extra.end());
        return a;
    }
};

class sync_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        legacy_.emplace(connect_legacy());
        daemon_config_path_ = path("syncd.yaml");
        log_path_ = path("syncd.log");
        write_config("");
        cfg_.daemon.poll_interval = 200ms;
    }
    void TearDown() override {
        legacy_.reset();
        legacy_db_test::TearDown();
    }

    /// The daemon's config logs in as the daemon login; migrate() uses the DBA's beside it.
    void write_config(const std::string& extra) {
        std::ofstream(config_path_) << config_yaml() << "daemon:\n  poll_interval_ms: 200\n"
                                    << extra;
        std::ofstream(daemon_config_path_)
            << config_yaml(daemon_conninfo()) << "daemon:\n  poll_interval_ms: 200\n"
            << extra;
    }

    /// Runs a migrate command as the DBA; its exit status, with stdout and stderr in `out`.
    int run_migrate(const std::string& command, std::string& out) {
        const int rc = migrate(command);
        out = output();
        return rc;
    }

    /// A legacy writer's INSERT, as the legacy login.
    void legacy(const std::string& key, const std::string& history) {
        sql(*legacy_,
            "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ($1, 'Name', $2)",
            {key, history});
    }
    std::string history(const std::string& key) {
        return std::string(
            sql(*conn_, "SELECT chat_history FROM live_chat WHERE zoho_id = $1", {key}).text(0, 0));
    }
    /// One daemon round's work on `key`: collect the appends, then sync.
    sync_outcome sync(const std::string& key) {
        collect_appends();
        auto c = connect_as(provision_logins().daemon);
        syncer s(c, cfg_);
        return s.sync(key);
    }
    std::vector<std::string> bodies(const std::string& key) {
        std::vector<std::string> out;
        const std::string h = history(key);
        for (auto e : core::split_value(h).elements)
            out.push_back(core::extract_fields(e, {}).body.value_or("<none>"));
        return out;
    }
    /// Waits until the queue is empty; false on timeout.
    [[nodiscard]] bool converge(std::chrono::seconds limit = 60s) {
        return wait_until([&] { return pending_work() == 0; }, limit);
    }
    std::string log() { return testing::read_file(log_path_); }
    /// Waits until the daemon's log holds `what`; false on timeout.
    [[nodiscard]] bool wait_log(const std::string& what, std::chrono::seconds limit = 20s) {
        return wait_until([&] { return log().find(what) != std::string::npos; }, limit);
    }

    std::optional<pg::connection> legacy_;  ///< a legacy writer's
    std::string daemon_config_path_, log_path_;
};

TEST_F(sync_pgtest, an_application_append_is_rendered_into_the_legacy_columns) {
    legacy("a", R"([{"sender":"ann","message":"first","timestamp":"2024-01-01T00:00:00Z"}])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body, sent_at) "
        "VALUES ('a', 'bob', 'second', '2024-03-01T12:34:56.789123Z')");
    auto o = sync("a");
    EXPECT_TRUE(o.rewritten);
    EXPECT_FALSE(o.drift);
    EXPECT_EQ(history("a"),
              R"([{"sender":"ann","message":"first","timestamp":"2024-01-01T00:00:00Z"},)"
              R"({"sender":"bob","message":"second","timestamp":"2024-03-01T12:34:56.789Z"}])");
    auto r = sql(*conn_, "SELECT comments, comments_entered_by FROM live_chat WHERE zoho_id = 'a'");
    EXPECT_EQ(r.text(0, 0), "second");
    EXPECT_EQ(r.text(0, 1), "bob");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    EXPECT_EQ(
        count("SELECT count(*) FROM chat_history_backup WHERE operation_user = 'chatledger-syncd'"),
        2);
    // In step now: a second pass rewrites nothing and writes no backup row.
    EXPECT_FALSE(sync("a").rewritten);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 2);
    // Writing the rendered column back, as the dashboard does, adds nothing.
    sql(*legacy_, "UPDATE live_chat SET chat_history = chat_history || ' ' WHERE zoho_id = 'a'");
    sync("a");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a'"), 2);
}

TEST_F(sync_pgtest, a_legacy_append_is_captured_and_not_rewritten) {
    legacy("a", R"([{"sender":"ann","message":"1"}])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*legacy_,
        R"(UPDATE live_chat SET chat_history = '[{"sender":"ann","message":"1"}, {"sender":"bob","message":"2"}]',
                   comments = '2', comments_entered_by = 'bob' WHERE zoho_id = 'a')");
    auto o = sync("a");
    EXPECT_EQ(o.captured, 1);
    EXPECT_FALSE(o.rewritten);
    EXPECT_EQ(
        count(
            "SELECT count(*) FROM chatledger.chat_messages WHERE source = 'legacy' AND body = '2'"),
        1);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 0);
}

TEST_F(sync_pgtest, a_stale_overwrite_is_healed_with_backup_rows) {
    legacy("a", R"(["m1","m2","m3"])");
    migrate_ok("schema");
    migrate_ok("run");
    // The original bug: a writer that read an old value writes it back, dropping m3, adding m4.
    sql(*legacy_, R"(UPDATE live_chat SET chat_history = '["m1","m2","m4"]' WHERE zoho_id = 'a')");
    auto o = sync("a");
    EXPECT_TRUE(o.rewritten);
    EXPECT_TRUE(o.drift);
    EXPECT_EQ(o.missing, 1);
    EXPECT_EQ(history("a"), R"(["m1","m2","m3","m4"])");
    auto r = sql(*conn_,
                 "SELECT operation_type, chat_history_backup, full_name FROM chat_history_backup "
                 "ORDER BY id");
    ASSERT_EQ(r.rows(), 2);
    EXPECT_EQ(r.text(0, 0), "before_update");
    EXPECT_EQ(r.text(0, 1), R"(["m1","m2","m4"])");
    EXPECT_EQ(r.text(1, 0), "after_update");
    EXPECT_EQ(r.text(1, 1), R"(["m1","m2","m3","m4"])");
    EXPECT_EQ(r.text(1, 2), "Name");
}

TEST_F(sync_pgtest, a_comment_only_write_becomes_a_message) {
    legacy("a", R"([{"sender":"ann","message":"1"}])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*legacy_,
        "UPDATE live_chat SET comments = 'call me', comments_entered_by = 'carl' WHERE zoho_id = "
        "'a'");
    auto o = sync("a");
    EXPECT_EQ(o.captured, 1);
    EXPECT_TRUE(o.rewritten);
    auto b = bodies("a");
    ASSERT_EQ(b.size(), 2u);
    EXPECT_EQ(b[1], "call me");
    EXPECT_EQ(count("SELECT count(*) FROM live_chat WHERE comments = 'call me' AND "
                    "comments_entered_by = 'carl'"),
              1);
    sync("a");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'call me'"), 1);
}

TEST_F(sync_pgtest, a_plain_text_element_is_its_own_comment_not_a_new_message) {
    legacy("a", R"(["first", 7])");
    migrate_ok("schema");
    migrate_ok("run");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body IN ('first', '7')"),
              2);
    // An old write path appends plain text and sets the comment to it.
    sql(*legacy_,
        "UPDATE live_chat SET chat_history = '[\"first\", 7, \"second\"]', comments = 'second' "
        "WHERE zoho_id = 'a'");
    auto o = sync("a");
    EXPECT_EQ(o.captured, 1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a'"), 3);
    EXPECT_EQ(history("a"), R"(["first", 7, "second"])");
}

TEST_F(sync_pgtest, a_write_committed_while_a_sync_starts_is_not_taken_for_a_comment_only_write) {
    // Found by the chaos soak: W appends Y and sets the comment to Y; R, with a stale copy,
    // then drops Y from the history but leaves the comment. Both commit after the daemon's
    // transaction began but before it reads the legacy row.
    legacy("a", R"([{"sender":"s","message":"A"}])");
    migrate_ok("schema");
    migrate_ok("run");
    auto writer = connect_legacy();
    auto c = connect_as(provision_logins().daemon);
    syncer s(c, cfg_);
    s.set_testpoint([&](std::string_view point) {
        if (point != "before_legacy_row_lock")
            return;
        sql(writer,
            R"(UPDATE live_chat SET chat_history = '[{"sender":"s","message":"A"},{"sender":"w","message":"Y"}]', comments = 'Y' WHERE zoho_id = 'a')");
        sql(writer,
            R"(UPDATE live_chat SET chat_history = '[{"sender":"s","message":"A"},{"sender":"r","message":"R"}]' WHERE zoho_id = 'a')");
        s.set_testpoint({});
    });
    s.sync("a");
    sync("a");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'Y'"), 1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'R'"), 1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE payload IS NULL"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    EXPECT_EQ(bodies("a"), (std::vector<std::string>{"A", "Y", "R"}));
}

TEST_F(sync_pgtest, a_legacy_row_inserted_while_a_sync_starts_is_rendered) {
    migrate_ok("schema");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('n', 'x', 'm')");
    auto writer = connect_legacy();
    auto c = connect_as(provision_logins().daemon);
    syncer s(c, cfg_);
    s.set_testpoint([&](std::string_view point) {
        if (point == "before_late_claim")
            sql(writer,
                "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES ('n', 'N', '[]')");
    });
    auto o = s.sync("n");
    EXPECT_TRUE(o.rewritten);
    EXPECT_EQ(bodies("n"), (std::vector<std::string>{"m"}));
    EXPECT_EQ(count("SELECT count(*) FROM live_chat WHERE comments = 'm'"), 1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
}

TEST_F(sync_pgtest, a_backlog_larger_than_one_claim_is_worked_off_in_steps) {
    legacy("a", R"([{"sender":"s","message":"m0"}])");
    migrate_ok("schema");
    migrate_ok("run");
    // More legacy writes than one sync claims, each appending one message, with a comment-only
    // write and a stale overwrite among them.
    const long long writes = max_events_per_sync + 44;
    sql(*legacy_, "DO $$ BEGIN FOR i IN 1.." + std::to_string(writes) +
                      " LOOP UPDATE live_chat SET chat_history = left(chat_history, -1) || "
                      "format(',{\"sender\":\"w\",\"message\":\"m%s\"}]', i), comments = "
                      "'m' || i WHERE zoho_id = 'a'; COMMIT; END LOOP; END $$");
    sql(*legacy_,
        "UPDATE live_chat SET comments = 'comment only', comments_entered_by = 'c' WHERE "
        "zoho_id = 'a'");
    sql(*legacy_,
        R"(UPDATE live_chat SET chat_history = '[{"sender":"s","message":"m0"}]' WHERE zoho_id = 'a')");
    auto first = sync("a");
    EXPECT_EQ(first.events, max_events_per_sync);
    EXPECT_FALSE(first.rewritten);  // a share of the backlog: the row waits for the rest
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"),
              writes + 2 - max_events_per_sync);
    auto second = sync("a");
    EXPECT_EQ(second.events, writes + 2 - max_events_per_sync);
    EXPECT_TRUE(second.rewritten);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a'"),
              writes + 2);
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT body FROM chatledger.chat_messages GROUP BY "
                    "body HAVING count(*) > 1) d"),
              0);
    auto b = bodies("a");
    ASSERT_EQ(b.size(), static_cast<size_t>(writes + 2));
    EXPECT_EQ(b.back(), "comment only");
}

// Guards the sliced read of large values (the queued write's history and the locked row's are
// read a megabyte at a time, so libpq's buffer does not grow to the value): a history of
// several megabytes of 2-, 3- and 4-byte characters, whose slices cut characters in two, is
// captured and kept byte for byte, and a whole render of it appends exactly one element.
TEST_F(sync_pgtest, a_history_of_megabytes_is_read_in_slices_byte_for_byte) {
    std::string value = "[";
    for (int i = 0; i < 10000; ++i)
        value += std::string(i ? "," : "") + R"({"sender":"s","message":"m)" + std::to_string(i) +
                 " " + std::string(300 - i % 7, 'x') + R"( \u00e9 é€😀 )" +
                 std::string(200 + i % 5, 'y') + R"( é€😀"})";
    value += "]";
    ASSERT_GT(value.size(), 5u << 20) << "larger than sync_repository's sliced_above";
    legacy("big", "[]");
    migrate_ok("schema");
    migrate_ok("run");
    // Whatever the login's bytea_output: the slices are not read as bytea output.
    sql(*conn_, std::string(sql(*conn_,
                                "SELECT format('ALTER ROLE %I IN DATABASE %I SET "
                                "bytea_output = escape', $1::text, current_database())",
                                {provision_logins().daemon})
                                .text(0, 0)));
    // A captured legacy write of the whole value, then an application append: the write's
    // history and then the row's are read in slices.
    sql(*legacy_, "UPDATE live_chat SET chat_history = $1 WHERE zoho_id = 'big'", {value});
    auto o = sync("big");
    EXPECT_EQ(o.captured, 10000);
    EXPECT_EQ(history("big"), value);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'big' AND "
                    "payload::text = (SELECT chat_history::json->9999 FROM live_chat)::text"),
              1);
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('big', 'bob', 'é')");
    EXPECT_TRUE(sync("big").rewritten);
    const std::string after = history("big");
    ASSERT_GT(after.size(), value.size());
    EXPECT_EQ(after.substr(0, value.size() - 1), value.substr(0, value.size() - 1));
    EXPECT_EQ(bodies("big").size(), 10001u);
    EXPECT_EQ(bodies("big").back(), "é");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
}

// Guards the late claim's two ways of taking events: small ones deleted as they are read, a
// history of megabytes locked and read in slices from its row. A large legacy write and an
// append committing while a sync starts are both ingested, in id order, and both leave the queue.
TEST_F(sync_pgtest, a_large_write_claimed_late_is_read_whole_and_consumed) {
    std::string value = "[";
    for (int i = 0; i < 9000; ++i)
        value += std::string(i ? "," : "") + R"({"sender":"s","message":"m)" + std::to_string(i) +
                 " " + std::string(600, 'x') + R"( é"})";
    value += "]";
    ASSERT_GT(value.size(), 5u << 20) << "larger than sync_repository's sliced_above";
    legacy("big", "[]");
    migrate_ok("schema");
    migrate_ok("run");
    auto c = connect_as(provision_logins().daemon);
    syncer s(c, cfg_);
    s.set_testpoint([&](std::string_view point) {
        if (point != "before_legacy_row_lock")
            return;
        sql(*legacy_, "UPDATE live_chat SET chat_history = $1 WHERE zoho_id = 'big'", {value});
        sql(*conn_,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('big', 'bob', "
            "'late')");
        s.set_testpoint({});
    });
    const auto o = s.sync("big");
    // The write's event; the append committed after the round's collection, so no event
    // announces it yet: it is still rendered, and as a new message, not as one the column lost.
    EXPECT_EQ(o.events, 1);
    EXPECT_FALSE(o.drift);
    EXPECT_EQ(o.missing, 0);
    EXPECT_EQ(o.captured, 9000);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    // The append committed first, so it has the lower id; the write's elements follow, whole.
    const std::string after = history("big");
    EXPECT_TRUE(after.find(value.substr(1, value.size() - 2)) != std::string::npos);
    const auto b = bodies("big");
    ASSERT_EQ(b.size(), 9001u);
    EXPECT_EQ(b.front(), "late");
    EXPECT_EQ(b.back().substr(0, 6), "m8999 ");
}

// Guards the line between new and lost (schema step 0012): an append that commits after the
// round's collection has no event yet, but the sync reads it. A message counts as lost only if
// the column showed it; this one never was, so a sync brought by a legacy write renders it as
// new, without a drift warning or a drift backup.
TEST_F(sync_pgtest, an_append_not_yet_collected_is_new_not_drift) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    cfg_.backup.mode = backup_mode::drift_only;
    EXPECT_FALSE(sync("a").drift);  // the first render, with nothing appended
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'x')");
    sql(*legacy_, "UPDATE live_chat SET comments = 'note', comments_entered_by = 'w'");
    auto c = connect_as(provision_logins().daemon);
    syncer s(c, cfg_);  // no collection in between, as when x commits just after one
    const auto o = s.sync("a");
    EXPECT_TRUE(o.rewritten);
    EXPECT_FALSE(o.drift);
    EXPECT_EQ(o.missing, 0);
    // The comment-only write is a message of its own, after x.
    EXPECT_EQ(bodies("a"), (std::vector<std::string>{"m1", "x", "note"}));
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 0);
}

TEST_F(sync_pgtest, a_burst_of_appends_gives_one_rewrite) {
    legacy("a", "[]");
    migrate_ok("schema");
    migrate_ok("run");
    for (int i = 0; i < 100; ++i)
        sql(*conn_,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'x', $1)",
            {"burst " + std::to_string(i)});
    EXPECT_EQ(pending_work(), 100);
    auto o = sync("a");
    EXPECT_TRUE(o.rewritten);
    EXPECT_EQ(o.events, 1);  // one collection: one event for the conversation
    std::vector<std::string> expected;
    for (int i = 0; i < 100; ++i) expected.push_back("burst " + std::to_string(i));
    EXPECT_EQ(bodies("a"), expected);
    EXPECT_EQ(
        count("SELECT count(*) FROM chat_history_backup WHERE operation_type = 'after_update'"), 1);
}

TEST_F(sync_pgtest, backup_mode_every_rewrite_writes_a_before_and_an_after_row_per_rewrite) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    cfg_.backup.mode = backup_mode::every_rewrite;
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'x')");
    auto o = sync("a");
    EXPECT_TRUE(o.rewritten);
    EXPECT_FALSE(o.drift);  // a plain append: backed up all the same
    auto r = sql(*conn_,
                 "SELECT operation_type, chat_history_backup, operation_user FROM "
                 "chat_history_backup ORDER BY id");
    ASSERT_EQ(r.rows(), 2);
    EXPECT_EQ(r.text(0, 0), "before_update");
    EXPECT_EQ(r.text(0, 1), R"(["m1"])");
    EXPECT_EQ(r.text(1, 0), "after_update");
    EXPECT_EQ(r.text(1, 1), history("a"));
    EXPECT_EQ(r.text(0, 2), "chatledger-syncd");
    EXPECT_EQ(r.text(1, 2), "chatledger-syncd");
}

TEST_F(sync_pgtest, backup_mode_drift_only_backs_up_a_healed_overwrite_not_an_append) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    cfg_.backup.mode = backup_mode::drift_only;
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'x')");
    EXPECT_TRUE(sync("a").rewritten);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 0);
    // A stale writer drops x: healing that is drift, and drift is backed up.
    const std::string healed = history("a");
    sql(*legacy_, R"(UPDATE live_chat SET chat_history = '["m1"]' WHERE zoho_id = 'a')");
    auto o = sync("a");
    EXPECT_TRUE(o.rewritten);
    EXPECT_TRUE(o.drift);
    EXPECT_EQ(history("a"), healed);
    auto r = sql(*conn_,
                 "SELECT operation_type, chat_history_backup FROM chat_history_backup ORDER BY id");
    ASSERT_EQ(r.rows(), 2);
    EXPECT_EQ(r.text(0, 0), "before_update");
    EXPECT_EQ(r.text(0, 1), R"(["m1"])");
    EXPECT_EQ(r.text(1, 0), "after_update");
    EXPECT_EQ(r.text(1, 1), healed);
}

TEST_F(sync_pgtest, backup_mode_off_writes_no_row_even_when_healing_drift) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    cfg_.backup.mode = backup_mode::off;
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'x')");
    EXPECT_TRUE(sync("a").rewritten);
    const std::string healed = history("a");
    sql(*legacy_, R"(UPDATE live_chat SET chat_history = '["m1"]' WHERE zoho_id = 'a')");
    auto o = sync("a");
    EXPECT_TRUE(o.rewritten);
    EXPECT_TRUE(o.drift);
    EXPECT_EQ(history("a"), healed);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 0);
}

TEST_F(sync_pgtest, retention_keeps_the_newest_rows_and_never_prunes_the_old_systems) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    // The old system's row is the oldest, so pruning that ignored who wrote it would take it
    // first; recover needs it.
    sql(*conn_,
        "INSERT INTO chat_history_backup (zoho_id, operation_user) VALUES ('a', 'dashboard')");
    cfg_.backup.mode = backup_mode::every_rewrite;
    cfg_.backup.keep_last = 4;
    for (int i = 0; i < 5; ++i) {
        sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', $1)",
            {std::to_string(i)});
        EXPECT_TRUE(sync("a").rewritten) << i;
    }
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup WHERE operation_user = 'dashboard'"),
              1);
    // Five rewrites wrote ten rows; the last two rewrites' pairs remain.
    auto r = sql(*conn_,
                 "SELECT operation_type, chat_history_backup FROM chat_history_backup WHERE "
                 "operation_user = 'chatledger-syncd' ORDER BY id");
    ASSERT_EQ(r.rows(), 4);
    auto last_body = [](std::string_view history) {
        const auto els = core::split_value(history).elements;
        return els.empty() ? std::string("<empty>")
                           : core::extract_fields(els.back(), {}).body.value_or("<none>");
    };
    const std::vector<std::pair<std::string, std::string>> expected = {{"before_update", "2"},
                                                                       {"after_update", "3"},
                                                                       {"before_update", "3"},
                                                                       {"after_update", "4"}};
    for (int i = 0; i < 4; ++i) {
        EXPECT_EQ(r.text(i, 0), expected[i].first) << i;
        EXPECT_EQ(last_body(r.text(i, 1)), expected[i].second) << i << ": " << r.text(i, 1);
    }
}

TEST_F(sync_pgtest, once_reconciles_every_conversation) {
    legacy("a", R"(["m1"])");
    legacy("b", R"(["n1"])");
    migrate_ok("schema");
    migrate_ok("run");
    // Drift nobody queued (the capture was bypassed): --once still finds it.
    sql(*conn_,
        "BEGIN; ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture; "
        "UPDATE live_chat SET chat_history = '[]'; "
        "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");
    daemon_process d(daemon_config_path_, log_path_, {"--once"});
    EXPECT_EQ(d.wait_exit(30s), 0) << log();
    EXPECT_EQ(history("a"), R"(["m1"])");
    EXPECT_EQ(history("b"), R"(["n1"])");
}

// Guards against a site that runs only --once keeping every consumed event: a pass ended
// without the queue maintenance the running daemon does, so drained slots were never truncated.
TEST_F(sync_pgtest, once_truncates_the_drained_queue_slots) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*conn_,
        "INSERT INTO chatledger.sync_queue (zoho_id, kind, history) "
        "SELECT 'filler', 'update', repeat('x', 1900) FROM generate_series(1, 4700)");
    sql(*conn_, "DELETE FROM chatledger.sync_queue WHERE zoho_id = 'filler'");
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'm2')");
    ASSERT_EQ(count("SELECT chatledger.queue_slot()"), 0);
    daemon_process d(daemon_config_path_, log_path_, {"--once"});
    EXPECT_EQ(d.wait_exit(30s), 0) << log();
    EXPECT_EQ(count("SELECT chatledger.queue_slot()"), 1) << "the full slot was not left";
    // Drained and rotated away from: the next pass truncates it.
    daemon_process again(daemon_config_path_, log_path_, {"--once"});
    EXPECT_EQ(again.wait_exit(30s), 0) << log();
    EXPECT_EQ(count("SELECT pg_relation_size('chatledger.sync_queue_0')"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a'"), 2);
}

// Guards against the daemon's first pass after `run` surprising the operator: it rewrote rows
// `verify` had just passed (an unparseable value shown as a system message, a comment found in
// no message appended, the comment columns set to the latest message) and neither `plan` nor
// `verify` said so. Both now count them per reason, and the daemon logs each as a first render,
// while a column that lost a migrated message is still drift.
TEST_F(sync_pgtest, plan_and_verify_forecast_the_first_render_and_the_daemon_logs_it_as_such) {
    auto row = [&](const std::string& key, const std::string& history,
                   const std::optional<std::string>& comment, const std::string& author) {
        sql(*conn_,
            "INSERT INTO live_chat (zoho_id, full_name, chat_history, comments, "
            "comments_entered_by) VALUES ($1, 'Name', $2, $3, $4)",
            {key, history, comment, author});
    };
    row("a", R"([{"sender":"s","message":"m0"}])", "m0", "s");       // in step: untouched
    row("b", "{broken", "call me", "carol");                         // unparseable + comment
    row("c", R"([{"sender":"s","message":"m1"}])", "m1", "agent7");  // comment columns
    row("d", "[]", "hi", "x");                                       // comment in no message
    row("e", R"([{"sender":"s","message":"m2"}])", "m2", "s");       // loses m2 after run
    std::string out;
    ASSERT_EQ(run_migrate("plan", out), 0) << out;
    const std::string forecast =
        "the daemon's first pass will rewrite 3 conversation(s):\n"
        "  unparseable value shown as a system message       1\n"
        "  comment found in no message, appended as one      2\n"
        "  comment columns set to the latest message         1\n";
    EXPECT_NE(out.find(forecast), std::string::npos) << out;
    migrate_ok("schema");
    migrate_ok("run");
    ASSERT_EQ(run_migrate("verify", out), 0) << out;
    EXPECT_NE(out.find(forecast), std::string::npos) << out;
    const auto before = history("c");
    sql(*conn_,
        "BEGIN; ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture; "
        "UPDATE live_chat SET chat_history = '[]' WHERE zoho_id = 'e'; "
        "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");

    daemon_process d(daemon_config_path_, log_path_, {"--once"});
    ASSERT_EQ(d.wait_exit(30s), 0) << log();
    const auto text = log();
    EXPECT_EQ(text.find("first render of a "), std::string::npos) << text;
    EXPECT_NE(text.find("first render of b since migration: its value is not a JSON array and is "
                        "shown as a system message; its comment was in no message and was "
                        "appended as one"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("first render of c since migration: its comment columns now hold the "
                        "latest message"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("first render of d since migration: its comment was in no message"),
              std::string::npos)
        << text;
    EXPECT_EQ(text.find("healed drift in b"), std::string::npos) << text;
    EXPECT_EQ(text.find("healed drift in c"), std::string::npos) << text;
    EXPECT_EQ(text.find("healed drift in d"), std::string::npos) << text;
    EXPECT_NE(text.find("healed drift in e"), std::string::npos) << text;
    EXPECT_EQ(text.find("first render of e "), std::string::npos) << text;
    EXPECT_NE(text.find("(3 first renders since migration), 1 drifts healed"), std::string::npos)
        << text;
    EXPECT_EQ(history("c"), before);  // the text `run` read is kept byte for byte
    EXPECT_EQ(count("SELECT count(*) FROM live_chat WHERE zoho_id = 'c' AND "
                    "comments_entered_by = 's'"),
              1);
}

TEST_F(sync_pgtest, once_skips_a_row_a_writer_keeps_locked_and_says_so) {
    legacy("a", R"(["m1"])");
    legacy("b", R"(["n1"])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'x'), ('b', 'y')");
    std::ofstream(daemon_config_path_)
        << config_yaml(daemon_conninfo(), "  lock_timeout_ms: 100\n");
    auto holder = connect_legacy();
    sql(holder, "BEGIN; SELECT 1 FROM live_chat WHERE zoho_id = 'a' FOR UPDATE");
    {
        // Neither the pass nor the queue waits for the writer forever, and the pass says it
        // could not sync everything (CONTRACT section 6: exit 1, each named on stderr).
        daemon_process d(daemon_config_path_, log_path_, {"--once"});
        EXPECT_EQ(d.wait_exit(30s), 1) << log();
    }
    EXPECT_NE(log().find("could not sync a: a legacy writer kept its row locked"),
              std::string::npos)
        << log();
    EXPECT_NE(log().find("reconcile could not sync 1 conversation(s) HINT:"), std::string::npos)
        << log();
    EXPECT_NE(history("b").find("\"y\""), std::string::npos);
    EXPECT_EQ(history("a"), R"(["m1"])");
    sql(holder, "COMMIT");
    std::filesystem::remove(log_path_);
    {
        daemon_process d(daemon_config_path_, log_path_, {"--once"});
        EXPECT_EQ(d.wait_exit(30s), 0) << log();
    }
    EXPECT_EQ(log().find("could not sync"), std::string::npos) << log();
    EXPECT_NE(history("a").find("\"x\""), std::string::npos);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
}

TEST_F(sync_pgtest, racing_legacy_writers_lose_nothing_with_kill_9_and_two_daemons) {
    for (int i = 0; i < 10; ++i) legacy("c" + std::to_string(i), "[]");
    migrate_ok("schema");
    migrate_ok("run");
    auto d1 = std::make_unique<daemon_process>(daemon_config_path_, log_path_);
    auto d2 = std::make_unique<daemon_process>(daemon_config_path_, log_path_);
    std::mutex mu;
    std::set<std::string> committed;
    std::atomic<bool> stop{false};
    auto record = [&](const std::string& body) {
        std::lock_guard<std::mutex> lock(mu);
        committed.insert(body);
    };
    std::vector<std::thread> writers;
    // Naive read-modify-write writers, as the old dashboard wrote: no lock between read and write.
    for (int w = 0; w < 3; ++w) {
        writers.emplace_back([&, w] {
            auto c = connect_legacy();
            for (int i = 0; !stop && i < 60; ++i) {
                const std::string key = "c" + std::to_string((i + w) % 10);
                const std::string body = "w" + std::to_string(w) + "-" + std::to_string(i);
                auto h = std::string(
                    c.exec("read", "SELECT chat_history FROM live_chat WHERE zoho_id = $1", {key})
                        .text(0, 0));
                auto split = core::split_value(h);
                std::vector<std::string_view> els(split.elements.begin(), split.elements.end());
                std::string el =
                    R"({"sender":"w)" + std::to_string(w) + R"(","message":")" + body + R"("})";
                els.push_back(el);
                std::this_thread::sleep_for(std::chrono::milliseconds(i % 7));
                c.exec("write",
                       "UPDATE live_chat SET chat_history = $2, comments = $3 WHERE zoho_id = $1",
                       {key, core::render_array(els), body});
                record(body);
            }
        });
    }
    // A writer that re-serializes the whole array as JSON.parse + JSON.stringify would.
    writers.emplace_back([&] {
        auto c = connect_legacy();
        for (int i = 0; !stop && i < 40; ++i) {
            const std::string key = "c" + std::to_string(i % 10);
            const std::string body = "re-" + std::to_string(i);
            auto h = std::string(
                c.exec("read", "SELECT chat_history FROM live_chat WHERE zoho_id = $1", {key})
                    .text(0, 0));
            std::vector<std::string> canon;
            for (auto e : core::split_value(h).elements) canon.push_back(core::canonical(e));
            canon.push_back(R"({"message":")" + body + R"(","sender":"re"})");
            std::vector<std::string_view> els(canon.begin(), canon.end());
            c.exec("write", "UPDATE live_chat SET chat_history = $2 WHERE zoho_id = $1",
                   {key, core::render_array(els)});
            record(body);
        }
    });
    // Application appends straight into the ledger.
    writers.emplace_back([&] {
        auto c = connect_as(provision_logins().app);
        for (int i = 0; !stop && i < 60; ++i) {
            const std::string body = "app-" + std::to_string(i);
            c.exec("append",
                   "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ($1, "
                   "'app', $2)",
                   {"c" + std::to_string(i % 10), body});
            record(body);
        }
    });
    std::this_thread::sleep_for(300ms);
    d1.reset();  // kill -9 one daemon mid-stream
    std::this_thread::sleep_for(200ms);
    d1 = std::make_unique<daemon_process>(daemon_config_path_, log_path_);  // and restart it
    for (auto& t : writers) t.join();
    ASSERT_TRUE(converge()) << log();
    // Let a last cycle finish rewriting after the queue emptied.
    std::this_thread::sleep_for(500ms);
    ASSERT_TRUE(converge()) << log();
    for (const auto& body : committed) {
        EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = $1", {body}), 1)
            << body;
    }
    std::multiset<std::string> in_columns;
    for (int i = 0; i < 10; ++i)
        for (auto& b : bodies("c" + std::to_string(i))) in_columns.insert(b);
    for (const auto& body : committed) EXPECT_EQ(in_columns.count(body), 1u) << body;
    EXPECT_EQ(static_cast<long long>(in_columns.size()),
              count("SELECT count(*) FROM chatledger.chat_messages"));
    d2->signal(SIGTERM);
    EXPECT_EQ(d2->wait_exit(5s), 0) << log();
}

// Appends send no notification (schema step 0013): an idle daemon looks for them every
// daemon.append_poll_ms, however long its queue poll interval. Before, an append whose session
// had silenced its hint (chatledger.woke_at, a setting any session may set) waited for the poll.
TEST_F(sync_pgtest, an_idle_daemon_finds_an_append_that_sent_no_hint) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    std::ofstream(daemon_config_path_)
        << config_yaml(daemon_conninfo()) << "daemon:\n  poll_interval_ms: 30000\n";
    daemon_process d(daemon_config_path_, log_path_);
    ASSERT_TRUE(wait_log("caught up")) << log();
    std::this_thread::sleep_for(1500ms);  // past the brief polling that follows work
    auto app = connect_as(provision_logins().app);
    sql(app, "SET chatledger.woke_at = '999999999999999'");
    const auto appended = std::chrono::steady_clock::now();
    sql(app, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'unannounced')");
    ASSERT_TRUE(
        wait_until([&] { return history("a").find("unannounced") != std::string::npos; }, 20s))
        << log();
    EXPECT_LT(std::chrono::steady_clock::now() - appended, 2s);
}

TEST_F(sync_pgtest, sigterm_exits_0_and_a_bad_reload_keeps_the_old_config) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    daemon_process d(daemon_config_path_, log_path_);
    ASSERT_TRUE(wait_log("ready")) << log();
    std::ofstream(daemon_config_path_) << "database:\n  conninfo: [broken\n";
    d.signal(SIGHUP);
    ASSERT_TRUE(wait_log("reload failed", 10s)) << "no reload failure logged:\n" << log();
    EXPECT_NE(log().find("configuration reload failed, keeping the previous one"),
              std::string::npos)
        << log();
    // Still serving with the old configuration.
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'after reload')");
    ASSERT_TRUE(converge(20s)) << log();
    // Its heartbeat shows in `chatledger-migrate status`.
    {
        std::ostringstream out, err;
        ASSERT_EQ(testing::migrate_cli(config_path_, {"status", "--json"}, out, err), 0)
            << err.str();
        EXPECT_NE(out.str().find("\"daemons\":[{\"instance\":"), std::string::npos) << out.str();
    }
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(5s), 0) << log();
    EXPECT_NE(log().find("stopped"), std::string::npos);
}

}  // namespace
}  // namespace chatledger::daemon

namespace chatledger::daemon {
namespace {

TEST_F(sync_pgtest, the_metrics_endpoint_serves_counters_and_moves_on_reload) {
    legacy("a", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    const int port = testing::free_port();
    write_config("  metrics_listen: \"127.0.0.1:" + std::to_string(port) + "\"\n");
    daemon_process d(daemon_config_path_, log_path_);
    ASSERT_TRUE(wait_log("ready")) << log();
    EXPECT_NE(log().find("metrics endpoint listening on http://127.0.0.1:" + std::to_string(port) +
                         "/metrics"),
              std::string::npos)
        << log();
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'x', 'y')");
    ASSERT_TRUE(converge(20s)) << log();
    auto value = [](const std::string& response, const std::string& name) {
        auto at = response.find("\n" + name + " ");
        return at == std::string::npos ? -1.0 : std::stod(response.substr(at + name.size() + 2));
    };
    auto r = testing::http_get(port, "/metrics");
    EXPECT_EQ(r.rfind("HTTP/1.0 200 OK\r\n", 0), 0u) << r;
    EXPECT_NE(r.find("Content-Type: text/plain; version=0.0.4"), std::string::npos) << r;
    EXPECT_GE(value(r, "chatledger_syncd_conversations_synced_total"), 1) << r;
    EXPECT_GE(value(r, "chatledger_syncd_rewrites_total"), 1) << r;
    EXPECT_EQ(value(r, "chatledger_syncd_database_connected"), 1) << r;
    EXPECT_GE(value(r, "chatledger_syncd_sync_lag_seconds_count"), 1) << r;
    EXPECT_NE(r.find("chatledger_syncd_info{version=\""), std::string::npos) << r;

    // A reload that moves the endpoint frees the old port and serves on the new one.
    const int moved = testing::free_port();
    write_config("  metrics_listen: \"localhost:" + std::to_string(moved) + "\"\n");
    d.signal(SIGHUP);
    ASSERT_TRUE(wait_log("configuration reloaded")) << log();
    EXPECT_EQ(testing::http_get(port, "/metrics"), "");
    EXPECT_GE(
        value(testing::http_get(moved, "/metrics"), "chatledger_syncd_conversations_synced_total"),
        1);
    // A reload to an address another process holds is refused; the endpoint stays.
    {
        metrics_server holder({"127.0.0.1", port}, [] { return std::string(); });
        write_config("  metrics_listen: \"127.0.0.1:" + std::to_string(port) + "\"\n");
        d.signal(SIGHUP);
        ASSERT_TRUE(wait_log("Address already in use")) << log();
        EXPECT_NE(log().find("configuration reload failed, keeping the previous one: cannot "
                             "listen on daemon.metrics_listen 127.0.0.1:" +
                             std::to_string(port)),
                  std::string::npos)
            << log();
        EXPECT_NE(testing::http_get(moved, "/metrics").find("HTTP/1.0 200 OK"), std::string::npos);
    }
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(5s), 0) << log();
    EXPECT_EQ(testing::http_get(moved, "/metrics"), "");
}

TEST_F(sync_pgtest, a_backlog_that_cannot_drain_does_not_hold_ready_or_heartbeats) {
    // Found by the chaos soak: the daemon used to work the queue until it was empty before
    // READY=1 and between heartbeats, so a row a writer holds (or writers that outpace it)
    // kept systemd waiting and made `status` report no daemon.
    legacy("a", R"(["m1"])");
    legacy("b", R"(["m1"])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'queued')");
    auto holder = connect_legacy();
    sql(holder, "BEGIN; SELECT 1 FROM live_chat WHERE zoho_id = 'a' FOR UPDATE");
    std::ofstream(daemon_config_path_) << config_yaml(daemon_conninfo(), "  lock_timeout_ms: 100\n")
                                       << "daemon:\n  poll_interval_ms: 200\n";
    daemon_process d(daemon_config_path_, log_path_);
    ASSERT_TRUE(wait_log("ready", 10s)) << "not ready with a held row:\n" << log();
    ASSERT_NE(log().find("ready: listening on channel chatledger, 1 events queued"),
              std::string::npos)
        << log();
    // Other conversations are served meanwhile, and heartbeats keep coming.
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('b', 'served')");
    EXPECT_TRUE(wait_until([&] { return history("b").find("served") != std::string::npos; }, 10s))
        << "b was not served while a was held: " << history("b") << "\n"
        << log();
    const std::string first = std::string(
        sql(*conn_, "SELECT heartbeat_at::text FROM chatledger.syncd_instances").text(0, 0));
    std::this_thread::sleep_for(2500ms);
    EXPECT_NE(
        std::string(
            sql(*conn_, "SELECT heartbeat_at::text FROM chatledger.syncd_instances").text(0, 0)),
        first);
    EXPECT_EQ(log().find("caught up"), std::string::npos) << log();
    sql(holder, "COMMIT");
    ASSERT_TRUE(converge(20s)) << log();
    EXPECT_NE(history("a").find("queued"), std::string::npos);
    EXPECT_TRUE(wait_log("caught up", 5s)) << "no catch-up once the row was free:\n" << log();
    EXPECT_NE(log().find("caught up: the sync queue is empty"), std::string::npos) << log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(5s), 0) << log();
}

TEST_F(sync_pgtest, a_column_in_step_keeps_its_text_and_only_stale_comments_change) {
    const std::string pretty =
        "[\n  {\"sender\": \"ann\", \"message\": \"one\"},\n  {\"sender\": \"bob\", \"message\": "
        "\"two\"}\n]";
    legacy("a", pretty);
    sql(*legacy_,
        "UPDATE live_chat SET comments = 'two', comments_entered_by = 'bob' WHERE zoho_id = 'a'");
    legacy("b", pretty);
    sql(*legacy_,
        "UPDATE live_chat SET comments = 'one', comments_entered_by = 'ann' WHERE zoho_id = 'b'");
    migrate_ok("schema");
    migrate_ok("run");
    daemon_process d(daemon_config_path_, log_path_, {"--once"});
    ASSERT_EQ(d.wait_exit(30s), 0) << log();
    EXPECT_EQ(history("a"), pretty);
    EXPECT_EQ(history("b"), pretty);
    EXPECT_EQ(count("SELECT count(*) FROM live_chat WHERE comments = 'two' AND comments_entered_by "
                    "= 'bob'"),
              2);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup WHERE zoho_id = 'a'"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 4);
}

}  // namespace
}  // namespace chatledger::daemon

namespace chatledger::daemon {
namespace {

TEST_F(sync_pgtest, no_password_or_message_body_reaches_the_info_log) {
    legacy("a", R"([{"sender":"ann","message":"first secret body"}])");
    // Trust authentication ignores the password; it must still never be printed.
    std::ofstream(daemon_config_path_)
        << config_yaml(daemon_conninfo() + " password=hunter2-secret")
        << "daemon:\n  poll_interval_ms: 200\n";
    chmod(daemon_config_path_.c_str(), 0600);
    migrate_ok("schema");
    migrate_ok("run");
    {
        testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", daemon_config_path_},
                                 log_path_);
        sql(*conn_,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) "
            "VALUES ('a', 'bob', 'second secret body')");
        sql(*legacy_,
            R"(UPDATE live_chat SET chat_history = '[{"sender":"c","message":"third secret body"}]' WHERE zoho_id = 'a')");
        ASSERT_TRUE(converge(20s)) << log();
        d.signal(SIGTERM);
        EXPECT_EQ(d.wait_exit(5s), 0) << log();
    }
    const std::string text = log();
    EXPECT_NE(text.find("healed drift"), std::string::npos) << text;  // the log did say things
    EXPECT_EQ(text.find("hunter2"), std::string::npos) << text;
    EXPECT_EQ(text.find("secret body"), std::string::npos) << text;
}

// A legacy-side trigger that refuses one row (a broken audit trigger; a CHECK or a varchar(n)
// does the same) must not stop the others. The old daemon rethrew, reconnected and served the
// same conversation first again, so 38 of 38 other conversations stayed unrendered.
TEST_F(sync_pgtest, a_conversation_that_cannot_be_synced_is_set_aside_and_the_rest_go_on) {
    legacy("poison", R"(["p1"])");
    for (int i = 0; i < 38; ++i) legacy("k" + std::to_string(i), R"(["m"])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*conn_, R"(CREATE FUNCTION refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$
                   BEGIN
                       IF NEW.zoho_id = 'poison' THEN
                           RAISE EXCEPTION 'audit: row % is frozen', NEW.zoho_id;
                       END IF;
                       RETURN NEW;
                   END $$;
                   CREATE TRIGGER refuse_poison BEFORE UPDATE ON live_chat
                       FOR EACH ROW EXECUTE FUNCTION refuse_poison())");
    // The poison's event is the oldest, so it heads the queue.
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('poison', 'x')");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, body) SELECT 'k' || i, 'y' "
        "FROM generate_series(0, 37) i");
    daemon_process d(daemon_config_path_, log_path_);
    ASSERT_TRUE(wait_until(
        [&] {
            return count(
                       "SELECT count(*) FROM live_chat WHERE zoho_id <> 'poison' AND "
                       "chat_history LIKE '%\"y\"%'") == 38;
        },
        30s))
        << log();
    ASSERT_TRUE(wait_log("cannot sync poison (SQLSTATE P0001): ")) << log();
    EXPECT_NE(log().find("set aside, next attempt in 1 s (failure 1)"), std::string::npos) << log();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_failures WHERE zoho_id = 'poison' AND "
                    "sqlstate = 'P0001' AND error LIKE '%row poison is frozen%'"),
              1);
    // status names it and exits 1 (something needs attention).
    std::string out;
    EXPECT_EQ(run_migrate("status", out), 1) << out;
    EXPECT_NE(out.find("cannot sync poison: "), std::string::npos) << out;
    // Once the trigger is fixed, the backoff's next attempt syncs it and says so.
    sql(*conn_, "DROP TRIGGER refuse_poison ON live_chat");
    ASSERT_TRUE(wait_log("synced poison again after ", 30s)) << log();
    EXPECT_NE(history("poison").find("\"x\""), std::string::npos);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_failures"), 0);
    EXPECT_EQ(run_migrate("status", out), 0) << out;
}

// --once goes past a conversation it cannot sync, renders every other one and exits 1 naming
// it (the old pass stopped at the first error with exit 3, never reaching the keys after it).
TEST_F(sync_pgtest, once_goes_past_a_conversation_it_cannot_sync_and_names_it) {
    legacy("a", R"(["a1"])");
    legacy("b", R"(["b1"])");
    legacy("c", R"(["c1"])");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*conn_, R"(ALTER TABLE live_chat ADD CONSTRAINT short_history
                   CHECK (zoho_id <> 'a' OR length(chat_history) < 20) NOT VALID)");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'a2'), "
        "('b', 'b2'), ('c', 'c2')");
    {
        daemon_process d(daemon_config_path_, log_path_, {"--once"});
        EXPECT_EQ(d.wait_exit(30s), 1) << log();
    }
    EXPECT_NE(log().find("could not sync a: "), std::string::npos) << log();
    EXPECT_NE(log().find("short_history"), std::string::npos) << log();
    EXPECT_NE(history("b").find("b2"), std::string::npos);
    EXPECT_NE(history("c").find("c2"), std::string::npos);
    EXPECT_EQ(history("a"), R"(["a1"])");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'a'"), 1);
}

// A comment-only write that repeats an earlier message's words is a message of its own: the old
// rule compared comment bodies with the whole ledger and dropped carol's second "ok".
TEST_F(sync_pgtest, a_repeated_comment_only_write_is_a_new_message) {
    legacy("a", R"([{"sender":"ann","message":"hi"}])");
    migrate_ok("schema");
    migrate_ok("run");
    auto comment = [&](const std::string& body) {
        sql(*legacy_, "UPDATE live_chat SET comments = $1, comments_entered_by = 'carol'", {body});
        sync("a");
    };
    comment("ok");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) "
        "VALUES ('a', 'bob', 'something else')");
    sync("a");
    comment("ok");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'ok'"), 2);
    EXPECT_EQ(bodies("a"), (std::vector<std::string>{"hi", "ok", "something else", "ok"}));
    // The rendered row and a writer saving it back unchanged add nothing more.
    sql(*legacy_, "UPDATE live_chat SET chat_history = chat_history WHERE zoho_id = 'a'");
    sync("a");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'ok'"), 2);
}

// SIGTERM during --once used to end with "reconcile finished" and exit 0, as if the pass had
// completed.
TEST_F(sync_pgtest, once_stopped_by_sigterm_says_so_and_does_not_exit_0) {
    legacy("a", R"(["m1"])");
    legacy("b", R"(["n1"])");
    migrate_ok("schema");
    migrate_ok("run");
    std::ofstream(daemon_config_path_)
        << config_yaml(daemon_conninfo(), "  lock_timeout_ms: 100\n");
    // A writer holds a row: the pass retries it for a second, long enough to be interrupted.
    auto holder = connect_legacy();
    sql(holder, "BEGIN; SELECT 1 FROM live_chat WHERE zoho_id = 'a' FOR UPDATE");
    daemon_process d(daemon_config_path_, log_path_, {"--once"});
    // The first lock timeout (logged at debug) means the pass is under way and retrying.
    ASSERT_TRUE(wait_log("lock timeout", 20s)) << log();
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(10s), 1) << log();
    EXPECT_NE(log().find("reconcile stopped by a signal after"), std::string::npos) << log();
    EXPECT_EQ(log().find("reconcile finished"), std::string::npos) << log();
    sql(holder, "COMMIT");
}

// --once used to be silent until its last line (30 s for 20,000 conversations): it reports
// conversations done of the total, the rate and the ETA (every 10 s, and when the pass ends).
TEST_F(sync_pgtest, once_reports_its_progress_against_the_total) {
    legacy("a", R"(["m1"])");
    legacy("b", R"(["n1"])");
    legacy("c", "[]");
    migrate_ok("schema");
    migrate_ok("run");
    std::ofstream(daemon_config_path_) << config_yaml(daemon_conninfo());
    daemon_process d(daemon_config_path_, log_path_, {"--once"});
    ASSERT_EQ(d.wait_exit(30s), 0) << log();
    EXPECT_NE(log().find(" info chatledger-syncd: reconciling: 3/3 (100%), "), std::string::npos)
        << log();
    EXPECT_NE(log().find("/s, eta done\n"), std::string::npos) << log();
    EXPECT_LT(log().find("reconciling: 3/3"), log().find("reconcile finished: 3 conversations"))
        << log();
}

// JSON log lines carried their counters inside msg; tools read them as members now.
TEST_F(sync_pgtest, once_json_log_lines_carry_counters_as_fields) {
    legacy("a", R"(["m1"])");
    legacy("b", R"(["n1"])");
    migrate_ok("schema");
    migrate_ok("run");
    std::ofstream(daemon_config_path_)
        << config_yaml(daemon_conninfo()) << "logging:\n  format: json\n";
    daemon_process d(daemon_config_path_, log_path_, {"--once"});
    ASSERT_EQ(d.wait_exit(30s), 0) << log();
    EXPECT_NE(log().find("\"msg\":\"reconciling\",\"done\":2,\"total\":2,\"percent\":100.000,"),
              std::string::npos)
        << log();
    EXPECT_NE(log().find("\"msg\":\"reconcile finished\",\"conversations\":2,\"rewrites\":"),
              std::string::npos)
        << log();
}

// The ledger holds only values it can render: a sent_at of infinity stopped every sync of its
// conversation ("cannot convert infinity to bigint").
TEST_F(sync_pgtest, an_infinite_sent_at_is_refused_at_insert) {
    legacy("a", R"(["a1"])");
    migrate_ok("schema");
    auto app = connect_as(provision_logins().app);
    try {
        sql(app,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body, sent_at) VALUES "
            "('a', 'x', 'y', 'infinity')");
        ADD_FAILURE() << "an infinite sent_at was accepted";
    } catch (const pg::integrity_violation& e) {
        EXPECT_NE(std::string(e.what()).find("chat_messages_sent_at_finite"), std::string::npos)
            << e.what();
    }
}

}  // namespace
}  // namespace chatledger::daemon

// Database tests of plan, run and verify: byte-exact payloads, every value form, idempotence,
// crash and resume with kill -9, and legacy writes racing a running migration.
#include <fcntl.h>
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <atomic>
#include <filesystem>
#include <fstream>
#include <random>
#include <sstream>
#include <thread>

#include "migrator/cli.hpp"
#include "migrator/migration_repository.hpp"
#include "schema/apply.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/legacy_db_fixture.hpp"
#include "tests/support/migrate_cli.hpp"

namespace chatledger::migrator {
namespace {

class run_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        legacy_.emplace(connect_legacy());
        write_config(1000);
    }
    void TearDown() override {
        legacy_.reset();
        legacy_db_test::TearDown();
    }

    void write_config(int batch_rows) {
        std::ofstream(config_path_)
            << config_yaml() << "migrate:\n  batch_rows: " << batch_rows << "\n";
    }

    /// A legacy writer's INSERT, as the legacy login.
    void legacy(const std::string& key, const std::optional<std::string>& history) {
        sql(*legacy_, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ($1, $2)",
            {key, history});
    }

    std::vector<std::string> payloads(const std::string& key) {
        auto r =
            sql(*conn_,
                "SELECT payload::text FROM chatledger.chat_messages WHERE zoho_id = $1 ORDER BY id",
                {key});
        std::vector<std::string> out;
        for (int i = 0; i < r.rows(); ++i) out.emplace_back(r.text(i, 0));
        return out;
    }

    std::optional<pg::connection> legacy_;  ///< a legacy writer's
};

TEST_F(run_pgtest, run_copies_every_element_byte_for_byte_in_order) {
    legacy(
        "a",
        R"([{"sender":"ann","message":"hi","timestamp":"2024-03-01T12:34:56Z"},  {"message": "two" , "x":[1, 2]}, null, 42, "text"])");
    legacy("b", "[\n  {\n    \"sender\": \"bob\"\n  }\n]");
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(payloads("a"),
              (std::vector<std::string>{
                  R"({"sender":"ann","message":"hi","timestamp":"2024-03-01T12:34:56Z"})",
                  R"({"message": "two" , "x":[1, 2]})", "null", "42", "\"text\""}));
    EXPECT_EQ(payloads("b"), (std::vector<std::string>{"{\n    \"sender\": \"bob\"\n  }"}));
    auto r = sql(*conn_,
                 "SELECT author, body, sent_at = '2024-03-01T12:34:56Z', source "
                 "FROM chatledger.chat_messages WHERE zoho_id = 'a' ORDER BY id LIMIT 1");
    EXPECT_EQ(r.text(0, 0), "ann");
    EXPECT_EQ(r.text(0, 1), "hi");
    EXPECT_TRUE(r.boolean(0, 2));
    EXPECT_EQ(r.text(0, 3), "migration");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a' AND sent_at "
                    "IS NULL"),
              4);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.migrated_conversations"), 2);
}

TEST_F(run_pgtest, empty_values_hold_no_messages_and_unparseable_ones_one_row) {
    legacy("null", std::nullopt);
    legacy("blank", "   ");
    legacy("none", "");
    legacy("empty", "[ ]");
    legacy("obj", "{\"a\":1}");
    legacy("trunc", "[{\"message\":\"cut");
    legacy("scalar", "42");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id IN "
                    "('null','blank','none','empty')"),
              0);
    auto r = sql(*conn_,
                 "SELECT zoho_id, author, body, source, payload IS NULL FROM "
                 "chatledger.chat_messages ORDER BY zoho_id");
    ASSERT_EQ(r.rows(), 3);
    EXPECT_EQ(r.text(0, 0), "obj");
    EXPECT_EQ(r.text(0, 1), "system");
    EXPECT_EQ(r.text(0, 2), "{\"a\":1}");
    EXPECT_EQ(r.text(0, 3), "unparseable");
    EXPECT_TRUE(r.boolean(0, 4));
    EXPECT_EQ(r.text(2, 2), "[{\"message\":\"cut");
    // Running again, and re-capturing the same unparseable value, adds nothing.
    ASSERT_EQ(migrate("run"), 0);
    sql(*legacy_,
        "UPDATE live_chat SET chat_history = chat_history || '' , comments = 'x' WHERE zoho_id = "
        "'obj'");
    ASSERT_EQ(migrate("run"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 3);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
}

TEST_F(run_pgtest, nul_escapes_surrogates_duplicates_and_timestamps_migrate) {
    legacy(
        "z",
        R"([{"message":"a\u0000b"},{"message":"\ud800"},{"message":"dup"},{"message":"dup"},)"
        R"({"timestamp":1709296496123},{"timestamp":"1709296496"},{"timestamp":"2024-03-01T18:04:56+05:30"},)"
        R"({"timestamp":"yesterday"}])");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    auto p = payloads("z");
    ASSERT_EQ(p.size(), 8u);
    EXPECT_EQ(p[0], R"({"message":"a\u0000b"})");
    EXPECT_EQ(p[1], R"({"message":"\ud800"})");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'dup'"), 2);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE sent_at = "
                    "'2024-03-01T12:34:56.123Z'"),
              1);
    EXPECT_EQ(
        count(
            "SELECT count(*) FROM chatledger.chat_messages WHERE sent_at = '2024-03-01T12:34:56Z'"),
        2);
    EXPECT_NE(out_.str().find("messages without a timestamp"), std::string::npos);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
}

TEST_F(run_pgtest, a_reserialized_capture_adds_nothing_and_a_new_message_once) {
    legacy("r", R"([{"sender":"a", "message":"1", "n": 1.0}])");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0);
    // As JSON.parse + JSON.stringify would write it back, plus one new message.
    sql(*legacy_,
        R"(UPDATE live_chat SET chat_history = '[{"sender":"a","message":"1","n":1},{"sender":"b","message":"2"}]')");
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'r'"), 2);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE source = 'legacy'"), 1);
    ASSERT_EQ(migrate("run"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'r'"), 2);
}

TEST_F(run_pgtest, plan_writes_nothing_even_before_schema) {
    legacy("a", "[1,2]");
    legacy("b", "oops");
    legacy("c", std::nullopt);
    ASSERT_EQ(migrate("plan"), 0) << err_.str();
    EXPECT_NE(out_.str().find("ledger rows to append             3"), std::string::npos)
        << out_.str();
    EXPECT_FALSE(sql(*conn_, "SELECT to_regnamespace('chatledger') IS NOT NULL").boolean(0, 0));
    ASSERT_EQ(migrate("schema"), 0);
    auto before = count("SELECT count(*) FROM chatledger.chat_messages");
    ASSERT_EQ(migrate("plan", {"--report", config_path_ + ".json"}), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), before);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.migrated_conversations"), 0);
    std::ifstream report(config_path_ + ".json");
    std::string json((std::istreambuf_iterator<char>(report)), {});
    EXPECT_NE(json.find("\"unparseable\":1"), std::string::npos) << json;
    std::filesystem::remove(config_path_ + ".json");
}

TEST_F(run_pgtest, run_needs_the_schema) {
    legacy("a", "[1]");
    EXPECT_EQ(migrate("run"), 2);
    EXPECT_NE(err_.str().find("chatledger-migrate --config FILE schema"), std::string::npos)
        << err_.str();
}

TEST_F(run_pgtest, verify_catches_missing_extra_and_unparseable) {
    legacy("a", "[1,2]");
    legacy("b", "[3]");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
    EXPECT_NE(out_.str().find("every legacy message is in the ledger"), std::string::npos);
    // Writes the capture trigger does not see (its owner disabled it meanwhile) stand in for loss.
    sql(*conn_,
        "BEGIN; ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture; "
        "UPDATE live_chat SET chat_history = '[1,2,99]' WHERE zoho_id = 'a'; "
        "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");
    EXPECT_EQ(migrate("verify"), 1);
    EXPECT_NE(out_.str().find("a: 1 missing from the ledger"), std::string::npos) << out_.str();
    sql(*conn_,
        "BEGIN; ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture; "
        "UPDATE live_chat SET chat_history = '[1,2]' WHERE zoho_id = 'a'; "
        "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('b', 'x', 'y')");
    EXPECT_EQ(migrate("verify"), 1);
    EXPECT_NE(out_.str().find("b: 0 missing from the ledger, 1 in the ledger"), std::string::npos)
        << out_.str();
    sql(*conn_,
        "BEGIN; ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture; "
        "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('c', '{bad'); "
        "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");
    EXPECT_EQ(migrate("verify", {"--sample", "10"}), 1);
    EXPECT_NE(out_.str().find("c: 1 missing"), std::string::npos) << out_.str();
}

// Guards verify's shortcut (a legacy value whose elements are the ledger's payloads byte for
// byte holds the same messages) against passing anything the multiset rule would not: the same
// messages reordered or spelled otherwise are clean, one element replaced by another of the same
// length is a difference, and so is a message the ledger holds twice.
TEST_F(run_pgtest, verify_compares_by_bytes_only_where_bytes_decide) {
    legacy("a", R"([{"sender":"s","message":"m1"},{"sender":"s","message":"m2"}])");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
    auto behind_the_back = [&](const std::string& history) {
        sql(*conn_, "BEGIN; ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture");
        sql(*conn_, "UPDATE live_chat SET chat_history = $1 WHERE zoho_id = 'a'", {history});
        sql(*conn_, "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");
    };
    behind_the_back(R"([{"sender":"s","message":"m2"},{"sender":"s","message":"m1"}])");
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
    behind_the_back(R"([ {"message":"m1", "sender":"s"} , {"sender":"s","message":"m2"}])");
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
    behind_the_back(R"([{"sender":"s","message":"m1"},{"sender":"s","message":"m3"}])");
    EXPECT_EQ(migrate("verify"), 1);
    EXPECT_NE(out_.str().find("a: 1 missing from the ledger, 1 in the ledger"), std::string::npos)
        << out_.str();
    behind_the_back(R"([{"sender":"s","message":"m1"}])");
    EXPECT_EQ(migrate("verify"), 1);
    EXPECT_NE(out_.str().find("a: 0 missing from the ledger, 1 in the ledger"), std::string::npos)
        << out_.str();
}

TEST_F(run_pgtest, verify_report_writes_the_counts_as_json) {
    legacy("a", "[1,2]");
    legacy("b", "[3]");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0);
    const std::string path = config_path_ + ".verify.json";
    auto read_report = [&] {
        std::ifstream f(path);
        return std::string((std::istreambuf_iterator<char>(f)), {});
    };
    ASSERT_EQ(migrate("verify", {"--report", path}), 0) << err_.str();
    EXPECT_EQ(read_report(),
              "{\"command\":\"verify\",\"sample\":null,\"conversations_checked\":2,"
              "\"conversations_differing\":0,\"missing\":0,\"extra\":0,\"ledger_only\":0,"
              "\"ledger_only_is_lower_bound\":false,\"clean\":true,\"differences\":[],"
              "\"ledger_only_keys\":[],\"first_render\":{"
              "\"conversations\":2,\"unparseable_shown\":0,\"comment_appended\":0,"
              "\"comment_columns\":2}}\n");
    // Differences still write the report: exit 1 is when a tool needs it most. A legacy write
    // queued and not yet ingested differs.
    sql(*legacy_, "UPDATE live_chat SET chat_history = '[1,2,99,98]' WHERE zoho_id = 'a'");
    ASSERT_EQ(migrate("verify", {"--sample", "5", "--report", path}), 1) << err_.str();
    const std::string json = read_report();
    EXPECT_NE(json.find("\"sample\":5,"), std::string::npos) << json;
    EXPECT_NE(json.find("\"conversations_differing\":1,\"missing\":2,"), std::string::npos) << json;
    EXPECT_NE(json.find("\"ledger_only\":null"), std::string::npos) << json;
    EXPECT_NE(json.find("\"clean\":false"), std::string::npos) << json;
    std::filesystem::remove(path);
    EXPECT_EQ(migrate("verify", {"--report", "/nonexistent-dir/v.json"}), 2);
    EXPECT_NE(err_.str().find("cannot write the report file /nonexistent-dir/v.json HINT:"),
              std::string::npos)
        << err_.str();
}

TEST_F(run_pgtest, an_option_the_command_does_not_take_exits_2_and_changes_nothing) {
    legacy("a", R"(["m1","m2"])");
    ASSERT_EQ(migrate("schema"), 0);
    // `run --dry-run` once migrated for real.
    EXPECT_EQ(migrate("run", {"--dry-run"}), 2);
    EXPECT_NE(err_.str().find("run does not take --dry-run; nothing was done HINT: plan is the "
                              "dry run of run; run takes --report"),
              std::string::npos)
        << err_.str();
    EXPECT_EQ(out_.str(), "");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.migrated_conversations"), 0);

    ASSERT_EQ(migrate("run"), 0);
    sql(*conn_,
        "INSERT INTO chat_history_backup (zoho_id, operation_type, chat_history_backup) VALUES "
        "('a', 'before_update', '[\"m1\",\"m2\",\"m3\"]')");
    // `recover --dry-run` once recovered for real.
    EXPECT_EQ(migrate("recover", {"--dry-run"}), 2);
    EXPECT_NE(err_.str().find("recover does not take --dry-run; nothing was done HINT: recover "
                              "has no dry run"),
              std::string::npos)
        << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 2);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE source = 'backup'"), 0);
}

/// Path of the built executable, for tests that must kill a real process.
std::string migrate_binary() {
    return CHATLEDGER_MIGRATE_BIN;
}

// Guards against `run` losing or duplicating messages when killed mid-walk (a batch committed
// without its checkpoint, or a checkpoint without its batch). It must kill a `run` that is still
// running whatever the build's speed: a fixed delay once let a fast build finish all 3,000
// conversations before the first SIGKILL, and a kill timed from a measured run missed every run
// once the machine got faster after measuring. So the data set is doubled until an un-killed
// `run` takes at least a second, and each kill lands when a random share of the rest has been
// checkpointed.
TEST_F(run_pgtest, kill_9_at_random_points_then_run_again_gives_the_exact_result) {
    long long conversations = 0;
    auto grow_to = [&](long long n) {
        sql(*conn_,
            "INSERT INTO live_chat (zoho_id, chat_history) "
            "SELECT 'k' || lpad(i::text, 6, '0'), "
            "       (SELECT json_agg(json_build_object('sender', 's', 'message', i || '-' || j))"
            "::text FROM generate_series(1, 1 + i % 7) j) "
            "FROM generate_series($1::integer + 1, $2::integer) i",
            {std::to_string(conversations), std::to_string(n)});
        conversations = n;
    };
    // Back to a database that has never been migrated: the ledger schema dropped and applied.
    auto fresh_ledger = [&] {
        sql(*conn_, "DROP SCHEMA IF EXISTS chatledger CASCADE");
        ASSERT_EQ(migrate("schema"), 0) << err_.str();
    };
    auto migrated = [&] { return count("SELECT count(*) FROM chatledger.migrated_conversations"); };
    write_config(25);
    grow_to(3000);
    std::chrono::milliseconds full{0};
    while (true) {
        ASSERT_NO_FATAL_FAILURE(fresh_ledger());
        const auto start = std::chrono::steady_clock::now();
        testing::child_process run(migrate_binary(), {"--config", config_path_, "run"},
                                   "/dev/null");
        ASSERT_EQ(run.wait_exit(std::chrono::seconds(120)), 0);
        full = std::chrono::duration_cast<std::chrono::milliseconds>(
            std::chrono::steady_clock::now() - start);
        if (full >= std::chrono::seconds(1) || conversations >= 48000)
            break;
        grow_to(conversations * 2);
    }
    RecordProperty("conversations", std::to_string(conversations));
    RecordProperty("unkilled_run_ms", std::to_string(full.count()));
    ASSERT_NO_FATAL_FAILURE(fresh_ledger());
    std::mt19937 rng(12345);
    std::uniform_real_distribution<double> fraction(0.25, 0.75);
    int kills = 0, kills_mid_walk = 0;
    for (int attempt = 0; attempt < 6; ++attempt) {
        const long long before = migrated();
        if (before == conversations)
            break;
        // Killed by progress, not by time: a timed kill missed every run when the machine was
        // busy while the first run was timed. The kill lands once a random share of the rest
        // has been checkpointed, or when the run looks done.
        const long long target =
            before +
            std::max(1LL, static_cast<long long>(static_cast<double>(conversations - before) *
                                                 fraction(rng)));
        testing::child_process run(migrate_binary(), {"--config", config_path_, "run"},
                                   "/dev/null");
        const auto give_up = std::chrono::steady_clock::now() + full * 4 + std::chrono::seconds(5);
        while (migrated() < target && std::chrono::steady_clock::now() < give_up)
            std::this_thread::sleep_for(std::chrono::milliseconds(1));
        run.signal(SIGKILL);
        if (run.wait_exit(std::chrono::seconds(10)) != 128 + SIGKILL)
            continue;
        ++kills;
        const long long after = migrated();
        if (after > before && after < conversations)
            ++kills_mid_walk;
    }
    EXPECT_GT(kills, 0) << "every run finished before its SIGKILL; one takes " << full.count()
                        << " ms for " << conversations << " conversations";
    // Killed after some batches committed and before the last: resuming had work to do.
    EXPECT_GT(kills_mid_walk, 0) << full.count() << " ms for " << conversations;
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"),
              count("SELECT sum(1 + i % 7) FROM generate_series(1, $1::integer) i",
                    {std::to_string(conversations)}));
    EXPECT_EQ(
        count("SELECT count(*) FROM (SELECT zoho_id, payload::text FROM chatledger.chat_messages "
              "GROUP BY 1, 2 HAVING count(*) > 1) d"),
        0);
    EXPECT_EQ(migrated(), conversations);
    EXPECT_EQ(count("SELECT sum(messages) FROM chatledger.migrated_conversations"),
              count("SELECT count(*) FROM chatledger.chat_messages"));
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
}

// Guards against the walk growing with the square of the table: each batch's keys were joined
// to migrated_conversations as a merge join, which read every conversation migrated below the
// cursor for every batch (a quarter of a million rows per batch halfway through 500,000; 26 s
// of a run with nothing to do). Each key is now one probe: the rows read stay in proportion.
TEST_F(run_pgtest, the_walk_reads_each_migrated_conversation_once_per_run) {
    const int n = 3000;
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, chat_history) "
        "SELECT 'k' || lpad(i::text, 5, '0'), '[{\"message\":\"m ' || i || '\"}]' "
        "FROM generate_series(1, $1::integer) i",
        {std::to_string(n)});
    sql(*conn_, "ANALYZE live_chat");
    write_config(20);
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    sql(*conn_, "ANALYZE chatledger.migrated_conversations");
    ASSERT_EQ(migrate("run"), 0) << err_.str();  // every key migrated already
    // What the runs read of migrated_conversations, once their server processes have reported.
    const auto read = [&] {
        sql(*conn_, "SELECT pg_stat_clear_snapshot()");
        return count(
            "SELECT coalesce(sum(idx_tup_read), 0) + (SELECT coalesce(seq_tup_read, 0) FROM "
            "pg_stat_user_tables WHERE relid = 'chatledger.migrated_conversations'::regclass) "
            "FROM pg_stat_user_indexes WHERE relid = "
            "'chatledger.migrated_conversations'::regclass");
    };
    ASSERT_TRUE(wait_until([&] { return read() >= n; }, std::chrono::seconds(10))) << read();
    EXPECT_LE(read(), 4 * n);
}

TEST_F(run_pgtest, legacy_writes_during_run_reach_the_ledger_exactly_once) {
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, chat_history) "
        "SELECT 'w' || lpad(i::text, 4, '0'), '[{\"message\":\"seed ' || i || '\"}]' "
        "FROM generate_series(1, 2000) i");
    write_config(20);
    ASSERT_EQ(migrate("schema"), 0);
    std::atomic<bool> stop{false};
    std::atomic<int> written{0};
    std::thread writer([&] {
        auto c = connect_legacy();
        for (int i = 0; !stop && i < 400; ++i) {
            // The legacy read-modify-write: append one message to a conversation's array.
            std::string key = "w" + std::string(4 - std::to_string(1 + i * 5 % 2000).size(), '0') +
                              std::to_string(1 + i * 5 % 2000);
            c.exec("legacy write",
                   "UPDATE live_chat SET chat_history = left(chat_history, -1) || "
                   "',{\"message\":\"live ' || $2 || '\"}]' WHERE zoho_id = $1",
                   {key, std::to_string(i)});
            ++written;
        }
    });
    int rc = migrate("run");
    stop = true;
    writer.join();
    ASSERT_EQ(rc, 0) << err_.str();
    // Writes that committed after run's final queue pass are ingested by the next run (or the
    // daemon).
    ASSERT_EQ(migrate("run"), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body LIKE 'live %'"),
              written.load());
    EXPECT_EQ(
        count("SELECT count(DISTINCT body) FROM chatledger.chat_messages WHERE body LIKE 'live %'"),
        written.load());
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body LIKE 'seed %'"),
              2000);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
}

}  // namespace
}  // namespace chatledger::migrator

namespace chatledger::migrator {
namespace {

TEST_F(run_pgtest, recover_appends_the_largest_count_of_any_snapshot_once) {
    legacy("a", R"(["m1","m2"])");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0);
    // The old system's snapshots: m3 was lost after its backup, dup appeared twice in one snapshot.
    sql(*conn_,
        "INSERT INTO chat_history_backup (zoho_id, operation_type, chat_history_backup) VALUES "
        "('a', 'before_update', '[\"m1\",\"m2\",\"m3\"]'),"
        "('a', 'after_update', '[\"m1\",\"dup\",\"dup\"]'),"
        "('a', 'after_update', '[\"dup\"]'),"
        "('gone', 'before_update', '[\"g1\"]'),"
        "('a', 'before_update', '{corrupt')");
    ASSERT_EQ(migrate("recover"), 0) << err_.str();
    EXPECT_NE(out_.str().find("a: 3 message(s) recovered"), std::string::npos) << out_.str();
    // No legacy row has 'gone': listed, not appended as a conversation no dashboard shows.
    EXPECT_NE(out_.str().find("'gone': no legacy row has this key, 1 snapshot(s) not recovered"),
              std::string::npos)
        << out_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'a' AND source "
                    "= 'backup'"),
              3);
    EXPECT_EQ(
        count("SELECT count(*) FROM chatledger.chat_messages WHERE payload::text = '\"dup\"'"), 2);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE payload::text = '\"m1\"'"),
              1);
    ASSERT_EQ(migrate("recover"), 0);
    EXPECT_NE(out_.str().find("messages recovered           0"), std::string::npos) << out_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 5);
}

}  // namespace
}  // namespace chatledger::migrator

namespace chatledger::migrator {
namespace {

TEST_F(run_pgtest, losing_the_database_mid_run_exits_3_and_the_next_run_resumes) {
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, chat_history) "
        "SELECT 't' || lpad(i::text, 5, '0'), "
        "       (SELECT json_agg(json_build_object('message', i || '-' || j))::text "
        "        FROM generate_series(1, 5) j) "
        "FROM generate_series(1, 4000) i");
    write_config(10);
    ASSERT_EQ(migrate("schema"), 0);
    const std::string log = config_path_ + ".log";
    int rc = -1;
    for (int attempt = 0; attempt < 5 && rc != 3; ++attempt) {
        testing::child_process run(migrate_binary(), {"--config", config_path_, "run"}, log);
        std::this_thread::sleep_for(std::chrono::milliseconds(150));
        // What a failover or an administrator's pg_terminate_backend looks like to the migrator.
        sql(*conn_,
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity "
            "WHERE application_name LIKE 'chatledger migrate run%' AND datname = "
            "current_database()");
        rc = run.wait_exit(std::chrono::seconds(30));
    }
    ASSERT_EQ(rc, 3) << testing::read_file(log);
    const std::string err = testing::read_file(log);
    EXPECT_NE(err.find("chatledger-migrate: "), std::string::npos) << err;
    EXPECT_NE(err.find("HINT:"), std::string::npos) << err;
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages"), 20000);
    EXPECT_EQ(migrate("verify"), 0) << out_.str();
    std::filesystem::remove(log);
}

}  // namespace
}  // namespace chatledger::migrator

namespace chatledger::migrator {
namespace {

TEST_F(run_pgtest, a_one_megabyte_body_and_a_100000_message_conversation_migrate) {
    const std::string big(1 << 20, 'b');
    legacy("big", "[{\"sender\":\"x\",\"message\":\"" + big + "\"}]");
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, chat_history) "
        "SELECT 'long', '[' || string_agg('{\"message\":\"' || j || '\"}', ',' ORDER BY j) || ']' "
        "FROM generate_series(1, 100000) j");
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    EXPECT_EQ(count("SELECT length(body) FROM chatledger.chat_messages WHERE zoho_id = 'big'"),
              1 << 20);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'long'"),
              100000);
    // Array order survives as id order.
    EXPECT_EQ(count("SELECT count(*) FROM (SELECT body::int - row_number() OVER (ORDER BY id) AS d "
                    "FROM chatledger.chat_messages WHERE zoho_id = 'long') s WHERE d <> 0"),
              0);
}

// A value larger than a batch is read in slices (libpq's buffer and the result held a 50 MB
// value twice beside its string): the slices must join to the value byte for byte, multibyte
// characters and a slice boundary inside them included, with the comment columns beside it.
TEST_F(run_pgtest, a_value_larger_than_a_batch_is_read_in_slices_byte_for_byte) {
    std::string value = "[";
    for (int i = 0; value.size() < 300'000; ++i)
        value += std::string(i ? "," : "") + "{\"message\":\"\u00e9\u20ac\U0001F600 " +
                 std::to_string(i) + "\"}";
    value += "]";
    legacy("a", R"(["small"])");
    legacy("b", value);
    legacy("c", R"(["after"])");
    sql(*conn_,
        "UPDATE live_chat SET comments = 'hi', comments_entered_by = 'x' WHERE zoho_id = "
        "'b'");
    const config cfg = make_config();
    ledger::ledger_repository ledger(*conn_, cfg);
    migrator::migration_repository repo(*conn_, cfg, ledger);
    pg::transaction tx(*conn_, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
    ledger.require_schema(true);
    const long long max_bytes = 10'007;  // odd: slices end inside multibyte characters
    auto first = repo.legacy_batch(std::nullopt, 10, false, max_bytes);
    ASSERT_EQ(first.size(), 1u);
    EXPECT_EQ(first[0].history, R"(["small"])");
    auto large = repo.legacy_batch(std::string("a"), 10, false, max_bytes);
    ASSERT_EQ(large.size(), 1u);
    EXPECT_EQ(large[0].zoho_id, "b");
    ASSERT_TRUE(large[0].history);
    EXPECT_EQ(large[0].history->size(), value.size());
    EXPECT_TRUE(*large[0].history == value);
    EXPECT_EQ(large[0].comment, "hi");
    EXPECT_EQ(large[0].comment_author, "x");
    auto rest = repo.legacy_batch(std::string("b"), 10, false, max_bytes);
    ASSERT_EQ(rest.size(), 1u);
    EXPECT_EQ(rest[0].history, R"(["after"])");
    tx.commit();
}

}  // namespace
}  // namespace chatledger::migrator

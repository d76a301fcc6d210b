// Database tests of the daemon with legacy keys as real shops have them: a key two rows share,
// integer and char(n) keys, and events for a key the legacy table does not have.
#include <gtest/gtest.h>
#include <signal.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "daemon/syncer.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/legacy_db_fixture.hpp"
#include "tests/support/migrate_cli.hpp"

namespace chatledger::daemon {
namespace {

class keys_pgtest : public testing::legacy_db_test {
  protected:
    // Each test creates a legacy table keyed by the type it is about (keyed_table).
    keys_pgtest() { with_legacy_table_ = false; }
    void prepare() override { provision_logins(); }
    /// One daemon round's work on `key` as the daemon login: collect the appends, then sync.
    sync_outcome sync(const std::string& key) {
        collect_appends();
        auto c = connect_as(provision_logins().daemon);
        syncer s(c, cfg_);
        return s.sync(key);
    }
    void append(const std::string& key, const std::string& body) {
        auto app = connect_as(provision_logins().app);
        sql(app,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ($1, 'app', $2)",
            {key, body});
    }

    /// Sequential and index scans of live_chat so far, once every other session of the scratch
    /// database has ended (a backend flushes its statistics as it exits).
    std::pair<long long, long long> scans() {
        for (int i = 0; i < 200; ++i) {
            if (count("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
                      "AND pid <> pg_backend_pid()") == 0)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        // This backend's own pending counts (the index build's heap scan among them) are
        // flushed lazily: force them out now, or they land between two readings (seen in CI).
        sql(*conn_, "SELECT pg_stat_force_next_flush()");
        sql(*conn_, "SELECT 1");
        sql(*conn_, "SELECT pg_stat_clear_snapshot()");
        auto r = sql(*conn_,
                     "SELECT seq_scan, idx_scan FROM pg_stat_user_tables WHERE relid = "
                     "'live_chat'::regclass");
        return {r.integer(0, 0), r.integer(0, 1)};
    }
    /// A legacy table keyed by `type` with 20,000 rows, enough for the planner to prefer the
    /// key's index to a scan, and one conversation under `key`; schema and run done.
    void keyed_table(const std::string& type, const std::string& key) {
        sql(*conn_, "CREATE TABLE live_chat (zoho_id " + type +
                        " PRIMARY KEY, full_name text, chat_history text, comments text, "
                        "comments_entered_by text); INSERT INTO live_chat (zoho_id) SELECT "
                        "(i + 100000)::text::" +
                        type + " FROM generate_series(1, 20000) i");
        sql(*conn_, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ($1, '[\"old\"]')",
            {key});
        sql(*conn_, "ANALYZE live_chat");
        migrate_ok("schema");
        migrate_ok("run");
    }
    std::string history_of(const std::string& key) {
        return std::string(
            sql(*conn_, "SELECT chat_history FROM live_chat WHERE zoho_id::text = $1", {key})
                .text(0, 0));
    }
};

// Guards against the daemon rendering one row's conversation into every row of a key that two
// rows share (a unique index dropped after schema): it names the key instead.
TEST_F(keys_pgtest, a_key_two_rows_share_is_an_error_naming_it) {
    sql(*conn_, R"(CREATE TABLE live_chat (tenant_id integer, zoho_id text, full_name text,
                       chat_history text, comments text, comments_entered_by text,
                       PRIMARY KEY (tenant_id, zoho_id));
                   CREATE UNIQUE INDEX whole_key ON live_chat (zoho_id);
                   INSERT INTO live_chat (tenant_id, zoho_id, chat_history)
                       VALUES (1, 'E100', '["one"]'))");
    migrate_ok("schema");
    migrate_ok("run");
    sql(*conn_,
        "DROP INDEX whole_key; INSERT INTO live_chat (tenant_id, zoho_id, chat_history) "
        "VALUES (2, 'E100', '[\"two\"]')");
    append("E100", "new");
    try {
        sync("E100");
        ADD_FAILURE() << "the sync of a key two rows share succeeded";
    } catch (const error& e) {
        EXPECT_NE(std::string(e.line()).find("2 rows with zoho_id 'E100'"), std::string::npos)
            << e.line();
        EXPECT_NE(std::string(e.line()).find("HINT:"), std::string::npos) << e.line();
    }
    EXPECT_EQ(count("SELECT count(*) FROM live_chat WHERE chat_history LIKE '%new%'"), 0);
    EXPECT_GT(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'E100'"), 0);
}

// Guards against `key::text = $1` lookups: on an integer key every sync scanned the table (500
// appends took 70 s to drain on 500,000 rows). The daemon's sync must use the key's index.
TEST_F(keys_pgtest, an_integer_key_is_synced_through_its_index) {
    keyed_table("integer", "4242");
    append("4242", "new");
    const auto before = scans();
    EXPECT_TRUE(sync("4242").rewritten);
    const auto after = scans();
    EXPECT_EQ(after.first, before.first) << "the sync scanned live_chat sequentially";
    EXPECT_GT(after.second, before.second);
    EXPECT_EQ(history_of("4242"), R"(["old",{"sender":"app","message":"new","timestamp":")" +
                                      std::string(sql(*conn_,
                                                      "SELECT to_char(sent_at AT TIME ZONE 'UTC', "
                                                      "'YYYY-MM-DD\"T\"HH24:MI:SS.MS\"Z\"') FROM "
                                                      "chatledger.chat_messages WHERE body = 'new'")
                                                      .text(0, 0)) +
                                      "\"}]");
}

// Guards against the same scan on a char(n) key, and against a padded spelling of the key
// ('Z1      ') being taken for the row whose conversation the ledger knows as 'Z1': only the
// key's text form matches, so the outcome does not depend on how the application padded it.
TEST_F(keys_pgtest, a_char_key_is_synced_through_its_index_and_only_under_its_text_form) {
    keyed_table("character(8)", "Z1");
    append("Z1", "new");
    const auto before = scans();
    EXPECT_TRUE(sync("Z1").rewritten);
    const auto after = scans();
    EXPECT_EQ(after.first, before.first) << "the sync scanned live_chat sequentially";
    EXPECT_GT(after.second, before.second);
    EXPECT_NE(history_of("Z1").find("\"new\""), std::string::npos) << history_of("Z1");
    const auto rendered = history_of("Z1");
    append("Z1      ", "padded");
    EXPECT_FALSE(sync("Z1      ").rewritten);
    EXPECT_EQ(history_of("Z1"), rendered);
}

// Guards against an event for a key no legacy row has being consumed in silence: an application
// appending under a padded char(n) key ('Z1      ') or an unknown one saw nothing rendered and
// nothing said. The daemon logs each (with the key the table has, when one is equal) and counts
// it.
TEST_F(keys_pgtest, an_event_for_a_key_with_no_legacy_row_is_logged_and_counted) {
    sql(*conn_, R"(CREATE TABLE live_chat (zoho_id character(8) PRIMARY KEY, full_name text,
                       chat_history text, comments text, comments_entered_by text);
                   INSERT INTO live_chat (zoho_id, chat_history) VALUES ('Z1', '["old"]'))");
    migrate_ok("schema");
    migrate_ok("run");
    const int port = testing::free_port();
    const std::string daemon_config = config_path_ + ".daemon.yaml", log = config_path_ + ".log";
    std::ofstream(daemon_config) << config_yaml(daemon_conninfo())
                                 << "daemon:\n  poll_interval_ms: 100\n  metrics_listen: "
                                    "\"127.0.0.1:"
                                 << port << "\"\n";
    testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", daemon_config}, log);
    append("Z1      ", "padded");
    append("Z9", "unknown");
    auto metric = [&] {
        const auto r = testing::http_get(port, "/metrics");
        const std::string name = "\nchatledger_syncd_events_without_legacy_row_total ";
        const auto at = r.find(name);
        return at == std::string::npos ? -1.0 : std::stod(r.substr(at + name.size()));
    };
    for (int i = 0; i < 400 && metric() < 2; ++i)
        std::this_thread::sleep_for(std::chrono::milliseconds(50));
    EXPECT_EQ(metric(), 2);
    // A direct connection: the notification probe after LISTEN comes back.
    EXPECT_NE(testing::http_get(port, "/metrics").find("\nchatledger_syncd_notifications_ok 1\n"),
              std::string::npos);
    const auto text = testing::read_file(log);
    EXPECT_NE(text.find("1 event(s) for 'Z1      ' consumed without rendering: legacy table " +
                        legacy_table() +
                        " has no row whose zoho_id reads 'Z1      ', but has 'Z1' HINT: "
                        "append under 'Z1'"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("1 event(s) for 'Z9' consumed without rendering"), std::string::npos)
        << text;
    d.signal(SIGTERM);
    EXPECT_EQ(d.wait_exit(std::chrono::seconds(5)), 0) << text;
    std::filesystem::remove(daemon_config);
    std::filesystem::remove(log);
}

}  // namespace
}  // namespace chatledger::daemon

// Database tests of `schema`: objects, idempotence, checksums, concurrency, append-only
// enforcement for every role, the writer's plain INSERT and the capture of legacy writes.
#include "schema/apply.hpp"

#include <gtest/gtest.h>

#include <thread>
#include <typeinfo>

#include "config/error.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::schema {
namespace {

class schema_pgtest : public testing::legacy_db_test {
  protected:
    /// A session of the login that holds `role`: empty is the superuser, chatledger_owner the
    /// DBA under SET ROLE (it is a member), the others each role's own login.
    pg::connection session_of(const std::string& role) {
        if (role.empty())
            return connect_superuser();
        const auto& l = provision_logins();
        if (role == "chatledger_writer")
            return connect_as(l.app);
        if (role == "chatledger_reader")
            return connect_as(l.reader);
        if (role == "chatledger_daemon")
            return connect_as(l.daemon);
        auto c = connect();
        sql(c, "SET ROLE " + role);
        return c;
    }
    /// Runs `statement` in session_of(role) and returns its SQLSTATE.
    std::string refused_state(const std::string& role, const std::string& statement) {
        auto c = session_of(role);
        try {
            sql(c, statement);
        } catch (const pg::db_error& e) {
            last_message_ = e.what();
            // Callers branch on the class, not the SQLSTATE: a refusal must arrive as class 42.
            if (e.sqlstate().starts_with("42")) {
                EXPECT_NE(dynamic_cast<const pg::syntax_or_access_error*>(&e), nullptr)
                    << typeid(e).name() << ": " << e.what();
            }
            return e.sqlstate();
        }
        return "ok";
    }

    std::string last_message_;
};

TEST_F(schema_pgtest, creates_the_ledger_on_an_empty_database) {
    auto report = apply_schema(*conn_, cfg_, false);
    EXPECT_EQ(report.version_before, 0);
    EXPECT_EQ(report.version_after, latest_schema_version());
    EXPECT_EQ(schema_version(*conn_, cfg_), latest_schema_version());
    EXPECT_EQ(sql(*conn_,
                  "SELECT tableowner FROM pg_tables WHERE schemaname = 'chatledger' "
                  "AND tablename = 'chat_messages'")
                  .text(0, 0),
              "chatledger_owner");
    EXPECT_FALSE(sql(*conn_, "SELECT rolcanlogin FROM pg_roles WHERE rolname = 'chatledger_owner'")
                     .boolean(0, 0));
    EXPECT_EQ(count("SELECT count(*) FROM pg_roles WHERE rolname IN ('chatledger_writer', "
                    "'chatledger_reader', 'chatledger_daemon')"),
              3);
    EXPECT_EQ(count("SELECT count(*) FROM pg_trigger WHERE tgname = 'chatledger_capture' "
                    "AND tgrelid = 'live_chat'::regclass AND tgenabled = 'A'"),
              1);
    EXPECT_TRUE(sql(*conn_, "SELECT to_regclass('chat_history_backup') IS NOT NULL").boolean(0, 0));
    auto history = sql(*conn_,
                       "SELECT version, name, length(checksum), applied_by = current_user "
                       "FROM chatledger.schema_history ORDER BY version");
    ASSERT_EQ(history.rows(), latest_schema_version());
    EXPECT_EQ(history.text(0, 1), "ledger");
    EXPECT_EQ(history.integer(0, 2), 64);
    EXPECT_TRUE(history.boolean(0, 3));
}

TEST_F(schema_pgtest, a_second_run_is_a_no_op) {
    apply_schema(*conn_, cfg_, false);
    auto before = count("SELECT count(*) FROM chatledger.schema_history");
    auto again = apply_schema(*conn_, cfg_, false);
    EXPECT_TRUE(again.applied.empty());
    EXPECT_EQ(again.version_before, again.version_after);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.schema_history"), before);
    EXPECT_EQ(count("SELECT count(*) FROM pg_trigger WHERE tgname = 'chatledger_capture'"), 1);
}

TEST_F(schema_pgtest, an_existing_backup_table_is_left_alone) {
    sql(*conn_,
        "CREATE TABLE chat_history_backup (id serial PRIMARY KEY, zoho_id text, note text)");
    sql(*conn_, "INSERT INTO chat_history_backup (zoho_id, note) VALUES ('z', 'kept')");
    apply_schema(*conn_, cfg_, false);
    auto columns = sql(*conn_,
                       "SELECT string_agg(column_name, ',' ORDER BY ordinal_position) FROM "
                       "information_schema.columns WHERE table_name = 'chat_history_backup'");
    EXPECT_EQ(columns.text(0, 0), "id,zoho_id,note");
    auto rows = sql(*conn_, "SELECT zoho_id, note FROM chat_history_backup");
    ASSERT_EQ(rows.rows(), 1);
    EXPECT_EQ(rows.text(0, 0), "z");
    EXPECT_EQ(rows.text(0, 1), "kept");
}

TEST_F(schema_pgtest, a_changed_applied_step_is_refused) {
    apply_schema(*conn_, cfg_, false);
    sql(*conn_,
        "UPDATE chatledger.schema_history SET checksum = repeat('0', 64) WHERE version = 1");
    try {
        apply_schema(*conn_, cfg_, false);
        FAIL() << "a checksum mismatch was accepted";
    } catch (const error& e) {
        // The root itself: neither a config_error (exit 2) nor a db_error from the server.
        EXPECT_TRUE(typeid(e) == typeid(error)) << typeid(e).name() << ": " << e.what();
        EXPECT_EQ(e.status(), exit_status::database);
        const std::string what = e.what();
        EXPECT_NE(what.find("schema step 0001 ledger was applied with checksum 000000000000 but "
                            "this build's file has "),
                  std::string::npos)
            << what;
        EXPECT_NE(e.hint().find("immutable"), std::string::npos) << e.hint();
    }
}

TEST_F(schema_pgtest, a_database_newer_than_the_build_is_refused) {
    apply_schema(*conn_, cfg_, false);
    sql(*conn_,
        "INSERT INTO chatledger.schema_history (version, name, checksum, chatledger_version) "
        "VALUES (999, 'future', 'x', '9')");
    try {
        apply_schema(*conn_, cfg_, false);
        FAIL() << "a schema newer than the build was accepted";
    } catch (const error& e) {
        EXPECT_TRUE(typeid(e) == typeid(error)) << typeid(e).name() << ": " << e.what();
        EXPECT_EQ(e.status(), exit_status::database);
        EXPECT_NE(std::string(e.what()).find("the ledger schema is at version 999 but this "
                                             "chatledger knows only " +
                                             std::to_string(latest_schema_version())),
                  std::string::npos)
            << e.what();
        EXPECT_NE(e.hint().find("at least as new"), std::string::npos) << e.hint();
    }
    // Refused before anything ran: the history holds the same rows.
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.schema_history"), latest_schema_version() + 1);
}

TEST_F(schema_pgtest, concurrent_runs_apply_each_step_once) {
    std::vector<std::thread> threads;
    std::atomic<int> failures{0};
    for (int i = 0; i < 4; ++i) {
        threads.emplace_back([&] {
            try {
                auto c = connect();
                apply_schema(c, cfg_, false);
            } catch (const std::exception& e) {
                ++failures;
                ADD_FAILURE() << e.what();
            }
        });
    }
    for (auto& t : threads) t.join();
    EXPECT_EQ(failures.load(), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.schema_history"), latest_schema_version());
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.schema_repeatable"), 1);
}

TEST_F(schema_pgtest, dry_run_prints_the_sql_and_changes_nothing) {
    auto report = apply_schema(*conn_, cfg_, true);
    EXPECT_NE(report.sql.find("CREATE TABLE \"chatledger\".chat_messages"), std::string::npos);
    EXPECT_FALSE(report.applied.empty());
    EXPECT_FALSE(sql(*conn_, "SELECT to_regnamespace('chatledger') IS NOT NULL").boolean(0, 0));
    EXPECT_EQ(count("SELECT count(*) FROM pg_trigger WHERE tgname = 'chatledger_capture'"), 0);
}

TEST_F(schema_pgtest, a_missing_legacy_table_names_the_config_key) {
    cfg_.legacy.table = qualified_name("", "no_such_table");
    try {
        apply_schema(*conn_, cfg_, false);
        FAIL() << "a missing legacy table was accepted";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("no_such_table"), std::string::npos);
        EXPECT_NE(e.hint().find("legacy.table"), std::string::npos);
    }
}

TEST_F(schema_pgtest, a_missing_legacy_column_names_the_config_key) {
    cfg_.legacy.comment_column = identifier("remarks");
    try {
        apply_schema(*conn_, cfg_, false);
        FAIL() << "a missing column was accepted";
    } catch (const config_error& e) {
        EXPECT_NE(std::string(e.what()).find("legacy.comment_column"), std::string::npos)
            << e.what();
    }
}

TEST_F(schema_pgtest, a_crafted_table_name_is_quoted_not_executed) {
    sql(*conn_, "CREATE TABLE canary (x int)");
    const std::string name = "live\"; DROP TABLE canary; --";
    create_legacy_table(*conn_, "\"live\"\"; DROP TABLE canary; --\"");
    cfg_.legacy.table = qualified_name(legacy_schema_, name);
    apply_schema(*conn_, cfg_, false);
    EXPECT_TRUE(sql(*conn_, "SELECT to_regclass('canary') IS NOT NULL").boolean(0, 0));
    EXPECT_EQ(count("SELECT count(*) FROM pg_trigger WHERE tgname = 'chatledger_capture'"), 1);
}

TEST_F(schema_pgtest, pointing_the_config_at_another_table_moves_the_trigger) {
    apply_schema(*conn_, cfg_, false);
    create_legacy_table(*conn_, "live_chat_v2");
    cfg_.legacy.table = qualified_name(legacy_schema_, "live_chat_v2");
    auto report = apply_schema(*conn_, cfg_, false);
    EXPECT_EQ(report.applied.size(), 1u);
    EXPECT_EQ(count("SELECT count(*) FROM pg_trigger WHERE tgname = 'chatledger_capture' "
                    "AND tgrelid = 'live_chat_v2'::regclass"),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM pg_trigger WHERE tgname = 'chatledger_capture'"), 1);
}

TEST_F(schema_pgtest, update_delete_and_truncate_are_refused_for_every_role) {
    apply_schema(*conn_, cfg_, false);
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('z1', 'a', 'b')");
    const std::vector<std::string> statements = {
        "UPDATE chatledger.chat_messages SET body = 'changed'",
        "UPDATE chatledger.chat_messages SET body = 'changed' WHERE false",
        "DELETE FROM chatledger.chat_messages",
        "TRUNCATE chatledger.chat_messages",
    };
    for (const std::string role :
         {"", "chatledger_owner", "chatledger_writer", "chatledger_daemon"}) {
        for (const auto& s : statements) {
            EXPECT_EQ(refused_state(role, s), "42501")
                << (role.empty() ? "superuser" : role) << ": " << s;
        }
    }
    // The owner and the superuser pass the privilege check and meet the triggers' message.
    refused_state("chatledger_owner", "DELETE FROM chatledger.chat_messages");
    EXPECT_NE(last_message_.find("append-only"), std::string::npos) << last_message_;
    refused_state("", "TRUNCATE chatledger.chat_messages");
    EXPECT_NE(last_message_.find("append-only"), std::string::npos) << last_message_;
    // Replica mode disables ordinary triggers, not ENABLE ALWAYS ones.
    EXPECT_EQ(refused_state("",
                            "SET session_replication_role = replica; "
                            "DELETE FROM chatledger.chat_messages"),
              "42501");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE body = 'b'"), 1);
}

TEST_F(schema_pgtest, a_plain_insert_by_the_writer_fills_every_default) {
    apply_schema(*conn_, cfg_, false);
    auto c = connect_as(provision_logins().app);
    sql(c,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('z9', 'ann', 'hi')");
    auto r = sql(*conn_,
                 "SELECT id IS NOT NULL, sent_at IS NOT NULL, payload IS NULL, source, "
                 "created_at IS NOT NULL FROM chatledger.chat_messages WHERE zoho_id = 'z9'");
    ASSERT_EQ(r.rows(), 1);
    EXPECT_TRUE(r.boolean(0, 0));
    EXPECT_TRUE(r.boolean(0, 1));
    EXPECT_TRUE(r.boolean(0, 2));
    EXPECT_EQ(r.text(0, 3), "app");
    EXPECT_TRUE(r.boolean(0, 4));
    // The row carries its transaction, and the daemon's next collection queues it.
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'z9' AND "
                    "xact_id IS NOT NULL"),
              1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.uncollected_appends WHERE zoho_id = 'z9'"), 1);
    EXPECT_EQ(collect_appends(), 1);
    EXPECT_EQ(
        count(
            "SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'z9' AND kind = 'append'"),
        1);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.uncollected_appends"), 0);
    // A writer cannot forge where a row came from, nor hide it from the collection.
    EXPECT_EQ(refused_state("chatledger_writer",
                            "INSERT INTO chatledger.chat_messages (zoho_id, body, source) "
                            "VALUES ('z9', 'x', 'migration')"),
              "42501");
    EXPECT_EQ(refused_state("chatledger_writer",
                            "INSERT INTO chatledger.chat_messages (zoho_id, body, xact_id) "
                            "VALUES ('z9', 'x', '1')"),
              "42501");
    EXPECT_EQ(refused_state("chatledger_daemon",
                            "INSERT INTO chatledger.chat_messages (zoho_id, body, source, xact_id) "
                            "VALUES ('z9', 'x', 'legacy', '1')"),
              "42501");
    EXPECT_EQ(
        refused_state("chatledger_reader",
                      "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('z9', 'x')"),
        "42501");
}

// A collection queues one event per conversation with new appends, naming its first new row.
TEST_F(schema_pgtest, only_rows_the_legacy_column_cannot_show_yet_are_queued) {
    apply_schema(*conn_, cfg_, false);
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, body) "
        "SELECT 'z' || (i % 3), 'm' || i FROM generate_series(1, 30) i");
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, body, source) VALUES "
        "('b', 'x', 'backup'), ('m', 'y', 'migration'), ('l', 'z', 'legacy'), "
        "('u', 'w', 'unparseable')");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 0);
    EXPECT_EQ(collect_appends(), 4);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 4);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id IN ('m', 'l', 'u')"),
              0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue q WHERE q.first_ledger_id = "
                    "(SELECT min(id) FROM chatledger.chat_messages m WHERE m.zoho_id = q.zoho_id)"),
              4);
    // Collected once: the next collection finds nothing, until something new commits.
    EXPECT_EQ(collect_appends(), 0);
    sql(*conn_, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('z1', 'later')");
    EXPECT_EQ(collect_appends(), 1);
    EXPECT_EQ(count("SELECT max(first_ledger_id) FROM chatledger.sync_queue WHERE zoho_id = 'z1'"),
              count("SELECT max(id) FROM chatledger.chat_messages"));
}

TEST_F(schema_pgtest, every_committed_legacy_write_is_captured_once) {
    apply_schema(*conn_, cfg_, false);
    auto w = connect_legacy();
    sql(w, "INSERT INTO live_chat VALUES ('a', 'Ann', '[{\"message\":\"1\"}]', '1', 'ann')");
    sql(w, "UPDATE live_chat SET chat_history = '[]' WHERE zoho_id = 'a'");
    // Only the comment changes: an older write path, still captured.
    sql(w, "UPDATE live_chat SET comments = 'c2', comments_entered_by = 'bob' WHERE zoho_id = 'a'");
    // Nothing changes: nothing to capture.
    sql(w, "UPDATE live_chat SET chat_history = chat_history WHERE zoho_id = 'a'");
    // A name-only change is not a chat write.
    sql(w, "UPDATE live_chat SET full_name = 'Ann B' WHERE zoho_id = 'a'");
    // Rolled back: never committed, never captured.
    sql(w, "BEGIN; UPDATE live_chat SET chat_history = 'lost' WHERE zoho_id = 'a'; ROLLBACK");
    // The daemon's own rewrite (its login's) is not captured again.
    auto daemon = connect_as(provision_logins().daemon);
    sql(daemon, "UPDATE " + legacy_table() + " SET chat_history = 'rendered' WHERE zoho_id = 'a'");
    auto r = sql(*conn_,
                 "SELECT kind, history, comments, comments_entered_by FROM chatledger.sync_queue "
                 "WHERE zoho_id = 'a' ORDER BY id");
    ASSERT_EQ(r.rows(), 3);
    EXPECT_EQ(r.text(0, 0), "insert");
    EXPECT_EQ(r.text(0, 1), "[{\"message\":\"1\"}]");
    EXPECT_EQ(r.text(1, 0), "update");
    EXPECT_EQ(r.text(1, 1), "[]");
    EXPECT_EQ(r.text(2, 2), "c2");
    EXPECT_EQ(r.text(2, 3), "bob");
}

TEST_F(schema_pgtest, a_legacy_writer_without_ledger_privileges_is_captured) {
    apply_schema(*conn_, cfg_, false);
    auto c = connect_legacy();
    sql(c, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('d', '[1]')");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'd'"), 1);
    EXPECT_THROW(sql(c, "SELECT * FROM chatledger.sync_queue"), pg::syntax_or_access_error);
}

}  // namespace
}  // namespace chatledger::schema

namespace chatledger::schema {
namespace {

/// The wake-up notifications `listener` has received so far; waits up to `patience` for a first.
int notifications(pg::connection& listener, std::chrono::milliseconds patience) {
    int n = 0;
    const auto until = std::chrono::steady_clock::now() + patience;
    for (;;) {
        PQconsumeInput(listener.native());
        while (PGnotify* note = PQnotifies(listener.native())) {
            EXPECT_STREQ(note->relname, "chatledger");
            ++n;
            PQfreemem(note);
        }
        if (n > 0 || std::chrono::steady_clock::now() >= until)
            return n;
        std::this_thread::sleep_for(std::chrono::milliseconds(20));
    }
}

// An append fires no trigger that does work (schema step 0013): step 0012's wake-up, a
// statement trigger sending a NOTIFY, cost a fifth of the append rate; the daemon finds appends
// by their transaction, notified or not. A legacy write's capture still notifies.
TEST_F(schema_pgtest, a_legacy_write_wakes_a_listener_and_an_append_does_not) {
    apply_schema(*conn_, cfg_, false);
    auto listener = connect_as(provision_logins().daemon);
    sql(listener, "LISTEN chatledger");
    auto count_notifies = [&](std::chrono::milliseconds patience) {
        return notifications(listener, patience);
    };
    for (int session = 0; session < 2; ++session) {
        auto writer = connect_as(provision_logins().app);
        sql(writer, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('n', 'x')");
        sql(writer,
            "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('n', 'y'), ('m', 'z')");
    }
    EXPECT_EQ(count_notifies(std::chrono::milliseconds(300)), 0);
    EXPECT_EQ(collect_appends(), 2);
    {
        auto writer = connect_legacy();
        sql(writer, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('n', '[1]')");
    }
    EXPECT_GE(count_notifies(std::chrono::seconds(1)), 1);
}

// NOTIFY serializes every notifying commit on one global lock: a session that writes without
// pause hints at most once per 500 ms (step 0010; it was once per 10 ms), and hints again after.
TEST_F(schema_pgtest, a_busy_session_hints_at_most_twice_a_second) {
    apply_schema(*conn_, cfg_, false);
    auto listener = connect();
    sql(listener, "LISTEN chatledger");
    auto drain = [&] { return notifications(listener, std::chrono::milliseconds(0)); };
    auto writer = connect_legacy();
    sql(writer, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('n', '[]')");
    std::this_thread::sleep_for(std::chrono::milliseconds(550));
    drain();
    const auto started = std::chrono::steady_clock::now();
    for (int i = 0; i < 30; ++i) {
        sql(writer, "UPDATE live_chat SET chat_history = '[" + std::to_string(i) +
                        "]' WHERE zoho_id = 'n'");
        std::this_thread::sleep_for(std::chrono::milliseconds(10));
    }
    const auto took = std::chrono::steady_clock::now() - started;
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    const int hints = drain();
    EXPECT_GE(hints, 1);
    // One per started 500 ms of appending.
    EXPECT_LE(hints, 1 + took / std::chrono::milliseconds(500)) << hints << " hints";
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = 'n'"), 31);
    std::this_thread::sleep_for(std::chrono::milliseconds(550));
    sql(writer, "UPDATE live_chat SET chat_history = '[\"y\"]' WHERE zoho_id = 'n'");
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    EXPECT_EQ(drain(), 1);
}

}  // namespace
}  // namespace chatledger::schema

namespace chatledger::schema {
namespace {

TEST_F(schema_pgtest, error_lines_never_quote_row_values) {
    apply_schema(*conn_, cfg_, false);
    try {
        conn_->exec("appending",
                    "INSERT INTO chatledger.chat_messages (zoho_id, body, source) "
                    "VALUES ('z', 'private body text', 'bogus')");
        FAIL() << "a bad source was accepted";
    } catch (const pg::integrity_violation& e) {
        EXPECT_NE(std::string(e.what()).find("chat_messages_source_check"), std::string::npos)
            << e.what();
        EXPECT_EQ(std::string(e.what()).find("private body text"), std::string::npos) << e.what();
    }
}

// Guards the collection against ids that commit out of order (schema step 0012): a transaction
// holding a lower id commits after a collection has queued a higher one. An `id > last seen`
// cursor would skip it for good; the snapshot cursor finds it, once, when it commits.
TEST_F(schema_pgtest, an_append_that_commits_late_is_collected_when_it_commits) {
    apply_schema(*conn_, cfg_, false);
    auto slow = connect_as(provision_logins().app);
    auto quick = connect_as(provision_logins().app);
    sql(slow, "BEGIN");
    sql(slow, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('a', 'slow')");
    sql(quick, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('b', 'quick')");
    const long long slow_id = count("SELECT max(id) FROM chatledger.chat_messages") - 1;
    EXPECT_EQ(collect_appends(), 1);  // b
    EXPECT_EQ(collect_appends(), 0);  // a is not committed yet
    sql(slow, "COMMIT");
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.uncollected_appends"), 1);
    EXPECT_EQ(collect_appends(), 1);
    EXPECT_EQ(count("SELECT first_ledger_id FROM chatledger.sync_queue WHERE zoho_id = 'a'"),
              slow_id);
    EXPECT_EQ(collect_appends(), 0);
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), 2);
    // A collection that finds nothing writes nothing: no transaction id, no lock, no WAL.
    {
        auto d = connect_as(provision_logins().daemon);
        sql(d, "BEGIN");
        EXPECT_EQ(sql(d, "SELECT chatledger.collect_appends()").integer(0, 0), 0);
        EXPECT_TRUE(sql(d, "SELECT pg_current_xact_id_if_assigned()").is_null(0, 0));
        sql(d, "COMMIT");
    }
    // A rolled-back append is never collected; nor is anything twice.
    sql(slow, "BEGIN");
    sql(slow, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('c', 'gone')");
    sql(slow, "ROLLBACK");
    EXPECT_EQ(collect_appends(), 0);
    // Two daemons collecting at once: the second skips while the first holds the lock.
    sql(quick, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('b', 'more')");
    auto d1 = connect_as(provision_logins().daemon);
    sql(d1, "BEGIN");
    EXPECT_EQ(sql(d1, "SELECT coalesce(chatledger.collect_appends(), -1)").integer(0, 0), 1);
    auto d2 = connect_as(provision_logins().daemon);
    sql(d2, "BEGIN");
    EXPECT_EQ(sql(d2, "SELECT coalesce(chatledger.collect_appends(), -1)").integer(0, 0), -1);
    sql(d2, "ROLLBACK");
    sql(d1, "COMMIT");
    // No other login can stop the collection: an advisory lock on any key does not, and the
    // cursor's row lock needs UPDATE, which only the owner has.
    auto app = connect_as(provision_logins().app);
    sql(app, "SELECT pg_advisory_lock(hashtextextended('chatledger appends chatledger', 0))");
    EXPECT_EQ(
        refused_state("chatledger_writer", "SELECT * FROM chatledger.append_cursor FOR UPDATE"),
        "42501");
    EXPECT_EQ(
        refused_state("chatledger_daemon", "SELECT * FROM chatledger.append_cursor FOR SHARE"),
        "42501");
    sql(quick, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('b', 'again')");
    EXPECT_EQ(collect_appends(), 1);
    // Not in a snapshot taken before the lock.
    sql(d2, "BEGIN ISOLATION LEVEL REPEATABLE READ");
    EXPECT_THROW(sql(d2, "SELECT chatledger.collect_appends()"), pg::db_error);
    sql(d2, "ROLLBACK");
}

// A session can set the hint's setting to anything: a legacy writer's writes still succeed,
// are captured and wake the daemon. Before step 0013 a value that was not a number refused every
// write of that session, and a time to come silenced its hints.
TEST_F(schema_pgtest, a_legacy_writer_that_garbles_the_hint_setting_still_writes_and_wakes) {
    apply_schema(*conn_, cfg_, false);
    auto listener = connect_as(provision_logins().daemon);
    sql(listener, "LISTEN chatledger");
    auto legacy = connect_legacy();
    int i = 0;
    for (const char* v :
         {"'not a time'", "'99999999999999999999'", "'999999999999999'", "'-5'", "''"}) {
        sql(legacy, std::string("SET chatledger.woke_at = ") + v);
        sql(legacy, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('g" +
                        std::to_string(i++) + "', '[]')");
        EXPECT_GE(notifications(listener, std::chrono::seconds(1)), 1) << v;
    }
    EXPECT_EQ(count("SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id LIKE 'g%'"), 5);
}

}  // namespace
}  // namespace chatledger::schema

// Database tests of legacy.key_column as real shops key their tables: a key shared by two rows
// (a composite primary key) is refused by schema, run, plan and verify, never half migrated.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::migrator {
namespace {

class key_column_pgtest : public testing::legacy_db_test {
  protected:
    key_column_pgtest() { with_legacy_table_ = false; }  // each test creates the table it is about
};

/// Two tenants' conversations share a zoho_id, as a (tenant_id, zoho_id) key allows. The DBA
/// owns the crm schema (the fixture's legacy schema).
constexpr const char* two_tenants = R"(
    CREATE TABLE crm.live_chat (tenant_id integer, zoho_id text, full_name text,
        chat_history text, comments text, comments_entered_by text,
        PRIMARY KEY (tenant_id, zoho_id));
    INSERT INTO crm.live_chat (tenant_id, zoho_id, chat_history) VALUES
        (1, 'E100', '["tenant one"]'), (2, 'E100', '["tenant two"]'), (1, 'E200', '["x"]'))";

// Guards against schema accepting a key column that is not unique on its own: a composite key,
// a partial or an expression index let two rows share it and run migrated one of them.
TEST_F(key_column_pgtest, schema_refuses_a_key_column_without_a_unique_index) {
    auto conn = connect();
    sql(conn, two_tenants);
    std::string out;
    EXPECT_EQ(migrate_line("schema", out), 2) << out;
    EXPECT_NE(out.find("crm.live_chat"), std::string::npos) << out;
    EXPECT_NE(out.find("\"zoho_id\""), std::string::npos) << out;
    EXPECT_NE(out.find("CREATE UNIQUE INDEX CONCURRENTLY ON \"crm\".\"live_chat\" (\"zoho_id\")"),
              std::string::npos)
        << out;
    EXPECT_EQ(
        sql(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'chatledger'").integer(0, 0),
        0);
    // Neither a partial nor an expression index makes the column unique.
    sql(conn,
        "DELETE FROM crm.live_chat WHERE tenant_id = 2; CREATE UNIQUE INDEX partial_key ON "
        "crm.live_chat (zoho_id) WHERE tenant_id = 1; CREATE UNIQUE INDEX lower_key ON "
        "crm.live_chat (lower(zoho_id))");
    EXPECT_EQ(migrate_line("schema", out), 2) << out;
    sql(conn, "CREATE UNIQUE INDEX whole_key ON crm.live_chat (zoho_id)");
    EXPECT_EQ(migrate_line("schema", out), 0) << out;
}

// Guards against run migrating one of two rows that share a key and verify then passing
// ("differing 0", exit 0) while the other tenant's messages are not in the ledger.
TEST_F(key_column_pgtest, run_plan_and_verify_refuse_a_key_seen_twice) {
    auto conn = connect();
    sql(conn, two_tenants);
    // The index was there when schema ran and was dropped afterwards.
    sql(conn,
        "DELETE FROM crm.live_chat WHERE tenant_id = 2; "
        "CREATE UNIQUE INDEX whole_key ON crm.live_chat (zoho_id)");
    std::string out;
    ASSERT_EQ(migrate_line("schema", out), 0) << out;
    sql(conn,
        "DROP INDEX crm.whole_key; INSERT INTO crm.live_chat (tenant_id, zoho_id, "
        "chat_history) VALUES (2, 'E100', '[\"tenant two\"]')");
    for (const char* command : {"plan", "run", "verify"}) {
        EXPECT_EQ(migrate_line(command, out), 2) << command << ": " << out;
        EXPECT_NE(out.find("more than one row with zoho_id 'E100'"), std::string::npos)
            << command << ": " << out;
        EXPECT_NE(out.find("HINT:"), std::string::npos) << out;
    }
    EXPECT_EQ(sql(conn, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0), 0);
}

// Guards against `key::text = ANY(...)` in verify --sample's read of the sampled rows: on an
// integer key it scanned the whole table; compared in the key's own type it uses the index.
TEST_F(key_column_pgtest, verify_sample_reads_an_integer_key_through_its_index) {
    auto conn = connect();
    sql(conn,
        "CREATE TABLE crm.live_chat (zoho_id integer PRIMARY KEY, "
        "full_name text, chat_history text, comments text, comments_entered_by text); "
        "INSERT INTO crm.live_chat (zoho_id, chat_history) SELECT i, '[\"m' || i || '\"]' "
        "FROM generate_series(1, 20000) i; ANALYZE crm.live_chat");
    std::string out;
    ASSERT_EQ(migrate_line("schema", out), 0) << out;
    ASSERT_EQ(migrate_line("run", out), 0) << out;
    // Counters as flushed by every other session, which flushes as it ends.
    auto seq_scans = [&] {
        for (int i = 0; i < 200; ++i) {
            if (sql(conn,
                    "SELECT count(*) FROM pg_stat_activity WHERE datname = "
                    "current_database() AND pid <> pg_backend_pid()")
                    .integer(0, 0) == 0)
                break;
            std::this_thread::sleep_for(std::chrono::milliseconds(25));
        }
        sql(conn, "SELECT pg_stat_clear_snapshot()");
        return sql(conn,
                   "SELECT seq_scan FROM pg_stat_user_tables WHERE relid = "
                   "'crm.live_chat'::regclass")
            .integer(0, 0);
    };
    const long long before = seq_scans();
    ASSERT_EQ(migrate_line("verify --sample 50", out), 0) << out;
    EXPECT_NE(out.find("conversations checked     50"), std::string::npos) << out;
    // The sample itself is drawn by one scan (ORDER BY random()); reading its rows is not.
    EXPECT_EQ(seq_scans() - before, 1);
}

}  // namespace
}  // namespace chatledger::migrator

// Keeps docs/migration-runbook.md's rollback true: its SQL, run as written after a migration
// and a live daemon's work, leaves the legacy table holding every message and writable as before.
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "daemon/syncer.hpp"
#include "migrator/cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger {
namespace {

/// The ```sql block under "## Rollback" in the runbook.
std::string rollback_sql() {
    std::ifstream in(std::string(CHATLEDGER_SOURCE_DIR) + "/docs/migration-runbook.md");
    std::string line, out;
    bool section = false, block = false;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0)
            section = line == "## Rollback";
        if (!section)
            continue;
        if (line == "```sql") {
            block = true;
            continue;
        }
        if (block && line == "```")
            break;
        if (block)
            out += line + "\n";
    }
    return out;
}

class runbook_pgtest : public testing::pg_test {
  protected:
    int migrate(const std::string& config_path, const std::string& command) {
        std::ostringstream out, err;
        const char* argv[] = {"chatledger-migrate", "--config", config_path.c_str(),
                              command.c_str()};
        int rc = migrator::run_cli(4, argv, out, err);
        EXPECT_EQ(rc, 0) << command << ": " << err.str();
        return rc;
    }
};

TEST_F(runbook_pgtest, the_rollback_sql_leaves_the_legacy_table_whole_and_writable) {
    const std::string sql_text = rollback_sql();
    ASSERT_NE(sql_text.find("DROP TRIGGER chatledger_capture ON live_chat"), std::string::npos)
        << sql_text;
    auto conn = connect();
    create_legacy_table(conn);
    sql(conn,
        "INSERT INTO live_chat (zoho_id, full_name, chat_history) VALUES "
        "('a', 'Ann', '[{\"sender\":\"x\",\"message\":\"one\"}]'), ('b', 'Bob', NULL)");
    const std::string config_path = "/tmp/" + dbname_ + ".yaml";
    std::ofstream(config_path) << "database:\n  conninfo: \"" << conninfo() << "\"\n";
    migrate(config_path, "schema");
    migrate(config_path, "run");
    // An application append, rendered by the daemon's syncer, then rolled back.
    sql(conn,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'y', 'two')");
    {
        auto c = connect();
        const config cfg = make_config();  // the syncer keeps a reference
        daemon::syncer s(c, cfg);
        s.sync("a");
    }
    sql(conn, sql_text);
    std::remove(config_path.c_str());

    EXPECT_EQ(
        sql(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = 'chatledger'").integer(0, 0),
        0);
    EXPECT_EQ(sql(conn,
                  "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'live_chat'::regclass "
                  "AND NOT tgisinternal")
                  .integer(0, 0),
              0);
    // Every message, the rendered one included, stays in the legacy column.
    auto r = sql(conn,
                 "SELECT json_array_length(chat_history::json), (chat_history::json->0)::text, "
                 "chat_history::json->1->>'message' FROM live_chat WHERE zoho_id = 'a'");
    EXPECT_EQ(r.integer(0, 0), 2);
    EXPECT_EQ(std::string(r.text(0, 1)), "{\"sender\":\"x\",\"message\":\"one\"}");
    EXPECT_EQ(std::string(r.text(0, 2)), "two");
    EXPECT_EQ(
        std::string(sql(conn, "SELECT comments FROM live_chat WHERE zoho_id = 'a'").text(0, 0)),
        "two");
    // The old write path works as before.
    sql(conn, "UPDATE live_chat SET chat_history = '[]', comments = 'c' WHERE zoho_id = 'b'");
    EXPECT_EQ(
        std::string(sql(conn, "SELECT comments FROM live_chat WHERE zoho_id = 'b'").text(0, 0)),
        "c");
}

}  // namespace
}  // namespace chatledger

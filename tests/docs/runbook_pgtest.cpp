// Keeps docs/migration-runbook.md true: its names, backup line and SQL blocks run as written
// through its dba_psql on non-default names in a non-default schema, from backup to DROP ROLE.
#include <gtest/gtest.h>

#include <array>
#include <cstdio>
#include <fstream>
#include <map>
#include <sstream>

#include "daemon/cli.hpp"
#include "tests/support/migrate_cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger {
namespace {

/// The fenced blocks of language `lang` under the heading that starts with `heading`, in order.
/// Indented fences (inside a list item) count too.
std::vector<std::string> blocks(const std::string& heading, const std::string& lang) {
    std::ifstream in(std::string(CHATLEDGER_SOURCE_DIR) + "/docs/migration-runbook.md");
    std::vector<std::string> out;
    std::string line;
    bool section = false, inside = false;
    while (std::getline(in, line)) {
        if (line.rfind("## ", 0) == 0)
            section = line.rfind("## " + heading, 0) == 0;
        const std::string bare = line.substr(std::min(line.find_first_not_of(' '), line.size()));
        if (!section)
            continue;
        if (!inside && bare == "```" + lang) {
            inside = true;
            out.emplace_back();
        } else if (inside && bare == "```") {
            inside = false;
        } else if (inside) {
            out.back() += bare + "\n";
        }
    }
    return out;
}

/// Runs a bash script; returns its exit status and puts stdout and stderr in `output`.
int bash(const std::string& script, std::string& output) {
    const std::string path = "/tmp/runbook-" + std::to_string(::getpid()) + ".sh";
    std::ofstream(path) << script;
    FILE* p = ::popen(("bash " + path + " 2>&1").c_str(), "r");
    std::array<char, 4096> buf{};
    output.clear();
    for (size_t n; (n = std::fread(buf.data(), 1, buf.size(), p)) > 0;)
        output.append(buf.data(), n);
    const int rc = ::pclose(p);
    std::remove(path.c_str());
    return WIFEXITED(rc) ? WEXITSTATUS(rc) : -1;
}

class runbook_pgtest : public testing::pg_test {
  protected:
    /// The names block of the prerequisites with this test's values put in, as a DBA would.
    std::string names() const {
        const auto sh = blocks("1. Prerequisites", "sh");
        EXPECT_EQ(sh.size(), 1u);
        std::istringstream in(sh.at(0));
        std::string line, out;
        const std::map<std::string, std::string> values = {
            {"export PGDATABASE", dbname_}, {"LEGACY_SCHEMA", "crm"},
            {"LEGACY_TABLE", "chats"},      {"BACKUP_TABLE", "chats_backup"},
            {"LEDGER", ledger()},           {"DAEMON_LOGIN", ledger() + "_login"}};
        size_t replaced = 0;
        while (std::getline(in, line)) {
            const auto eq = line.find('=');
            const auto it =
                eq == std::string::npos ? values.end() : values.find(line.substr(0, eq));
            if (it != values.end() && line.find("()") == std::string::npos) {
                line = it->first + "=" + it->second;
                ++replaced;
            }
            out += line + "\n";
        }
        EXPECT_EQ(replaced, values.size()) << sh.at(0);
        // The block's PGUSER is the DBA: a login with CREATEROLE, no superuser.
        return out + "export PGUSER=" + logins().dba + "\n";
    }
    /// Roles are cluster-wide: a ledger name of this database's own keeps them apart.
    std::string ledger() const { return "rb_" + dbname_; }

    void run_sql_block(const std::string& block, const std::string& vars = {}) {
        std::string output;
        EXPECT_EQ(
            bash(names() + "dba_psql " + vars + " <<'RUNBOOK_SQL'\n" + block + "RUNBOOK_SQL\n",
                 output),
            0)
            << block << output;
    }
    int migrate(const std::string& command) {
        return testing::migrate_cli(config_path_, {command}, last_);
    }
    void write_config(const std::string& path, const std::string& conninfo) const {
        std::ofstream(path) << "database:\n  conninfo: \"" << conninfo << "\"\n"
                            << "legacy:\n  table: crm.chats\n  key_column: conv_id\n"
                            << "  name_column: person\n  history_column: log\n"
                            << "  comment_column: last_note\n  comment_author_column: last_by\n"
                            << "ledger:\n  schema: " << ledger() << "\n"
                            << "backup:\n  table: crm.chats_backup\n";
    }

    std::string config_path_;
    std::string last_;
};

TEST_F(runbook_pgtest, followed_literally_with_non_default_names_from_backup_to_rollback) {
    // The DBA's own legacy schema (the fixture's crm) holds the tables.
    auto conn = connect();
    sql(conn,
        "CREATE TABLE crm.chats (conv_id text PRIMARY KEY, person text, "
        "log text, last_note text, last_by text); "
        "CREATE TABLE crm.chats_backup (id serial PRIMARY KEY, zoho_id text, full_name text, "
        "backup_timestamp timestamptz DEFAULT now(), operation_type text, chat_history_backup "
        "text, comments_backup text, comments_entered_by_backup text, operation_user text); "
        "INSERT INTO crm.chats VALUES ('a', 'Ann', '[{\"sender\":\"x\",\"message\":\"one\"}]', "
        "'one', 'x'), ('b', 'Bob', NULL, NULL, NULL)");
    config_path_ = "/tmp/" + dbname_ + ".yaml";
    const std::string daemon_config = "/tmp/" + dbname_ + "-daemon.yaml";
    write_config(config_path_, conninfo());

    // 2. The backup holds both tables.
    const auto backup = blocks("2. Take a backup", "sh");
    ASSERT_EQ(backup.size(), 1u);
    std::string output;
    ASSERT_EQ(bash(names() + "cd /tmp\n" + backup[0], output), 0) << backup[0] << output;
    EXPECT_NE(output.find("crm chats "), std::string::npos) << output;
    EXPECT_NE(output.find("crm chats_backup "), std::string::npos) << output;
    std::remove("/tmp/chats-before-chatledger.dump");

    // 4, 5, 6.
    ASSERT_EQ(migrate("schema"), 0) << last_;
    ASSERT_EQ(migrate("run"), 0) << last_;
    ASSERT_EQ(migrate("verify"), 0) << last_;

    // A write while the capture trigger was disabled: verify names it, run alone does not
    // repair it, the runbook's checkpoint removal and run do.
    sql(conn,
        "BEGIN; ALTER TABLE crm.chats DISABLE TRIGGER chatledger_capture; "
        "UPDATE crm.chats SET log = '[{\"sender\":\"x\",\"message\":\"one\"},"
        "{\"sender\":\"y\",\"message\":\"lost\"}]' WHERE conv_id = 'a'; "
        "ALTER TABLE crm.chats ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");
    EXPECT_EQ(migrate("verify"), 1) << last_;
    EXPECT_NE(last_.find("missing from the ledger"), std::string::npos) << last_;
    ASSERT_EQ(migrate("run"), 0) << last_;
    EXPECT_EQ(migrate("verify"), 1) << "run alone skips a migrated conversation";
    const auto repair = blocks("6. Verify", "sql");
    ASSERT_EQ(repair.size(), 1u);
    run_sql_block(repair[0], "-v zoho_id=a");
    ASSERT_EQ(migrate("run"), 0) << last_;
    EXPECT_EQ(migrate("verify"), 0) << last_;
    EXPECT_EQ(migrate("run"), 0) << last_;  // nothing twice
    EXPECT_EQ(sql(conn, "SELECT count(*) FROM " + ledger() + ".chat_messages WHERE zoho_id = 'a'")
                  .integer(0, 0),
              2);

    // 8. The daemon's login and grants, then the daemon as that login, then verify again.
    const auto daemon_sql = blocks("8. Start the daemon", "sql");
    ASSERT_EQ(daemon_sql.size(), 1u);
    run_sql_block(daemon_sql[0]);
    // 9. An application append for the daemon to render.
    const auto writer_sql = blocks("9. Switch writers", "sql");
    ASSERT_EQ(writer_sql.size(), 1u);
    sql(conn, "CREATE ROLE dashboard_" + dbname_ + " LOGIN");
    std::string grant = writer_sql[0];
    grant.replace(grant.find("dashboard_app"), 13, "dashboard_" + dbname_);
    run_sql_block(grant);
    {
        auto app = connect_as("dashboard_" + dbname_);
        sql(app, "INSERT INTO " + ledger() +
                     ".chat_messages (zoho_id, author, body) VALUES ('a', 'y', 'two')");
    }
    write_config(daemon_config, conninfo_as(ledger() + "_login"));
    {
        std::ostringstream out, err;
        const char* argv[] = {"chatledger-syncd", "--config", daemon_config.c_str(), "--once"};
        EXPECT_EQ(daemon::run_cli(4, argv, out, err), 0) << err.str();
    }
    EXPECT_EQ(migrate("verify"), 0) << last_;

    // Rollback, then the roles.
    const auto rollback = blocks("Rollback", "sql");
    ASSERT_EQ(rollback.size(), 2u);
    run_sql_block(rollback[0]);
    run_sql_block(rollback[1]);
    std::remove(config_path_.c_str());
    std::remove(daemon_config.c_str());

    EXPECT_EQ(sql(conn, "SELECT count(*) FROM pg_roles WHERE rolname LIKE '" + ledger() + "\\_%'")
                  .integer(0, 0),
              0);
    EXPECT_EQ(sql(conn, "SELECT count(*) FROM pg_namespace WHERE nspname = '" + ledger() + "'")
                  .integer(0, 0),
              0);
    EXPECT_EQ(sql(conn,
                  "SELECT count(*) FROM pg_trigger WHERE tgrelid = 'crm.chats'::regclass "
                  "AND NOT tgisinternal")
                  .integer(0, 0),
              0);
    // Every message, the rendered one included, stays in the legacy column.
    auto r = sql(conn,
                 "SELECT json_array_length(log::json), log::json->2->>'message', last_note "
                 "FROM crm.chats WHERE conv_id = 'a'");
    EXPECT_EQ(r.integer(0, 0), 3);
    EXPECT_EQ(std::string(r.text(0, 1)), "two");
    EXPECT_EQ(std::string(r.text(0, 2)), "two");
    // The old write path works as before.
    sql(conn, "UPDATE crm.chats SET log = '[]', last_note = 'c' WHERE conv_id = 'b'");
    EXPECT_EQ(
        std::string(sql(conn, "SELECT last_note FROM crm.chats WHERE conv_id = 'b'").text(0, 0)),
        "c");
    sql(conn, "DROP ROLE dashboard_" + dbname_);
}

}  // namespace
}  // namespace chatledger

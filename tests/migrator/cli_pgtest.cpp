// End-to-end tests of the chatledger-migrate front end against a real server: exit statuses,
// one-line errors and the schema command run twice as a DBA would.
#include "migrator/cli.hpp"

#include <gtest/gtest.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>

#include "chatledger/version.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::migrator {
namespace {

// The public case: the legacy table in public, where the DBA may create, and the config keeps
// the default table names.
class cli_pgtest : public testing::pg_test {
  protected:
    cli_pgtest() { legacy_schema_ = "public"; }
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        dir_ = std::filesystem::temp_directory_path() / ("cl_cli_" + dbname_);
        std::filesystem::create_directories(dir_);
    }
    void TearDown() override {
        std::filesystem::remove_all(dir_);
        pg_test::TearDown();
    }

    std::string write_config(const std::string& body) {
        auto path = (dir_ / "chatledger.yaml").string();
        std::ofstream(path) << body;
        return path;
    }

    int run(std::vector<std::string> args) {
        out_.str("");
        err_.str("");
        std::vector<const char*> argv = {"chatledger-migrate"};
        for (auto& a : args) argv.push_back(a.c_str());
        return run_cli(static_cast<int>(argv.size()), argv.data(), out_, err_);
    }

    std::filesystem::path dir_;
    std::ostringstream out_, err_;
};

TEST_F(cli_pgtest, schema_twice_then_status) {
    auto conn = connect();
    create_legacy_table(conn);
    auto cfg = write_config("database:\n  conninfo: \"" + conninfo() + "\"\n");
    ASSERT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("upgraded from version 0"), std::string::npos) << out_.str();
    ASSERT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("up to date"), std::string::npos) << out_.str();
    ASSERT_EQ(run({"--config", cfg, "status", "--json"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("\"sync_queue_depth\":0"), std::string::npos) << out_.str();
}

// Guards against the capture step needing CREATE on the legacy table's schema when the backup
// table and its index are already there (CREATE TABLE and CREATE INDEX ... IF NOT EXISTS check
// that right first): a DBA owning both tables in public, where PostgreSQL 15 grants nobody
// CREATE, could not have `schema` restore a capture trigger the table's owner dropped.
TEST_F(cli_pgtest, schema_restores_the_capture_trigger_without_create_on_the_legacy_schema) {
    auto conn = connect();
    create_legacy_table(conn);
    auto cfg = write_config(config_yaml());
    ASSERT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
    auto su = connect_superuser();
    sql(su, "REVOKE CREATE ON SCHEMA public FROM " + logins().dba);
    sql(conn, "DROP TRIGGER chatledger_capture ON live_chat");
    EXPECT_EQ(run({"--config", cfg, "status"}), 1) << out_.str();
    ASSERT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("restored the capture trigger on live_chat"), std::string::npos)
        << out_.str();
    EXPECT_EQ(run({"--config", cfg, "status"}), 0) << out_.str();
}

TEST_F(cli_pgtest, dry_run_prints_sql_and_exits_zero) {
    auto conn = connect();
    create_legacy_table(conn);
    auto cfg = write_config("database:\n  conninfo: \"" + conninfo() + "\"\n");
    ASSERT_EQ(run({"--config", cfg, "--dry-run", "schema"}), 0) << err_.str();
    const std::string out = out_.str();
    EXPECT_NE(out.find("-- step 0001 ledger\n"), std::string::npos) << out;
    EXPECT_NE(out.find("CREATE TABLE \"chatledger\".chat_messages"), std::string::npos) << out;
    EXPECT_NE(out.find("-- capture trigger on live_chat\n"), std::string::npos) << out;
    EXPECT_NE(out.find("step(s) would be applied; nothing was changed\n"), std::string::npos)
        << out;
    EXPECT_FALSE(
        conn.exec("probe", "SELECT to_regnamespace('chatledger') IS NOT NULL").boolean(0, 0));
}

TEST_F(cli_pgtest, an_unreachable_database_exits_3_with_one_line) {
    auto cfg = write_config("database:\n  conninfo: \"host=/nonexistent-socket-dir port=1\"\n");
    EXPECT_EQ(run({"--config", cfg, "schema"}), 3);
    const std::string e = err_.str();
    EXPECT_NE(e.find("cannot connect"), std::string::npos) << e;
    EXPECT_NE(e.find("HINT:"), std::string::npos) << e;
    EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
}

TEST_F(cli_pgtest, a_password_never_reaches_the_error_line) {
    auto cfg =
        write_config("database:\n  conninfo: \"postgresql://someone:s3cret-pw@127.0.0.1:1/db\"\n");
    EXPECT_EQ(run({"--config", cfg, "schema"}), 3);
    // The line is there and names the server: only the password is left out.
    EXPECT_NE(err_.str().find("cannot connect"), std::string::npos) << err_.str();
    EXPECT_NE(err_.str().find("127.0.0.1"), std::string::npos) << err_.str();
    EXPECT_EQ(err_.str().find("s3cret-pw"), std::string::npos) << err_.str();
}

// Each command's permission error says what fits it: the DBA's commands never suggest granting
// the daemon role, schema asks for CREATEROLE, status the reader role; no raw placeholder.
TEST_F(cli_pgtest, a_permission_error_hints_what_fits_the_command) {
    auto conn = connect();
    create_legacy_table(conn);
    const auto& l = provision_logins(false);
    const auto as = [&](const std::string& login) {
        return write_config("database:\n  conninfo: \"" + conninfo_as(login) + "\"\n");
    };
    for (const std::string cmd : {"plan", "schema"}) {
        EXPECT_EQ(run({"--config", as(l.app), cmd}), 3) << cmd;
        const std::string e = err_.str();
        EXPECT_NE(e.find("permission denied"), std::string::npos) << e;
        EXPECT_NE(e.find("HINT: run chatledger-migrate " + cmd + " as the DBA"), std::string::npos)
            << e;
        EXPECT_EQ(e.find("GRANT chatledger"), std::string::npos) << e;
        EXPECT_EQ(e.find("_daemon"), std::string::npos) << e;
        EXPECT_EQ(e.find('<'), std::string::npos) << e;
        EXPECT_EQ(e.find("CREATEROLE") != std::string::npos, cmd == "schema") << e;
    }
    const auto dba = write_config("database:\n  conninfo: \"" + conninfo() + "\"\n");
    ASSERT_EQ(run({"--config", dba, "schema"}), 0) << err_.str();
    EXPECT_EQ(run({"--config", as(l.reader), "status"}), 3);
    EXPECT_NE(err_.str().find("HINT: grant the login its role, as the DBA: GRANT "
                              "chatledger_reader TO " +
                              l.reader),
              std::string::npos)
        << err_.str();
}

// status lists each schema step as Flyway's info does, shows a daemon that stopped beating as
// stale instead of "heartbeat 29 s ago", and a missing legacy table as one clear line, exit 1.
TEST_F(cli_pgtest, status_shows_the_schema_history_stale_daemons_and_a_missing_legacy_table) {
    auto conn = connect();
    create_legacy_table(conn);
    auto cfg = write_config("database:\n  conninfo: \"" + conninfo() + "\"\n");
    ASSERT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
    sql(conn,
        "INSERT INTO chatledger.syncd_instances (instance, started_at, heartbeat_at) VALUES "
        "('dead:1', now() - interval '1 hour', now() - interval '5 minutes'), "
        "('live:2', now(), now()); DELETE FROM chatledger.schema_history WHERE version >= 9");
    auto first = sql(conn,
                     "SELECT applied_by, left(checksum, 12) FROM chatledger.schema_history "
                     "WHERE version = 1");
    // Steps 0009 and later faked pending while 0009's grants stand: status names those as drift,
    // exit 1.
    ASSERT_EQ(run({"--config", cfg, "status"}), 1) << err_.str();
    std::string o = out_.str();
    EXPECT_NE(o.find("  0001    ledger               applied  "), std::string::npos) << o;
    EXPECT_NE(o.find(std::string(first.text(0, 0))), std::string::npos) << o;
    EXPECT_NE(o.find(std::string(first.text(0, 1))), std::string::npos) << o;
    EXPECT_NE(o.find("  0009    queue_rotation       pending  -"), std::string::npos) << o;
    EXPECT_NE(o.find("  0010    cheaper_append       pending  -"), std::string::npos) << o;
    EXPECT_NE(o.find("  0011    bulk_load            pending  -"), std::string::npos) << o;
    EXPECT_NE(o.find("syncd dead:1: stale, last heartbeat"), std::string::npos) << o;
    EXPECT_NE(o.find("syncd live:2: heartbeat 0 s ago"), std::string::npos) << o;
    ASSERT_EQ(run({"--config", cfg, "status", "--json"}), 1) << err_.str();
    o = out_.str();
    EXPECT_NE(o.find("{\"version\":1,\"name\":\"ledger\",\"state\":\"applied\",\"applied_at\":\""),
              std::string::npos)
        << o;
    EXPECT_NE(o.find("{\"version\":9,\"name\":\"queue_rotation\",\"state\":\"pending\","
                     "\"applied_at\":null,\"applied_by\":null,\"checksum\":null}"),
              std::string::npos)
        << o;
    EXPECT_NE(o.find("{\"instance\":\"dead:1\",\"heartbeat_age_s\":"), std::string::npos) << o;
    EXPECT_NE(o.find("\"stale\":true"), std::string::npos) << o;
    EXPECT_NE(o.find("\"stale\":false"), std::string::npos) << o;

    auto missing = write_config("database:\n  conninfo: \"" + conninfo() +
                                "\"\nlegacy:\n  table: no_such_table\n");
    EXPECT_EQ(run({"--config", missing, "status"}), 1) << err_.str();
    o = out_.str();
    EXPECT_NE(o.find("legacy table no_such_table does not exist"), std::string::npos) << o;
    EXPECT_EQ(o.find(" of 0"), std::string::npos) << o;
    EXPECT_EQ(run({"--config", missing, "status", "--json"}), 1) << err_.str();
    EXPECT_NE(out_.str().find("\"legacy_table_exists\":false,\"legacy_rows\":null"),
              std::string::npos)
        << out_.str();
}

// A writer's open transaction on the legacy table makes schema wait database.lock_timeout_ms;
// the failure then says what holds it and what to do.
TEST_F(cli_pgtest, schema_behind_an_open_writer_transaction_fails_with_a_hint) {
    auto conn = connect();
    create_legacy_table(conn);
    auto writer = connect_legacy();
    sql(writer, "BEGIN; INSERT INTO live_chat (zoho_id) VALUES ('w')");
    auto cfg =
        write_config("database:\n  conninfo: \"" + conninfo() + "\"\n  lock_timeout_ms: 200\n");
    EXPECT_EQ(run({"--config", cfg, "schema"}), 3);
    const std::string e = err_.str();
    EXPECT_NE(e.find("lock timeout"), std::string::npos) << e;
    EXPECT_NE(e.find("HINT: another session holds a lock"), std::string::npos) << e;
    EXPECT_NE(e.find("database.lock_timeout_ms"), std::string::npos) << e;
    sql(writer, "ROLLBACK");
    EXPECT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
}

TEST_F(cli_pgtest, a_missing_legacy_table_exits_2) {
    auto cfg = write_config("database:\n  conninfo: \"" + conninfo() + "\"\n");
    EXPECT_EQ(run({"--config", cfg, "schema"}), 2);
    EXPECT_NE(err_.str().find("legacy table live_chat does not exist"), std::string::npos)
        << err_.str();
}

TEST_F(cli_pgtest, a_wrong_table_or_column_name_exits_2_naming_the_key_for_every_command) {
    {
        auto conn = connect();
        create_legacy_table(conn);
    }
    auto cfg = write_config("database:\n  conninfo: \"" + conninfo() + "\"\n");
    ASSERT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
    for (const char* command : {"plan", "run", "verify", "recover"}) {
        cfg = write_config("database:\n  conninfo: \"" + conninfo() +
                           "\"\nlegacy:\n  table: live_chats\n");
        EXPECT_EQ(run({"--config", cfg, command}), 2) << command << ": " << err_.str();
        EXPECT_NE(err_.str().find("legacy table live_chats does not exist HINT: set legacy.table"),
                  std::string::npos)
            << command << ": " << err_.str();
        cfg = write_config("database:\n  conninfo: \"" + conninfo() +
                           "\"\nlegacy:\n  comment_column: Comments\n");
        EXPECT_EQ(run({"--config", cfg, command}), 2) << command << ": " << err_.str();
        EXPECT_NE(err_.str().find("has no column \"Comments\" (legacy.comment_column) HINT:"),
                  std::string::npos)
            << command << ": " << err_.str();
        const std::string e = err_.str();
        EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
    }
}

TEST_F(cli_pgtest, usage_errors_exit_2) {
    EXPECT_EQ(run({}), 2);
    EXPECT_NE(err_.str().find("no command"), std::string::npos);
    EXPECT_EQ(run({"frobnicate"}), 2);
    EXPECT_NE(err_.str().find("unknown command"), std::string::npos);
    EXPECT_EQ(run({"--no-such-option", "schema"}), 2);
    EXPECT_NE(err_.str().find("no-such-option"), std::string::npos) << err_.str();
    EXPECT_NE(err_.str().find("HINT: run chatledger-migrate --help"), std::string::npos)
        << err_.str();
    EXPECT_EQ(run({"--config", (dir_ / "missing.yaml").string(), "schema"}), 2);
    EXPECT_NE(err_.str().find("cannot read config file " + (dir_ / "missing.yaml").string() +
                              ": No such file"),
              std::string::npos)
        << err_.str();
    auto bad = write_config("legacy:\n  tabel: x\n");
    EXPECT_EQ(run({"--config", bad, "schema"}), 2);
    EXPECT_NE(err_.str().find(":2:"), std::string::npos) << err_.str();
}

TEST_F(cli_pgtest, every_command_refuses_the_options_it_does_not_take) {
    // The server is never reached: a refused option is a usage error found before connecting.
    auto cfg = write_config("database:\n  conninfo: \"host=/nonexistent-socket-dir port=1\"\n");
    const std::vector<std::pair<std::vector<std::string>, std::string>> refused = {
        {{"status", "--dry-run"}, "status does not take --dry-run"},
        {{"run", "--json"}, "run does not take --json"},
        {{"plan", "--dry-run"}, "plan does not take --dry-run"},
        {{"plan", "--sample", "3"}, "plan does not take --sample"},
        {{"schema", "--report", "r.json"}, "schema does not take --report"},
        {{"status", "--report", "r.json"}, "status does not take --report"},
        {{"recover", "--json"}, "recover does not take --json"},
        {{"verify", "--dry-run"}, "verify does not take --dry-run"},
        {{"--json", "schema"}, "schema does not take --json"},
    };
    for (const auto& [args, message] : refused) {
        std::vector<std::string> argv = {"--config", cfg};
        argv.insert(argv.end(), args.begin(), args.end());
        EXPECT_EQ(run(argv), 2) << message << ": " << err_.str();
        const std::string e = err_.str();
        EXPECT_EQ(e.find("chatledger-migrate: " + message + "; nothing was done HINT: "), 0) << e;
        EXPECT_NE(e.find("see chatledger-migrate --help"), std::string::npos) << e;
        EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
    }
    EXPECT_EQ(run({"--config", cfg, "recover", "--dry-run"}), 2);
    EXPECT_NE(err_.str().find("recover takes no options of its own"), std::string::npos)
        << err_.str();
    // The options a command does take get past the check to the (unreachable) server.
    for (std::vector<std::string> args :
         std::vector<std::vector<std::string>>{{"schema", "--dry-run"},
                                               {"plan", "--report", "r.json"},
                                               {"run", "--report", "r.json"},
                                               {"verify", "--sample", "3", "--report", "r.json"},
                                               {"recover"},
                                               {"status", "--json"}}) {
        std::vector<std::string> argv = {"--config", cfg};
        argv.insert(argv.end(), args.begin(), args.end());
        EXPECT_EQ(run(argv), 3) << args.front() << ": " << err_.str();
    }
}

TEST_F(cli_pgtest, a_stray_argument_a_directory_or_a_repeated_key_exits_2) {
    EXPECT_EQ(run({"status", "now"}), 2);
    EXPECT_NE(err_.str().find("unexpected argument \"now\" after the command status HINT:"),
              std::string::npos)
        << err_.str();
    EXPECT_EQ(run({"--config", dir_.string(), "status"}), 2);
    EXPECT_NE(err_.str().find("config file " + dir_.string() + " is a directory HINT:"),
              std::string::npos)
        << err_.str();
    auto cfg = write_config(
        "database:\n  conninfo: \"host=/nonexistent-socket-dir port=1\"\n"
        "database:\n  conninfo: \"" +
        conninfo() + "\"\n");
    EXPECT_EQ(run({"--config", cfg, "status"}), 2);
    EXPECT_NE(err_.str().find(cfg + ":3: key \"database\" is given twice, on lines 1 and 3"),
              std::string::npos)
        << err_.str();
}

TEST_F(cli_pgtest, plan_run_and_status_open_with_their_target_and_no_password) {
    {
        auto conn = connect();
        create_legacy_table(conn);
    }
    // Trust authentication ignores the password, so it can stand in the conninfo of a real run.
    auto cfg = write_config("database:\n  conninfo: \"" + conninfo() +
                            " password=s3cret-pw\"\nlegacy:\n  table: public.live_chat\n");
    const std::string target =
        "target: config " + cfg + ", database host=" + std::getenv("PGHOST") +
        " port=" + std::getenv("PGPORT") + " dbname=" + dbname_ + " user=" + logins().dba +
        ", legacy table public.live_chat, ledger schema chatledger\n";
    ASSERT_EQ(run({"--config", cfg, "schema"}), 0) << err_.str();
    EXPECT_EQ(out_.str().find("target:"), std::string::npos) << out_.str();
    for (const char* command : {"plan", "run", "status"}) {
        ASSERT_EQ(run({"--config", cfg, command}), 0) << command << ": " << err_.str();
        EXPECT_EQ(out_.str().find(target), 0u) << command << ": " << out_.str();
        EXPECT_EQ(out_.str().find("s3cret"), std::string::npos) << out_.str();
    }
    ASSERT_EQ(run({"--config", cfg, "status", "--json"}), 0) << err_.str();
    const std::string json = out_.str();
    EXPECT_EQ(
        json.find("{\"target\":{\"config\":\"" + cfg + "\",\"host\":\"" + std::getenv("PGHOST") +
                  "\",\"port\":\"" + std::getenv("PGPORT") + "\",\"dbname\":\"" + dbname_ +
                  "\",\"user\":\"" + logins().dba + "\",\"legacy_table\":\"public.live_chat\"},"),
        0u)
        << json;
    EXPECT_EQ(json.find("s3cret"), std::string::npos) << json;

    // The start line is logged by the real executable, for every command.
    const std::string log = (dir_ / "migrate.log").string();
    {
        testing::child_process p(CHATLEDGER_MIGRATE_BIN, {"--config", cfg, "verify"}, log);
        ASSERT_EQ(p.wait_exit(std::chrono::seconds(60)), 0) << testing::read_file(log);
    }
    const std::string text = testing::read_file(log);
    EXPECT_NE(
        text.find(std::string(" info chatledger-migrate: chatledger-migrate ") + version +
                  " starting verify: config " + cfg + ", database host=" + std::getenv("PGHOST") +
                  " port=" + std::getenv("PGPORT") + " dbname=" + dbname_ + " user=" +
                  logins().dba + ", legacy table public.live_chat, ledger schema chatledger\n"),
        std::string::npos)
        << text;
    EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
}

TEST_F(cli_pgtest, help_and_version_exit_0) {
    EXPECT_EQ(run({"--help"}), 0);
    EXPECT_NE(out_.str().find("schema"), std::string::npos);
    EXPECT_EQ(run({"--version"}), 0);
    EXPECT_NE(out_.str().find("chatledger-migrate "), std::string::npos);
}

}  // namespace
}  // namespace chatledger::migrator

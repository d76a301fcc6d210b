// What a restore or an owner can undo of the ledger's set-up, done with the real pg_dump and
// pg_restore and the logins of a deployment: `status` names it (exit 1) and `schema` puts back
// the roles, owners, privileges and ENABLE ALWAYS triggers, and names what it cannot.
#include <gtest/gtest.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <thread>

#include "migrator/cli.hpp"
#include "schema/apply.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::migrator {
namespace {

using namespace std::chrono_literals;

const std::string pg_bin = "/usr/lib/postgresql/15/bin/";

/// The seed's legacy table, in public, where the configuration's defaults look for it.
const std::string legacy_table_sql =
    "CREATE TABLE public.live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history "
    "text, comments text, comments_entered_by text)";

class restore_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        dir_ = std::filesystem::temp_directory_path() / (dbname_ + ".restore");
        std::filesystem::create_directories(dir_);
        logins_ = provision_logins();
        // The legacy side is the DBA's, as in a real CRM database (PostgreSQL 15 lets nobody
        // but the database's owner create in public unless granted).
        auto su = superuser();
        sql(su, "GRANT CREATE ON SCHEMA public TO " + logins_.dba);
        auto dba = connect_as(logins_.dba);
        sql(dba, legacy_table_sql);
        sql(dba,
            "INSERT INTO live_chat VALUES ('a', 'Ann', '[\"m1\"]', NULL, NULL); "
            "GRANT SELECT, INSERT, UPDATE ON live_chat TO " +
                logins_.legacy);
    }
    void TearDown() override {
        // Databases first, then the fixture's logins (which own objects in them), then the
        // roles of a ledger of the test's own (which own objects in the scratch database).
        database_config db;
        db.conninfo = "dbname=postgres";
        auto admin = pg::connection::open(db, "chatledger-tests");
        for (const auto& d : extra_databases_)
            sql(admin, "DROP DATABASE IF EXISTS " + d + " WITH (FORCE)");
        if (!dir_.empty())
            std::filesystem::remove_all(dir_);
        pg_test::TearDown();
        for (const auto& r : extra_roles_) sql(admin, "DROP ROLE IF EXISTS " + r);
    }

    /// The cluster's superuser (PGUSER) on the scratch database: pg_dump, pg_restore and the
    /// acts only a superuser may take.
    pg::connection superuser() const {
        database_config db;
        db.conninfo = "dbname=" + dbname_;
        return pg::connection::open(db, "chatledger-tests");
    }
    /// A config file for `conninfo`, with `extra` YAML appended; returns its path.
    std::string config_for(const std::string& name, const std::string& conninfo,
                           const std::string& extra = "") {
        const std::string path = (dir_ / (name + ".yaml")).string();
        std::ofstream(path) << "database:\n  conninfo: \"" << conninfo << "\"\n" << extra;
        return path;
    }
    int migrate(const std::string& config, const std::string& command) {
        out_.str("");
        err_.str("");
        const char* argv[] = {"chatledger-migrate", "--config", config.c_str(), command.c_str()};
        return run_cli(4, argv, out_, err_);
    }
    /// Runs a PostgreSQL client program to its end; its output is left in output_.
    int tool(const std::string& program, const std::vector<std::string>& args) {
        const std::string log = (dir_ / (program + ".log")).string();
        std::filesystem::remove(log);
        testing::child_process p(pg_bin + program, args, log);
        const int rc = p.wait_exit(120s);
        output_ = testing::read_file(log);
        return rc;
    }
    /// A new empty database owned by `owner`, dropped after the test.
    std::string new_database(const std::string& suffix, const std::string& owner) {
        const std::string name = dbname_ + "_" + suffix;
        auto su = superuser();
        sql(su, "CREATE DATABASE " + name + " OWNER " + owner);
        extra_databases_.push_back(name);
        return name;
    }
    /// A DBA login like the fixture's (CREATEROLE, no superuser), dropped after the test.
    std::string new_dba(const std::string& suffix) {
        const std::string name = dbname_ + "_" + suffix;
        auto su = superuser();
        sql(su, "CREATE ROLE " + name + " LOGIN CREATEROLE");
        extra_roles_.push_back(name);
        return name;
    }
    /// Sets up the ledger as the DBA and dumps the database with pg_dump -Fc.
    std::string set_up_and_dump() {
        const auto dba = config_for("dba", conninfo_as(logins_.dba));
        EXPECT_EQ(migrate(dba, "schema"), 0) << err_.str();
        EXPECT_EQ(migrate(dba, "run"), 0) << err_.str();
        const std::string dump = (dir_ / "ledger.dump").string();
        EXPECT_EQ(tool("pg_dump", {"-Fc", "-d", dbname_, "-f", dump}), 0) << output_;
        return dump;
    }
    bool said(const std::string& text) const { return out_.str().find(text) != std::string::npos; }
    long long count(pg::connection& c, const std::string& query) {
        return sql(c, query).integer(0, 0);
    }

    std::filesystem::path dir_;
    testing::deployment_logins logins_;
    std::vector<std::string> extra_databases_, extra_roles_;
    std::ostringstream out_, err_;
    std::string output_;
};

// Guards against `schema` answering "up to date; nothing to do" after a restore by another
// login: the SECURITY DEFINER functions (the capture trigger's among them) ran with the
// restoring login's rights, and the objects were no longer the NOLOGIN owner role's.
TEST_F(restore_pgtest, a_dump_restored_by_another_login_is_handed_back_to_the_owner_role) {
    const auto dump = set_up_and_dump();
    const auto restorer = new_dba("restorer");
    const auto copy = new_database("copy", restorer);
    // The restoring login is no member of chatledger_owner: every ALTER ... OWNER TO fails.
    EXPECT_EQ(tool("pg_restore", {"-U", restorer, "-d", copy, dump}), 1);
    ASSERT_NE(output_.find("must be member of role \"chatledger_owner\""), std::string::npos)
        << output_;

    const auto reader = config_for("reader", "dbname=" + copy + " user=" + logins_.reader);
    EXPECT_EQ(migrate(reader, "status"), 1) << out_.str() << err_.str();
    EXPECT_TRUE(said("roles and privileges   NEEDS ATTENTION")) << out_.str();
    EXPECT_TRUE(said("function chatledger.capture_legacy_write() is owned by " + restorer +
                     ", not chatledger_owner: SECURITY DEFINER, it runs with the rights of " +
                     restorer))
        << out_.str();
    EXPECT_TRUE(said("table chatledger.chat_messages is owned by " + restorer)) << out_.str();

    const auto dba = config_for("restorer", "dbname=" + copy + " user=" + restorer);
    ASSERT_EQ(migrate(dba, "schema"), 0) << out_.str() << err_.str();
    EXPECT_TRUE(said("fixed: function chatledger.wake() is owned by " + restorer)) << out_.str();
    EXPECT_FALSE(said("nothing to do")) << out_.str();

    EXPECT_EQ(migrate(reader, "status"), 0) << out_.str() << err_.str();
    EXPECT_TRUE(said("roles and privileges   as the schema steps set them up")) << out_.str();
    database_config db;
    db.conninfo = "dbname=" + copy;
    auto su = pg::connection::open(db, "chatledger-tests");
    EXPECT_EQ(count(su,
                    "SELECT count(*) FROM pg_proc WHERE pronamespace = 'chatledger'::regnamespace "
                    "AND proowner <> 'chatledger_owner'::regrole"),
              0);
    EXPECT_EQ(count(su,
                    "SELECT count(*) FROM pg_class WHERE relnamespace = "
                    "'chatledger'::regnamespace AND relowner <> 'chatledger_owner'::regrole"),
              0);
    ASSERT_EQ(migrate(dba, "schema"), 0) << err_.str();
    EXPECT_TRUE(said("up to date at version")) << out_.str();
}

// Guards against a restore without privileges (--no-owner --no-acl, as a non-superuser restores
// into another cluster) leaving the daemon unable to read its queue and every SECURITY DEFINER
// function callable by anyone, with `schema` seeing nothing to do.
TEST_F(restore_pgtest, a_restore_without_privileges_gets_the_steps_grants_back) {
    const auto dump = set_up_and_dump();
    const auto restorer = new_dba("restorer");
    const auto copy = new_database("copy", restorer);
    ASSERT_EQ(tool("pg_restore", {"--no-owner", "--no-acl", "-U", restorer, "-d", copy, dump}), 0)
        << output_;

    // Monitoring lost its way in with the grants: its error says what to run.
    const auto reader = config_for("reader", "dbname=" + copy + " user=" + logins_.reader);
    EXPECT_EQ(migrate(reader, "status"), 3) << out_.str() << err_.str();
    EXPECT_NE(err_.str().find("run chatledger-migrate schema as the DBA"), std::string::npos)
        << err_.str();
    const auto dba = config_for("restorer", "dbname=" + copy + " user=" + restorer);
    EXPECT_EQ(migrate(dba, "status"), 1) << out_.str() << err_.str();
    for (const auto& line :
         {"PUBLIC holds EXECUTE on function chatledger.wake(), which no schema step grants",
          "chatledger_daemon lacks DELETE, SELECT, UPDATE on table chatledger.sync_queue",
          "chatledger_writer lacks INSERT (author, body, sent_at, zoho_id) on table "
          "chatledger.chat_messages",
          "chatledger_daemon lacks UPDATE (chat_history, comments, comments_entered_by) on "
          "table public.live_chat"})
        EXPECT_TRUE(said(line)) << line << "\n" << out_.str();

    ASSERT_EQ(migrate(dba, "schema"), 0) << out_.str() << err_.str();
    EXPECT_EQ(migrate(reader, "status"), 0) << out_.str() << err_.str();
    // What the logins of section 7 do works again, and nothing more.
    database_config as_daemon;
    as_daemon.conninfo = "dbname=" + copy + " user=" + logins_.daemon;
    auto daemon = pg::connection::open(as_daemon, "chatledger-tests");
    EXPECT_EQ(count(daemon, "SELECT count(*) FROM chatledger.sync_queue"), 0);
    database_config as_app;
    as_app.conninfo = "dbname=" + copy + " user=" + logins_.app;
    auto app = pg::connection::open(as_app, "chatledger-tests");
    sql(app, "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'x', 'y')");
    EXPECT_THROW(sql(app, "SELECT chatledger.wake()"), pg::db_error);
}

// Guards against a DBA's manual GRANT going unnoticed: with GRANT ALL the application's login
// could forge a row's provenance (source, payload), and the daemon's could UPDATE the ledger.
TEST_F(restore_pgtest, a_manual_grant_is_named_by_status_and_revoked_by_schema) {
    const auto dba = config_for("dba", conninfo_as(logins_.dba));
    ASSERT_EQ(migrate(dba, "schema"), 0) << err_.str();
    auto c = connect_as(logins_.dba);
    sql(c,
        "GRANT ALL ON chatledger.chat_messages TO chatledger_writer; "
        "GRANT UPDATE ON chatledger.chat_messages TO chatledger_daemon; "
        "GRANT SELECT ON chatledger.sync_queue TO chatledger_reader WITH GRANT OPTION");
    auto app = connect_as(logins_.app);
    const std::string forged =
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body, source) "
        "VALUES ('a', 'CEO', 'approved', 'migration')";
    sql(app, forged);  // the hazard: the writer now chooses a row's provenance

    const auto reader = config_for("reader", conninfo_as(logins_.reader));
    EXPECT_EQ(migrate(reader, "status"), 1) << out_.str() << err_.str();
    for (const auto& line :
         {"chatledger_daemon holds UPDATE on table chatledger.chat_messages, which no schema "
          "step grants",
          "chatledger_writer holds DELETE, INSERT, REFERENCES, TRIGGER, TRUNCATE, UPDATE on table "
          "chatledger.chat_messages",
          "chatledger_reader holds SELECT on table chatledger.sync_queue WITH GRANT OPTION"})
        EXPECT_TRUE(said(line)) << line << "\n" << out_.str();

    ASSERT_EQ(migrate(dba, "schema"), 0) << out_.str() << err_.str();
    EXPECT_TRUE(said("fixed: chatledger_daemon holds UPDATE on table chatledger.chat_messages"))
        << out_.str();
    EXPECT_EQ(migrate(reader, "status"), 0) << out_.str() << err_.str();
    EXPECT_FALSE(sql(c,
                     "SELECT has_table_privilege('chatledger_daemon', "
                     "'chatledger.chat_messages', 'UPDATE')")
                     .boolean(0, 0));
    EXPECT_THROW(sql(app, forged), pg::db_error);
    // Revoking the table's INSERT took the columns' with it; the steps' column grant is back.
    sql(app, "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'x', 'y')");
}

// Guards against a data-only restore with --disable-triggers (pg_dump's advice) leaving the
// append-only, capture and guard triggers as plain ENABLE: under session_replication_role =
// replica a ledger row could then be changed and a legacy write went uncaptured.
TEST_F(restore_pgtest, a_data_only_restore_with_disabled_triggers_is_enabled_always_again) {
    const auto dump = set_up_and_dump();
    const auto copy = new_database("copy", logins_.dba);
    ASSERT_EQ(tool("pg_restore", {"--schema-only", "-d", copy, dump}), 0) << output_;
    ASSERT_EQ(tool("pg_restore", {"--data-only", "--disable-triggers", "-d", copy, dump}), 0)
        << output_;
    database_config db;
    db.conninfo = "dbname=" + copy;
    auto su = pg::connection::open(db, "chatledger-tests");
    ASSERT_EQ(count(su, "SELECT count(*) FROM chatledger.chat_messages"), 1);
    const std::string replica_update =
        "SET session_replication_role = replica; UPDATE chatledger.chat_messages SET body = "
        "'changed'; RESET session_replication_role";
    sql(su, replica_update);  // the hazard: the append-only triggers do not fire

    const auto reader = config_for("reader", "dbname=" + copy + " user=" + logins_.reader);
    EXPECT_EQ(migrate(reader, "status"), 1) << out_.str() << err_.str();
    for (const auto& line :
         {"the ledger trigger chat_messages_append_only_row on chatledger.chat_messages is not "
          "ENABLE ALWAYS",
          "the capture trigger chatledger_capture on live_chat is not ENABLE ALWAYS"})
        EXPECT_TRUE(said(line)) << line << "\n" << out_.str();

    const auto dba = config_for("copy_dba", "dbname=" + copy + " user=" + logins_.dba);
    ASSERT_EQ(migrate(dba, "schema"), 0) << out_.str() << err_.str();
    // The capture step re-creates the capture trigger (and the backup table's guard); the
    // ledger's triggers are enabled again.
    EXPECT_TRUE(said("restored the capture trigger on live_chat")) << out_.str();
    EXPECT_TRUE(said("enabled again: the ledger trigger chat_messages_append_only_row"))
        << out_.str();
    EXPECT_EQ(migrate(reader, "status"), 0) << out_.str() << err_.str();
    EXPECT_THROW(sql(su, replica_update), pg::db_error);
    sql(su, "ROLLBACK");
    EXPECT_EQ(count(su,
                    "SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE NOT t.tgisinternal AND t.tgenabled <> 'A' AND (c.relnamespace = "
                    "'chatledger'::regnamespace OR c.relname IN ('live_chat', "
                    "'chat_history_backup'))"),
              0);
}

// Guards against the restore into another cluster that lacks the roles (pg_restore fails on
// each ALTER OWNER and GRANT) answering "up to date; nothing to do": schema creates the roles,
// hands the objects to the owner role and grants the steps' privileges.
TEST_F(restore_pgtest, a_restore_into_a_cluster_without_the_roles_gets_them_back) {
    const std::string s = "rx" + dbname_.substr(8);
    const std::vector<std::string> roles = {s + "_owner", s + "_writer", s + "_reader",
                                            s + "_daemon"};
    extra_roles_.insert(extra_roles_.end(), roles.begin(), roles.end());
    const std::string ledger = "ledger:\n  schema: " + s + "\n";
    const auto source = config_for("dba", conninfo_as(logins_.dba), ledger);
    ASSERT_EQ(migrate(source, "schema"), 0) << err_.str();
    ASSERT_EQ(migrate(source, "run"), 0) << err_.str();
    const std::string dump = (dir_ / "ledger.dump").string();
    ASSERT_EQ(tool("pg_dump", {"-Fc", "-d", dbname_, "-f", dump}), 0) << output_;
    // The other cluster: the same server without this ledger's roles.
    auto su = superuser();
    sql(su, "DROP SCHEMA " + s + " CASCADE");
    for (const auto& r : roles) sql(su, "DROP OWNED BY " + r + "; DROP ROLE " + r);

    const auto restorer = new_dba("restorer");
    const auto copy = new_database("copy", restorer);
    EXPECT_EQ(tool("pg_restore", {"-U", restorer, "-d", copy, dump}), 1);
    ASSERT_NE(output_.find("role \"" + s + "_owner\" does not exist"), std::string::npos)
        << output_;
    const auto dba = config_for("restorer", "dbname=" + copy + " user=" + restorer, ledger);
    EXPECT_EQ(migrate(dba, "status"), 1) << out_.str() << err_.str();
    for (const auto& r : roles) EXPECT_TRUE(said("role " + r + " does not exist")) << out_.str();

    ASSERT_EQ(migrate(dba, "schema"), 0) << out_.str() << err_.str();
    EXPECT_TRUE(said("fixed: function " + s + ".capture_legacy_write() is owned by " + restorer))
        << out_.str();
    EXPECT_TRUE(
        said("fixed: " + s + "_daemon lacks DELETE, SELECT, UPDATE on table " + s + ".sync_queue"))
        << out_.str();
    EXPECT_EQ(migrate(dba, "status"), 0) << out_.str() << err_.str();
    database_config db;
    db.conninfo = "dbname=" + copy;
    auto c = pg::connection::open(db, "chatledger-tests");
    EXPECT_EQ(count(c, "SELECT count(*) FROM pg_roles WHERE rolname LIKE '" + s +
                           "\\_%' AND NOT rolcanlogin"),
              4);
    // Legacy writes are captured again, by a function the owner role owns.
    sql(c, "UPDATE live_chat SET chat_history = '[\"m1\", \"m2\"]' WHERE zoho_id = 'a'");
    EXPECT_EQ(count(c, "SELECT count(*) FROM " + s + ".sync_queue"), 1);
}

// Guards against `schema` failing when another database's `schema` grants the same role at the
// same moment: roles are cluster-wide, and the later of two concurrent grants of one membership
// fails on pg_auth_members' unique index. Here a second DBA holds that grant (step 0009's
// pg_read_all_stats for the owner role) open until `schema` waits on it, then commits.
TEST_F(restore_pgtest, a_grant_of_the_same_role_racing_from_another_session_is_applied_again) {
    const std::string s = "rg" + dbname_.substr(8);
    extra_roles_.insert(extra_roles_.end(),
                        {s + "_owner", s + "_writer", s + "_reader", s + "_daemon"});
    const auto other = new_dba("other");
    auto o = connect_as(other);
    sql(o, "CREATE ROLE " + s + "_owner NOLOGIN");
    sql(o, "BEGIN");
    sql(o, "GRANT pg_read_all_stats TO " + s + "_owner");

    const auto dba = config_for("dba", conninfo_as(logins_.dba), "ledger:\n  schema: " + s + "\n");
    int rc = -1;
    std::thread schema([&] { rc = migrate(dba, "schema"); });
    // The DBA sees its own sessions in pg_stat_activity.
    auto watch = connect_as(logins_.dba);
    const bool waiting = wait_until(
        [&] {
            return count(watch, "SELECT count(*) FROM pg_stat_activity WHERE usename = '" +
                                    logins_.dba + "' AND wait_event_type = 'Lock'") > 0;
        },
        30s);
    sql(o, "COMMIT");
    schema.join();
    ASSERT_TRUE(waiting) << "schema never waited for the other session's grant";
    EXPECT_EQ(rc, 0) << out_.str() << err_.str();
    EXPECT_EQ(count(watch, "SELECT count(*) FROM " + s + ".schema_history"),
              schema::latest_schema_version());
    EXPECT_EQ(count(watch, "SELECT count(*) FROM pg_auth_members WHERE member = '" + s +
                               "_owner'::regrole AND roleid = 'pg_read_all_stats'::regrole"),
              1);
}

// Guards against the group roles a restore into another cluster or a superuser can change: a
// missing role, a LOGIN on one (anyone with its password acts as the daemon), a membership in
// the owner role. Roles are cluster-wide, so this ledger has a schema of its own.
TEST_F(restore_pgtest, the_group_roles_are_put_back_and_a_superusers_attribute_is_named) {
    const std::string s = "rl" + dbname_.substr(8);
    extra_roles_.insert(extra_roles_.end(),
                        {s + "_owner", s + "_writer", s + "_reader", s + "_daemon"});
    const std::string ledger = "ledger:\n  schema: " + s + "\n";
    const auto dba = config_for("dba", conninfo_as(logins_.dba), ledger);
    ASSERT_EQ(migrate(dba, "schema"), 0) << err_.str();
    auto c = connect_as(logins_.dba);
    sql(c, "GRANT " + s + "_reader TO " + logins_.reader);
    auto su = superuser();
    sql(su, "ALTER ROLE " + s + "_daemon LOGIN; GRANT " + s + "_owner TO " + s +
                "_daemon; DROP OWNED BY " + s + "_writer; DROP ROLE " + s + "_writer");

    const auto reader = config_for("reader", conninfo_as(logins_.reader), ledger);
    EXPECT_EQ(migrate(reader, "status"), 1) << out_.str() << err_.str();
    for (const auto& line : {"role " + s + "_writer does not exist",
                             "role " + s +
                                 "_daemon has LOGIN: a ledger group role has no "
                                 "attribute but NOLOGIN",
                             "role " + s + "_daemon is a member of " + s + "_owner"})
        EXPECT_TRUE(said(line)) << line << "\n" << out_.str();

    ASSERT_EQ(migrate(dba, "schema"), 0) << out_.str() << err_.str();
    EXPECT_EQ(migrate(reader, "status"), 0) << out_.str() << err_.str();
    EXPECT_EQ(count(su, "SELECT count(*) FROM pg_roles WHERE rolname = '" + s +
                            "_writer' AND NOT rolcanlogin"),
              1);
    EXPECT_TRUE(sql(su, "SELECT has_table_privilege('" + s + "_writer', '" + s +
                            ".chat_messages', 'SELECT')")
                    .boolean(0, 0));

    // Only a superuser may take BYPASSRLS away: schema restores the rest and says so.
    sql(su,
        "ALTER ROLE " + s + "_daemon BYPASSRLS; GRANT SELECT ON " + s + ".sync_failures TO PUBLIC");
    EXPECT_EQ(migrate(dba, "schema"), 3) << out_.str() << err_.str();
    EXPECT_TRUE(said("fixed: PUBLIC holds SELECT on table " + s + ".sync_failures")) << out_.str();
    EXPECT_TRUE(said("cannot restore: role " + s + "_daemon has BYPASSRLS")) << out_.str();
    EXPECT_TRUE(said("ALTER ROLE " + s + "_daemon NOBYPASSRLS")) << out_.str();
    EXPECT_NE(err_.str().find("1 problem(s) of the ledger's roles, owners or privileges remain"),
              std::string::npos)
        << err_.str();
    EXPECT_EQ(migrate(reader, "status"), 1) << out_.str();
    EXPECT_TRUE(said("role " + s + "_daemon has BYPASSRLS")) << out_.str();
    EXPECT_FALSE(said("PUBLIC holds")) << out_.str();
}

// Guards against FORCE ROW LEVEL SECURITY on the legacy table going unmentioned until the
// first run or sync fails: row_security = off turns every policy into an error.
TEST_F(restore_pgtest, schema_warns_about_row_level_security_on_the_legacy_table) {
    auto c = connect_as(logins_.dba);
    sql(c,
        "ALTER TABLE live_chat ADD COLUMN tenant text; "
        "CREATE POLICY tenant_isolation ON live_chat USING (tenant = current_user); "
        "ALTER TABLE live_chat ENABLE ROW LEVEL SECURITY");
    const auto dba = config_for("dba", conninfo_as(logins_.dba));
    ASSERT_EQ(migrate(dba, "schema"), 0) << err_.str();
    EXPECT_TRUE(
        said("warning: legacy table live_chat has row level security enabled (policies "
             "tenant_isolation): chatledger sessions run with row_security = off"))
        << out_.str();
    EXPECT_TRUE(said(") are not unless they have BYPASSRLS")) << out_.str();
    // Roles are cluster-wide: other logins holding the daemon role may be named too.
    EXPECT_TRUE(said(logins_.daemon + ", ")) << out_.str();
    EXPECT_TRUE(said(logins_.reader)) << out_.str();

    sql(c, "ALTER TABLE live_chat FORCE ROW LEVEL SECURITY");
    ASSERT_EQ(migrate(dba, "schema"), 0) << err_.str();
    EXPECT_TRUE(
        said("warning: legacy table live_chat has FORCE ROW LEVEL SECURITY (policies "
             "tenant_isolation)"))
        << out_.str();
    EXPECT_TRUE(said("NO FORCE ROW LEVEL SECURITY")) << out_.str();
    // What it warns about: the owner's own run stops on the policy.
    EXPECT_EQ(migrate(dba, "run"), 3) << out_.str();
    EXPECT_NE(err_.str().find("row-level security"), std::string::npos) << err_.str();

    sql(c,
        "ALTER TABLE live_chat NO FORCE ROW LEVEL SECURITY; "
        "ALTER TABLE live_chat DISABLE ROW LEVEL SECURITY");
    ASSERT_EQ(migrate(dba, "schema"), 0) << err_.str();
    EXPECT_FALSE(said("warning:")) << out_.str();
}

}  // namespace
}  // namespace chatledger::migrator

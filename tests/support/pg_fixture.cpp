// Creates and drops one scratch database per test, so pg tests can run in parallel, with the
// logins of a section-7 deployment. Fails loudly when no server is configured.
#include "tests/support/pg_fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace chatledger::testing {

namespace {

pg::connection open(const std::string& conninfo) {
    database_config db;
    db.conninfo = conninfo;
    return pg::connection::open(db, "chatledger-tests");
}

pg::connection admin() {
    // PGDATABASE may name a database the tests create; the maintenance database always exists.
    return open("dbname=postgres");
}

}  // namespace

void pg_test::SetUp() {
    if (std::getenv("PGHOST") == nullptr &&
        std::getenv("CHATLEDGER_TEST_ALLOW_DEFAULT_PG") == nullptr)
        FAIL() << "pg tests need a server: set PGHOST/PGPORT/PGUSER (scripts/test.sh does)";
    static std::atomic<int> counter{0};
    std::random_device rd;
    dbname_ = "cl_test_" + std::to_string(getpid()) + "_" + std::to_string(counter++) + "_" +
              std::to_string(rd() % 100000);
    const deployment_logins l{dbname_ + "_dba", dbname_ + "_daemon", dbname_ + "_reader",
                              dbname_ + "_app", dbname_ + "_legacy"};
    logins_ = l;
    auto conn = admin();
    conn.exec("creating the scratch database", "CREATE DATABASE " + dbname_);
    // The superuser's part of docs/operations.md step 1; everything else is the DBA's.
    conn.exec_script("creating the test logins",
                     "CREATE ROLE " + l.dba + " LOGIN CREATEROLE; GRANT CREATE ON DATABASE " +
                         dbname_ + " TO " + l.dba + "; CREATE ROLE " + l.daemon +
                         " LOGIN; CREATE ROLE " + l.reader + " LOGIN; CREATE ROLE " + l.app +
                         " LOGIN; CREATE ROLE " + l.legacy + " LOGIN; ALTER ROLE " + l.legacy +
                         " SET search_path = " + legacy_schema_ + ", public");
    auto scratch = connect_superuser();
    if (legacy_schema_ == "public")
        scratch.exec("granting the DBA the public schema",
                     "GRANT CREATE ON SCHEMA public TO " + l.dba);
    else
        scratch.exec_script("creating the legacy schema",
                            "CREATE SCHEMA " + legacy_schema_ + " AUTHORIZATION " + l.dba +
                                "; GRANT USAGE ON SCHEMA " + legacy_schema_ + " TO " + l.legacy);
}

void pg_test::TearDown() {
    if (dbname_.empty())
        return;
    auto conn = admin();
    conn.exec("dropping the scratch database",
              "DROP DATABASE IF EXISTS " + dbname_ + " WITH (FORCE)");
    // After the database: what the logins owned or were granted there went with it.
    for (const auto* r :
         {&logins_.dba, &logins_.daemon, &logins_.reader, &logins_.app, &logins_.legacy})
        conn.exec("dropping a test login", "DROP ROLE IF EXISTS " + *r);
}

pg::connection pg_test::connect_as(const std::string& login) const {
    return open(conninfo_as(login));
}

pg::connection pg_test::connect() const {
    return open(conninfo() + " options='-c search_path=" + legacy_schema_ + ",public'");
}

pg::connection pg_test::connect_superuser() const {
    return open(superuser_conninfo() + " options='-c search_path=" + legacy_schema_ + ",public'");
}

const deployment_logins& pg_test::provision_logins(bool grant_ledger_roles) {
    if (!grant_ledger_roles || roles_granted_)
        return logins_;
    roles_granted_ = true;
    // The group roles are what `schema` creates; another test may be creating them too.
    auto conn = admin();
    conn.exec_script(
        "granting the ledger roles",
        "DO $$ DECLARE r text; BEGIN FOREACH r IN ARRAY ARRAY['chatledger_owner', "
        "'chatledger_writer', 'chatledger_reader', 'chatledger_daemon'] LOOP BEGIN "
        "EXECUTE format('CREATE ROLE %I NOLOGIN', r); EXCEPTION WHEN duplicate_object OR "
        "unique_violation THEN NULL; END; END LOOP; END $$; GRANT chatledger_daemon TO " +
            logins_.daemon + "; GRANT chatledger_reader TO " + logins_.reader +
            "; GRANT chatledger_writer TO " + logins_.app);
    return logins_;
}

std::string pg_test::legacy_table() const {
    return legacy_schema_ == "public" ? "live_chat" : legacy_schema_ + ".live_chat";
}

std::string pg_test::legacy_table_yaml() const {
    return legacy_schema_ == "public" ? "" : "  table: " + legacy_table() + "\n";
}

std::string pg_test::config_yaml(const std::string& conninfo,
                                 const std::string& database_keys) const {
    std::string yaml = "database:\n  conninfo: \"" + conninfo + "\"\n" + database_keys;
    if (legacy_schema_ != "public")
        yaml += "legacy:\n" + legacy_table_yaml() + "backup:\n  table: " + legacy_schema_ +
                ".chat_history_backup\n";
    return yaml;
}

config pg_test::make_config() const {
    config cfg;
    cfg.source = "test.yaml";
    cfg.database.conninfo = conninfo();
    if (legacy_schema_ != "public") {
        cfg.legacy.table = qualified_name(legacy_schema_, "live_chat");
        cfg.backup.table = qualified_name(legacy_schema_, "chat_history_backup");
    }
    return cfg;
}

void pg_test::create_legacy_table(pg::connection& conn, const std::string& quoted_name) const {
    conn.exec_script("creating the legacy table",
                     "CREATE TABLE " + quoted_name +
                         " (zoho_id text PRIMARY KEY, full_name text, chat_history text,"
                         " comments text, comments_entered_by text); GRANT SELECT, INSERT, "
                         "UPDATE, DELETE ON " +
                         quoted_name + " TO " + logins_.legacy);
}

}  // namespace chatledger::testing

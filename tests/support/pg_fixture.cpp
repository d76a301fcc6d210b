// Creates and drops one scratch database per test, so pg tests can run in parallel.
// Fails loudly when no server is configured: a skipped pg test would prove nothing.
#include "tests/support/pg_fixture.hpp"

#include <unistd.h>

#include <atomic>
#include <cstdlib>
#include <random>

namespace chatledger::testing {

namespace {

pg::connection admin() {
    database_config db;
    // PGDATABASE may name a database the tests create; the maintenance database always exists.
    db.conninfo = "dbname=postgres";
    return pg::connection::open(db, "chatledger-tests");
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
    auto conn = admin();
    conn.exec("creating the scratch database", "CREATE DATABASE " + dbname_);
}

void pg_test::TearDown() {
    if (dbname_.empty())
        return;
    auto conn = admin();
    conn.exec("dropping the scratch database",
              "DROP DATABASE IF EXISTS " + dbname_ + " WITH (FORCE)");
    // After the database: what the logins owned or were granted there went with it.
    if (logins_)
        for (const auto* r :
             {&logins_->dba, &logins_->daemon, &logins_->reader, &logins_->app, &logins_->legacy})
            conn.exec("dropping a test login", "DROP ROLE IF EXISTS " + *r);
}

pg::connection pg_test::connect_as(const std::string& login) const {
    database_config db;
    db.conninfo = conninfo_as(login);
    return pg::connection::open(db, "chatledger-tests");
}

const deployment_logins& pg_test::provision_logins(bool grant_ledger_roles) {
    if (logins_)
        return *logins_;
    deployment_logins l{dbname_ + "_dba", dbname_ + "_daemon", dbname_ + "_reader",
                        dbname_ + "_app", dbname_ + "_legacy"};
    logins_ = l;
    auto conn = admin();
    conn.exec_script("creating the test logins",
                     "CREATE ROLE " + l.dba + " LOGIN CREATEROLE; GRANT CREATE ON DATABASE " +
                         dbname_ + " TO " + l.dba + "; CREATE ROLE " + l.daemon +
                         " LOGIN; CREATE ROLE " + l.reader + " LOGIN; CREATE ROLE " + l.app +
                         " LOGIN; CREATE ROLE " + l.legacy + " LOGIN");
    if (grant_ledger_roles) {
        // The group roles are what `schema` creates; another test may be creating them too.
        conn.exec_script(
            "granting the ledger roles",
            "DO $$ DECLARE r text; BEGIN FOREACH r IN ARRAY ARRAY['chatledger_owner', "
            "'chatledger_writer', 'chatledger_reader', 'chatledger_daemon'] LOOP BEGIN "
            "EXECUTE format('CREATE ROLE %I NOLOGIN', r); EXCEPTION WHEN duplicate_object OR "
            "unique_violation THEN NULL; END; END LOOP; END $$; GRANT chatledger_daemon TO " +
                l.daemon + "; GRANT chatledger_reader TO " + l.reader +
                "; GRANT chatledger_writer TO " + l.app);
    }
    return *logins_;
}

config pg_test::make_config() const {
    config cfg;
    cfg.source = "test.yaml";
    cfg.database.conninfo = conninfo();
    return cfg;
}

pg::connection pg_test::connect() const {
    database_config db;
    db.conninfo = conninfo();
    return pg::connection::open(db, "chatledger-tests");
}

void pg_test::create_legacy_table(pg::connection& conn, const std::string& quoted_name) const {
    conn.exec_script("creating the legacy table",
                     "CREATE TABLE " + quoted_name +
                         " (zoho_id text PRIMARY KEY, full_name text, chat_history text,"
                         " comments text, comments_entered_by text)");
}

}  // namespace chatledger::testing

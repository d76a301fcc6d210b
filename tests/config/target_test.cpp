// Unit tests of the start line's database target: libpq's own parsing and environment defaults,
// and never a password, whichever form the conninfo takes. No server.
#include "config/target.hpp"

#include <gtest/gtest.h>

#include <cstdlib>
#include <optional>
#include <string>

#include "chatledger/version.hpp"

namespace chatledger {
namespace {

/// Sets or clears one variable for a test and restores it afterwards.
class scoped_env {
  public:
    scoped_env(const char* name, const char* value) : name_(name) {
        if (const char* old = std::getenv(name))
            old_ = old;
        if (value)
            setenv(name, value, 1);
        else
            unsetenv(name);
    }
    ~scoped_env() {
        if (old_)
            setenv(name_, old_->c_str(), 1);
        else
            unsetenv(name_);
    }

  private:
    const char* name_;
    std::optional<std::string> old_;
};

TEST(resolve_target, takes_a_uri_apart_without_its_password) {
    database_config db;
    db.conninfo = "postgresql://dba:s3cret-pw@db.example:6543/app?sslmode=require";
    const auto t = resolve_target(db);
    EXPECT_EQ(t.host, "db.example");
    EXPECT_EQ(t.port, "6543");
    EXPECT_EQ(t.dbname, "app");
    EXPECT_EQ(t.user, "dba");
}

TEST(resolve_target, fills_what_conninfo_leaves_out_from_the_environment_as_libpq_does) {
    scoped_env host("PGHOST", "/run/pg-test"), port("PGPORT", "7654"), user("PGUSER", "carol"),
        db("PGDATABASE", nullptr), service("PGSERVICE", nullptr);
    database_config d;
    auto t = resolve_target(d);
    EXPECT_EQ(t.host, "/run/pg-test");
    EXPECT_EQ(t.port, "7654");
    EXPECT_EQ(t.user, "carol");
    EXPECT_EQ(t.dbname, "carol");  // libpq's default database is the user's name
    d.conninfo = "host=h2 dbname=ledger password='a b'";
    t = resolve_target(d);
    EXPECT_EQ(t.host, "h2");
    EXPECT_EQ(t.dbname, "ledger");
    EXPECT_EQ(t.user, "carol");
    d.conninfo = "justadb";  // a plain word is a database name to libpq
    EXPECT_EQ(resolve_target(d).dbname, "justadb");
    d.conninfo = "host='unclosed password=s3cret-pw";
    EXPECT_EQ(resolve_target(d).host, "(invalid conninfo)");
}

TEST(start_line, names_version_config_database_and_tables_and_never_a_password) {
    scoped_env host("PGHOST", nullptr), hostaddr("PGHOSTADDR", nullptr),
        service("PGSERVICE", nullptr);
    config cfg;
    cfg.database.conninfo = "host=10.0.0.5 port=5433 dbname=crm user=dba password=s3cret-pw";
    cfg.legacy.table = qualified_name::parse("app.live_chat");
    const std::string line = start_line("chatledger-migrate", "run", cfg);
    EXPECT_EQ(line, std::string("chatledger-migrate ") + version +
                        " starting run: config (built-in defaults), database host=10.0.0.5 "
                        "port=5433 dbname=crm user=dba, legacy table app.live_chat, ledger "
                        "schema chatledger");
    cfg.source = "/etc/chatledger/chatledger.yaml";
    cfg.database.conninfo = "postgresql://dba:s3cret-pw@/crm";
    const std::string daemon_line = start_line("chatledger-syncd", "", cfg);
    EXPECT_EQ(daemon_line.find(std::string("chatledger-syncd ") + version +
                               " starting: config /etc/chatledger/chatledger.yaml, database "
                               "host=(default socket) port="),
              0u)
        << daemon_line;
    EXPECT_EQ(daemon_line.find("s3cret"), std::string::npos) << daemon_line;
    EXPECT_EQ(line.find("s3cret"), std::string::npos) << line;
}

}  // namespace
}  // namespace chatledger

// No error line shows a password, however the conninfo is malformed: libpq quotes a broken URI
// whole in its error text. These fail at parsing, before any server is asked, so no server runs.
#include <gtest/gtest.h>

#include "pg/connection.hpp"

namespace chatledger::pg {
namespace {

constexpr const char* secret = "S3CRETpw";

std::string error_line(const std::string& conninfo) {
    database_config db;
    db.conninfo = conninfo;
    db.connect_timeout = std::chrono::milliseconds(1000);
    try {
        connection::open(db, "chatledger-tests");
    } catch (const error& e) {
        return e.line();
    }
    return "connected";
}

TEST(connection_errors, never_show_the_password_of_a_malformed_conninfo) {
    for (const std::string conninfo : {
             "postgresql://u:S3CRETpw@[::1:5432/db",
             "postgresql://u:S3CR%zzETpw@localhost/db",
             "postgresql://u:S3CRETpw%@localhost/db",
             "postgres://u:S3CRETpw@host name/db",
             "postgresql://u@localhost/db?password=S3CRETpw%zz",
             "postgresql://u:S3CRETpw@localhost/db?bogus=1",
             "postgresql://u:S3CRETpw@localhost:99999999/db",
             "host=localhost password='S3CRETpw",
             "password=S3CRETpw host='unterminated",
             "password = 'S3CRETpw' bogus",
             "host=localhost password=S3CRETpw port=notaport",
             "host=/nonexistent-dir password=S3CRETpw",
         }) {
        const auto line = error_line(conninfo);
        EXPECT_NE(line, "connected") << conninfo;
        EXPECT_EQ(line.find(secret), std::string::npos) << line;
        EXPECT_EQ(line.find("S3CR"), std::string::npos) << line;
        EXPECT_NE(line.find("cannot connect to the database"), std::string::npos) << line;
    }
}

TEST(connection_errors, keep_what_helps_and_hide_only_secrets) {
    // An unknown option's name is no secret and tells the operator what to fix.
    EXPECT_NE(error_line("password=S3CRETpw bogus=1").find("\"bogus\""), std::string::npos);
    EXPECT_EQ(scrub_secrets("invalid percent-encoded token: \"S3CR%zzETpw\"",
                            "postgresql://u:S3CR%zzETpw@h/db"),
              "invalid percent-encoded token: \"(hidden)\"");
    EXPECT_EQ(scrub_secrets("password authentication failed for user \"u\"",
                            "postgresql://u:S3CRETpw@h/db"),
              "password authentication failed for user \"u\"");
    // Where the server was looked for is kept: it is what the operator has to check.
    EXPECT_NE(error_line("host=/nonexistent-dir password=S3CRETpw").find("/nonexistent-dir/"),
              std::string::npos);
    // A password that is a plain word is still hidden where libpq quotes it.
    EXPECT_EQ(scrub_secrets("invalid value: \"hunter2x\" and hunter2x", "password=hunter2x x=y"),
              "invalid value: \"(hidden)\" and ***");
}

// A refused password reached a running server: "check that the server is running" misleads.
TEST(connect_hint, a_wrong_password_is_not_a_server_that_is_down) {
    const auto h = connect_hint(
        "connection to server at \"db\" (10.0.0.1), port 5432 failed: FATAL:  password "
        "authentication failed for user \"syncd\"");
    EXPECT_EQ(h.find("running"), std::string::npos) << h;
    EXPECT_NE(h.find("password"), std::string::npos) << h;
    EXPECT_NE(h.find("PGPASSFILE"), std::string::npos) << h;
}

TEST(connect_hint, each_cause_gets_its_own_hint) {
    EXPECT_NE(connect_hint("fe_sendauth: no password supplied").find("pgpass"), std::string::npos);
    EXPECT_NE(connect_hint("FATAL:  role \"x\" does not exist").find("user="), std::string::npos);
    EXPECT_NE(connect_hint("FATAL:  database \"x\" does not exist").find("dbname="),
              std::string::npos);
    EXPECT_NE(connect_hint("connection to server on socket \"/s/.s.PGSQL.1\" failed: No such "
                           "file or directory")
                  .find("server is running"),
              std::string::npos);
}

}  // namespace
}  // namespace chatledger::pg

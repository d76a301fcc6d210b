// Database tests of a SQL_ASCII legacy database: it stores bytes, not characters, and chatledger
// must migrate and sync them byte for byte (a forced UTF8 client encoding refused the byte 0xff).
#include <gtest/gtest.h>

#include <fstream>
#include <sstream>

#include "daemon/syncer.hpp"
#include "tests/support/migrate_cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::daemon {
namespace {

class encoding_pgtest : public testing::pg_test {
  protected:
    void SetUp() override {
        pg_test::SetUp();
        if (HasFatalFailure())
            return;
        ascii_ = dbname_ + "_ascii";
        // The superuser's part, as for the scratch database: the DBA may create in it.
        auto admin = connect_superuser();
        sql(admin, "CREATE DATABASE " + ascii_ +
                       " ENCODING 'SQL_ASCII' LC_COLLATE 'C' LC_CTYPE 'C' "
                       "TEMPLATE template0");
        sql(admin, "GRANT CREATE ON DATABASE " + ascii_ + " TO " + logins().dba);
        database_config db;
        db.conninfo = "dbname=" + ascii_;
        auto su = pg::connection::open(db, "chatledger-tests");
        sql(su, "GRANT CREATE ON SCHEMA public TO " + logins().dba);
    }
    void TearDown() override {
        if (!ascii_.empty()) {
            auto admin = connect_superuser();
            sql(admin, "DROP DATABASE IF EXISTS " + ascii_ + " WITH (FORCE)");
        }
        pg_test::TearDown();
    }
    /// A session of the SQL_ASCII database as `user`, the DBA by default.
    pg::connection open_ascii(const std::string& user = "") {
        database_config db;
        db.conninfo = "dbname=" + ascii_ + " user=" + (user.empty() ? logins().dba : user);
        return pg::connection::open(db, "chatledger-tests");
    }
    /// A migrate command as the DBA.
    int migrate(const std::string& command) {
        const std::string path = "/tmp/" + ascii_ + ".yaml";
        std::ofstream(path) << "database:\n  conninfo: \"dbname=" << ascii_
                            << " user=" << logins().dba << "\"\n";
        std::string output;
        const int rc = testing::migrate_cli(path, {command}, output);
        EXPECT_EQ(rc, 0) << output;
        std::remove(path.c_str());
        return rc;
    }

    std::string ascii_;
};

TEST_F(encoding_pgtest, a_sql_ascii_database_migrates_and_syncs_byte_for_byte) {
    // Latin-1 text as an old CRM stored it: bytes that are no valid UTF-8 at all.
    const std::string history = "[{\"sender\":\"caf\xe9\",\"message\":\"\xff\xfe raw\"}]";
    {
        auto c = open_ascii();
        sql(c,
            "CREATE TABLE live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history "
            "text, comments text, comments_entered_by text)");
        sql(c, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('a', $1)", {history});
    }
    ASSERT_EQ(migrate("schema"), 0);
    ASSERT_EQ(migrate("run"), 0);
    ASSERT_EQ(migrate("verify"), 0);
    auto c = open_ascii();
    EXPECT_EQ(sql(c, "SELECT payload::text FROM chatledger.chat_messages").text(0, 0),
              history.substr(1, history.size() - 2));
    // An application appends; the daemon renders it, the old element's bytes untouched.
    sql(c,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'bob', "
        "'ok')");
    const auto& l = provision_logins();
    auto d = open_ascii(l.daemon);
    config cfg;  // the default names: the table is in public
    cfg.database.conninfo = "dbname=" + ascii_ + " user=" + l.daemon;
    syncer s(d, cfg);
    EXPECT_TRUE(s.sync("a").rewritten);
    const std::string now(sql(c, "SELECT chat_history FROM live_chat").text(0, 0));
    EXPECT_EQ(now.substr(0, history.size() - 1), history.substr(0, history.size() - 1)) << now;
    EXPECT_NE(now.find("\"message\":\"ok\""), std::string::npos) << now;
    // The next append takes the appended path, which cuts the closing bracket on the server by
    // bytes: every byte before it stays as it was.
    sql(c,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'bob', "
        "'d\xe9j\xe0')");
    const auto second = s.sync("a");
    EXPECT_TRUE(second.rewritten);
    EXPECT_TRUE(second.appended_only);
    const std::string after(sql(c, "SELECT chat_history FROM live_chat").text(0, 0));
    EXPECT_EQ(after.substr(0, now.size() - 1), now.substr(0, now.size() - 1)) << after;
    EXPECT_NE(after.find("\"message\":\"d\xe9j\xe0\""), std::string::npos) << after;
    EXPECT_EQ(after.back(), ']');
    // The backup rows of that rewrite hold the text before and after it, byte for byte.
    auto b = sql(c,
                 "SELECT chat_history_backup FROM chat_history_backup WHERE zoho_id = 'a' "
                 "ORDER BY id DESC LIMIT 2");
    ASSERT_EQ(b.rows(), 2);
    EXPECT_EQ(b.text(0, 0), after);
    EXPECT_EQ(b.text(1, 0), now);
}

}  // namespace
}  // namespace chatledger::daemon

// Database tests of the libpq layer: what a connection sets lives only as long as a transaction,
// so a transaction pooler (PgBouncer) in front of chatledger passes nothing on to other clients.
#include "pg/connection.hpp"

#include <gtest/gtest.h>

#include "tests/support/pg_fixture.hpp"

namespace chatledger::pg {
namespace {

class connection_pgtest : public testing::pg_test {
  protected:
    std::string show(connection& c, const std::string& setting) {
        return std::string(
            c.exec("test statement", "SELECT current_setting($1)", {setting}).text(0, 0));
    }
};

// Guards against session-level SETs: behind PgBouncer in transaction mode the daemon's
// lock_timeout reached a dashboard's UPDATE on the same server connection and failed it.
TEST_F(connection_pgtest, settings_live_only_inside_a_transaction) {
    database_config db;
    db.conninfo = conninfo();
    db.lock_timeout = std::chrono::milliseconds(1234);
    db.statement_timeout = std::chrono::milliseconds(56789);
    auto c = connection::open(db, "chatledger-tests");
    EXPECT_EQ(show(c, "lock_timeout"), "0");
    EXPECT_EQ(show(c, "statement_timeout"), "0");
    EXPECT_EQ(show(c, "row_security"), "on");
    {
        transaction tx(c);
        EXPECT_EQ(show(c, "lock_timeout"), "1234ms");
        EXPECT_EQ(show(c, "statement_timeout"), "56789ms");
        EXPECT_EQ(show(c, "row_security"), "off");
        tx.commit();
    }
    EXPECT_EQ(show(c, "lock_timeout"), "0");
    EXPECT_EQ(show(c, "row_security"), "on");
    {
        transaction ro(c, "BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
        EXPECT_EQ(show(c, "lock_timeout"), "1234ms");
        EXPECT_EQ(show(c, "transaction_read_only"), "on");
    }  // rolled back
    EXPECT_EQ(show(c, "lock_timeout"), "0");
}

// Guards the hot statements' preparing: prepared once per connection and reused, prepared
// again on a new connection (a reconnect), and a statement that vanished behind the
// connection's back (a transaction pooler swapping server connections) turns preparing off with
// a retryable error instead of failing every later statement.
TEST_F(connection_pgtest, hot_statements_are_prepared_once_and_survive_a_lost_statement) {
    database_config db;
    db.conninfo = conninfo();
    const std::string hot = "SELECT $1::integer + 1";
    auto prepared = [](connection& c) {
        return c.exec("test statement", "SELECT count(*) FROM pg_prepared_statements")
            .integer(0, 0);
    };
    for (int session = 0; session < 2; ++session) {  // the second one is a reconnect
        auto c = connection::open(db, "chatledger-tests");
        EXPECT_EQ(c.exec_hot("test statement", hot, {"1"}).integer(0, 0), 2);
        EXPECT_EQ(prepared(c), 0) << "a new connection prepares nothing";
        c.prepare(true);
        for (int i = 0; i < 3; ++i)
            EXPECT_EQ(c.exec_hot("test statement", hot, {std::to_string(i)}).integer(0, 0), i + 1);
        EXPECT_EQ(prepared(c), 1);
        if (session == 0)
            continue;
        c.exec_script("test statement", "DEALLOCATE ALL");
        EXPECT_THROW(c.exec_hot("test statement", hot, {"5"}), prepared_statement_lost);
        EXPECT_FALSE(c.prepares());
        EXPECT_EQ(c.exec_hot("test statement", hot, {"5"}).integer(0, 0), 6);
        EXPECT_EQ(prepared(c), 0);
    }
}

}  // namespace
}  // namespace chatledger::pg

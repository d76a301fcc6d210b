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

// Guards for_each_row(), the ledger read of the daemon: rows reach the caller one at a time
// (single-row mode), so a 50 MB conversation is never held whole in a result as well (its
// syncs peaked over 4x the value); NULLs and empty answers read as before; an error after some
// rows, or a caller that throws, leaves the connection usable.
TEST_F(connection_pgtest, for_each_row_hands_over_rows_one_at_a_time) {
    database_config db;
    db.conninfo = conninfo();
    auto c = connection::open(db, "chatledger-tests");
    for (bool prepared : {false, true}) {
        c.prepare(prepared);
        std::vector<std::optional<std::string>> seen;
        int widest = 0;
        c.for_each_row("test statement",
                       "SELECT nullif(g, 2)::text FROM generate_series(1, $1::integer) g", {"3"},
                       [&](const result& r, int i) {
                           widest = std::max(widest, r.rows());
                           seen.push_back(r.optional_text(i, 0));
                       });
        EXPECT_EQ(seen, (std::vector<std::optional<std::string>>{"1", std::nullopt, "3"}));
        EXPECT_EQ(widest, 1) << "each row comes as a result of its own";
        int none = 0;
        c.for_each_row("test statement",
                       "SELECT nullif(g, 2)::text FROM generate_series(1, $1::integer) g", {"0"},
                       [&](const result&, int) { ++none; });
        EXPECT_EQ(none, 0);
        // Rows sent before the error reach the caller; the error still ends the call.
        int before_error = 0;
        EXPECT_THROW(c.for_each_row("test statement",
                                    "SELECT 1 / (3 - g) FROM generate_series(1, $1::integer) g",
                                    {"5"}, [&](const result&, int) { ++before_error; }),
                     db_error);
        EXPECT_EQ(before_error, 2);
        EXPECT_THROW(c.for_each_row("test statement", "SELECT g FROM generate_series(1, 9) g", {},
                                    [](const result&, int) { throw std::runtime_error("caller"); }),
                     std::runtime_error);
        EXPECT_EQ(c.exec("test statement", "SELECT 41 + 1").integer(0, 0), 42);
    }
}

}  // namespace
}  // namespace chatledger::pg

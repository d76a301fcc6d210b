// Database tests that the ledger stays append-only for a superuser in replica mode, the one
// session setting that switches ordinary triggers off; each seen to fail on its breakage.
#include <gtest/gtest.h>

#include "schema/apply.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::schema {
namespace {

class append_only_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        auto cfg = make_config();
        apply_schema(*conn_, cfg, false);
        sql(*conn_,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('z', 'a', "
            "'kept')");
    }
    /// SQLSTATE of `statement` run by the superuser under session_replication_role = replica
    /// in a session of its own; "ok" when it succeeds.
    std::string in_replica_mode(const std::string& statement) {
        auto c = connect_superuser();
        sql(c, "SET session_replication_role = replica");
        try {
            sql(c, statement);
        } catch (const pg::db_error& e) {
            message_ = e.what();
            return e.sqlstate();
        }
        return "ok";
    }
    long long rows() {
        return sql(*conn_, "SELECT count(*) FROM chatledger.chat_messages").integer(0, 0);
    }

    std::string message_;
};

// Guards against the statement trigger losing ENABLE ALWAYS (0001_ledger.sql: the line
// `ENABLE ALWAYS TRIGGER chat_messages_append_only_statement` removed, seen to fail by editing
// the embedded file and rebuilding). Row triggers never see TRUNCATE, so in replica mode a
// superuser could then empty the ledger with it.
TEST_F(append_only_pgtest, truncate_in_replica_mode_is_refused_for_the_superuser) {
    EXPECT_EQ(in_replica_mode("TRUNCATE chatledger.chat_messages"), "42501");
    EXPECT_NE(message_.find("append-only: truncate is refused"), std::string::npos) << message_;
    EXPECT_EQ(in_replica_mode("TRUNCATE chatledger.chat_messages CASCADE"), "42501");
    // A statement that matches no row fires no row trigger: only the statement trigger sees it.
    EXPECT_EQ(in_replica_mode("UPDATE chatledger.chat_messages SET body = 'x' WHERE false"),
              "42501");
    EXPECT_EQ(in_replica_mode("DELETE FROM chatledger.chat_messages WHERE false"), "42501");
    EXPECT_EQ(rows(), 1);
}

// Guards against the append-only triggers losing ENABLE ALWAYS (0001_ledger.sql, both
// `ENABLE ALWAYS TRIGGER chat_messages_append_only_*` lines removed): in replica mode a
// superuser's UPDATE or DELETE would then change or remove the row. With only one of the two
// removed the other still refuses a statement that matches rows, so the catalog check at the end
// is what fails for the row trigger's line alone.
TEST_F(append_only_pgtest, update_and_delete_in_replica_mode_are_refused_for_the_superuser) {
    EXPECT_EQ(in_replica_mode("UPDATE chatledger.chat_messages SET body = 'changed'"), "42501");
    EXPECT_EQ(in_replica_mode("DELETE FROM chatledger.chat_messages"), "42501");
    EXPECT_EQ(in_replica_mode("DELETE FROM chatledger.chat_messages WHERE zoho_id = 'z'"), "42501");
    auto r = sql(*conn_, "SELECT body FROM chatledger.chat_messages");
    ASSERT_EQ(r.rows(), 1);
    EXPECT_EQ(r.text(0, 0), "kept");
    // The mechanism, checked directly too: every append-only trigger fires in every mode.
    EXPECT_EQ(sql(*conn_,
                  "SELECT count(*) FROM pg_trigger WHERE tgrelid = "
                  "'chatledger.chat_messages'::regclass AND tgname LIKE "
                  "'chat_messages_append_only_%' AND tgenabled = 'A'")
                  .integer(0, 0),
              2);
}

}  // namespace
}  // namespace chatledger::schema

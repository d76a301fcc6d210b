// The drift checks against what the steps themselves set up: a new ledger has none, and any
// relation in the ledger schema is checked, not only the ones the steps name (partitions of
// the queue, an object someone added).
#include <gtest/gtest.h>

#include "schema/apply.hpp"
#include "schema/restore.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::schema {
namespace {

class expectations_pgtest : public testing::pg_test {
  protected:
    /// The cluster's superuser (PGUSER) on the scratch database.
    pg::connection superuser() const {
        database_config db;
        db.conninfo = "dbname=" + dbname_;
        return pg::connection::open(db, "chatledger-tests");
    }
    /// The default configuration (live_chat in public); the connection is given apart.
    config public_config() const {
        config c;
        c.source = "test.yaml";
        return c;
    }
    /// The seed's legacy table in public, where the default configuration looks for it.
    void create_public_legacy_table(pg::connection& c) {
        sql(c,
            "CREATE TABLE public.live_chat (zoho_id text PRIMARY KEY, full_name text, "
            "chat_history text, comments text, comments_entered_by text)");
    }
    std::vector<std::string> problems(pg::connection& c) {
        std::vector<std::string> out;
        for (const auto& d : deployment_drift(c, public_config(), latest_schema_version()))
            out.push_back(d.problem);
        return out;
    }
};

// A step that grants what schema/expectations.cpp does not list (or the reverse) fails here:
// every new step's grants belong in that list, or schema would revoke them.
TEST_F(expectations_pgtest, a_new_ledger_matches_the_expectations_as_set_up_by_the_dba) {
    const auto& l = provision_logins();
    auto su = superuser();
    sql(su, "GRANT CREATE ON SCHEMA public TO " + l.dba);
    auto dba = connect_as(l.dba);
    create_public_legacy_table(dba);
    const auto report = apply_schema(dba, public_config(), false);
    EXPECT_TRUE(report.deployment.restored.empty());
    EXPECT_TRUE(report.deployment.unrestored.empty());
    EXPECT_EQ(problems(dba), std::vector<std::string>{});
    auto reader = connect_as(l.reader);
    EXPECT_EQ(problems(reader), std::vector<std::string>{});
}

TEST_F(expectations_pgtest, a_new_ledger_matches_the_expectations_as_set_up_by_a_superuser) {
    auto su = superuser();
    create_public_legacy_table(su);
    apply_schema(su, public_config(), false);
    EXPECT_EQ(problems(su), std::vector<std::string>{});
}

TEST_F(expectations_pgtest, every_relation_in_the_ledger_schema_is_checked) {
    auto su = superuser();
    create_public_legacy_table(su);
    apply_schema(su, public_config(), false);
    const auto& l = provision_logins();
    sql(su,
        "CREATE TABLE chatledger.added (x int) PARTITION BY RANGE (x); "
        "CREATE TABLE chatledger.added_0 PARTITION OF chatledger.added FOR VALUES FROM (0) "
        "TO (10); ALTER TABLE chatledger.added OWNER TO chatledger_owner; "
        "ALTER TABLE chatledger.added_0 OWNER TO " +
            l.dba + "; GRANT DELETE ON chatledger.added_0 TO chatledger_daemon");
    EXPECT_EQ(problems(su),
              (std::vector<std::string>{
                  "table chatledger.added_0 is owned by " + l.dba + ", not chatledger_owner",
                  "chatledger_daemon holds DELETE on table chatledger.added_0, which no schema "
                  "step grants"}));
    const auto report = apply_schema(su, public_config(), false);
    EXPECT_EQ(report.deployment.restored.size(), 2u);
    EXPECT_EQ(problems(su), std::vector<std::string>{});
}

}  // namespace
}  // namespace chatledger::schema

// Unit tests for the list of grants the steps make (schema/expectations): what `schema`
// restores and `status` checks. No server.
#include "schema/expectations.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace chatledger::schema {
namespace {

bool has(const std::vector<expected_grant>& v, const expected_grant& g) {
    return std::find(v.begin(), v.end(), g) != v.end();
}

TEST(expectations, each_privilege_follows_the_step_that_granted_or_took_it_back) {
    config cfg;
    const auto v4 = expected_grants(cfg, 4, "");
    const auto v8 = expected_grants(cfg, 8, "");
    // Step 0005 replaced the daemon's INSERT on the whole table by one on its columns.
    const expected_grant table_insert{"TABLE", "\"chatledger\".chat_messages", "",
                                      "chatledger_daemon", "INSERT"};
    const expected_grant source_insert{"TABLE", "\"chatledger\".chat_messages", "source",
                                       "chatledger_daemon", "INSERT"};
    EXPECT_TRUE(has(v4, table_insert));
    EXPECT_FALSE(has(v4, source_insert));
    EXPECT_FALSE(has(v8, table_insert));
    EXPECT_TRUE(has(v8, source_insert));
    // ... and took payload from the writer.
    EXPECT_TRUE(has(
        v4, {"TABLE", "\"chatledger\".chat_messages", "payload", "chatledger_writer", "INSERT"}));
    EXPECT_FALSE(has(
        v8, {"TABLE", "\"chatledger\".chat_messages", "payload", "chatledger_writer", "INSERT"}));
    // sync_failures arrived with step 0006.
    const expected_grant failures{"TABLE", "\"chatledger\".sync_failures", "", "chatledger_reader",
                                  "SELECT"};
    EXPECT_FALSE(has(v4, failures));
    EXPECT_TRUE(has(v8, failures));
    EXPECT_TRUE(expected_grants(cfg, 0, "").empty());
    // Step 0009's functions; its partitions and sequence grant nothing.
    const expected_grant maintain{"ROUTINE", "\"chatledger\".maintain_queue()", "",
                                  "chatledger_daemon", "EXECUTE"};
    EXPECT_FALSE(has(v8, maintain));
    EXPECT_TRUE(has(expected_grants(cfg, 9, ""), maintain));
}

TEST(expectations, only_the_owner_role_may_hold_another_role_and_only_pg_read_all_stats) {
    config cfg;
    cfg.ledger.schema = identifier("ops");
    const auto allowed = allowed_memberships(cfg);
    ASSERT_EQ(allowed.size(), 1u);
    EXPECT_EQ(allowed[0].member, "ops_owner");
    EXPECT_EQ(allowed[0].role, "pg_read_all_stats");
}

TEST(expectations, the_legacy_side_follows_the_configuration) {
    config cfg;
    cfg.ledger.schema = identifier("ops");
    cfg.legacy.table = qualified_name::parse("crm.chats");
    cfg.legacy.history_column = identifier("hist, with comma");
    cfg.backup.table = qualified_name::parse("crm.chats_backup");
    const auto v = expected_grants(cfg, 8, "crm.chats_backup_id_seq");
    EXPECT_TRUE(has(v, {"TABLE", "\"crm\".\"chats\"", "hist, with comma", "ops_daemon", "UPDATE"}));
    EXPECT_TRUE(has(v, {"TABLE", "\"crm\".\"chats\"", "zoho_id", "ops_reader", "SELECT"}));
    EXPECT_TRUE(has(v, {"TABLE", "\"crm\".\"chats_backup\"", "", "ops_daemon", "DELETE"}));
    EXPECT_TRUE(has(v, {"SEQUENCE", "crm.chats_backup_id_seq", "", "ops_daemon", "USAGE"}));
    EXPECT_TRUE(has(v, {"SCHEMA", "\"ops\"", "", "ops_writer", "USAGE"}));
    // Nothing is ever granted to the owner role or to PUBLIC.
    for (const auto& g : v) {
        EXPECT_NE(g.grantee, "ops_owner");
        EXPECT_NE(g.grantee, "PUBLIC");
    }
    EXPECT_EQ(group_role_names(cfg),
              (std::vector<std::string>{"ops_owner", "ops_writer", "ops_reader", "ops_daemon"}));
}

}  // namespace
}  // namespace chatledger::schema

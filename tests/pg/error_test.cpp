// Unit tests of the SQLSTATE mapping (no server): each class a caller acts on gets its own
// subclass, and only the ones where repeating the work can succeed say so.
#include "pg/error.hpp"

#include <gtest/gtest.h>

#include <functional>

namespace chatledger::pg {
namespace {

/// Throws for `sqlstate` and hands the caught error to `check`.
void thrown(const std::string& sqlstate, const std::function<void(const db_error&)>& check) {
    try {
        throw_db_error("doing x failed: boom", sqlstate, "do y");
    } catch (const db_error& e) {
        EXPECT_EQ(e.sqlstate(), sqlstate);
        EXPECT_EQ(e.line(), "doing x failed: boom HINT: do y");
        EXPECT_EQ(e.status(), exit_status::database);
        check(e);
        return;
    }
    ADD_FAILURE() << "nothing thrown for " << sqlstate;
}

template <class T>
bool is(const db_error& e) {
    return dynamic_cast<const T*>(&e) != nullptr;
}

TEST(throw_db_error, a_lock_timeout_is_not_a_cancel) {
    thrown("55P03", [](const db_error& e) {
        EXPECT_TRUE(is<lock_not_available>(e));
        EXPECT_FALSE(is<query_canceled>(e));
        EXPECT_TRUE(e.retryable());
    });
    thrown("57014", [](const db_error& e) {
        EXPECT_TRUE(is<query_canceled>(e));
        EXPECT_FALSE(is<lock_not_available>(e));
        EXPECT_FALSE(is<server_unavailable>(e));  // class 57, but not the server going away
        EXPECT_TRUE(e.retryable());
    });
}

TEST(throw_db_error, serialization_failures_and_deadlocks_can_be_retried) {
    for (const char* s : {"40001", "40P01"})
        thrown(s, [](const db_error& e) {
            EXPECT_TRUE(is<transaction_rollback>(e));
            EXPECT_TRUE(e.retryable());
        });
}

TEST(throw_db_error, a_lost_connection_or_a_shutdown_can_be_retried) {
    thrown("08006", [](const db_error& e) {
        EXPECT_TRUE(is<connection_error>(e));
        EXPECT_TRUE(e.retryable());
    });
    for (const char* s : {"57P01", "57P03", "53300"})
        thrown(s, [](const db_error& e) {
            EXPECT_TRUE(is<server_unavailable>(e));
            EXPECT_TRUE(e.retryable());
        });
}

TEST(throw_db_error, data_constraint_and_access_errors_cannot_be_retried) {
    thrown("23505", [](const db_error& e) {
        EXPECT_TRUE(is<integrity_violation>(e));
        EXPECT_FALSE(e.retryable());
    });
    thrown("22P02", [](const db_error& e) {
        EXPECT_TRUE(is<data_exception>(e));
        EXPECT_FALSE(e.retryable());
    });
    thrown("42501", [](const db_error& e) {
        EXPECT_TRUE(is<syntax_or_access_error>(e));
        EXPECT_FALSE(e.retryable());
    });
    thrown("P0001", [](const db_error& e) {  // RAISE EXCEPTION in a trigger: the base class
        EXPECT_EQ(typeid(e), typeid(db_error));
        EXPECT_FALSE(e.retryable());
    });
}

TEST(default_hint, names_what_to_do_for_the_states_chatledger_meets) {
    EXPECT_NE(default_hint("08006").find("run the command again"), std::string::npos);
    EXPECT_NE(default_hint("42P01").find("legacy.table"), std::string::npos);
    EXPECT_NE(default_hint("42703").find("legacy.*_column"), std::string::npos);
    EXPECT_EQ(default_hint("23505"), "");
}

// schema and run wait database.lock_timeout_ms for a legacy writer's open transaction; the
// timeout once ended the line with no HINT.
TEST(default_hint, a_lock_timeout_names_the_open_transaction_and_the_setting) {
    EXPECT_NE(default_hint("55P03").find("database.lock_timeout_ms"), std::string::npos);
    EXPECT_NE(default_hint("55P03").find("run it again"), std::string::npos);
}

// Without knowing the command, a permission error names no role: a DBA's plan was once told to
// GRANT chatledger_daemon, with a raw <ledger.schema> placeholder in the line.
TEST(default_hint, a_permission_error_without_context_names_no_role_and_no_placeholder) {
    const auto h = default_hint("42501");
    EXPECT_EQ(h.find("GRANT"), std::string::npos) << h;
    EXPECT_EQ(h.find('<'), std::string::npos) << h;
    EXPECT_NE(h.find("docs/reference.md"), std::string::npos) << h;
}

TEST(permission_hint, the_dba_is_told_to_change_the_login_not_to_grant_a_ledger_role) {
    const auto plan = permission_hint({"chatledger-migrate plan", "", false}, "alice", "app");
    EXPECT_EQ(plan.find("GRANT"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("_daemon"), std::string::npos) << plan;
    EXPECT_NE(plan.find("run chatledger-migrate plan as the DBA"), std::string::npos) << plan;
    EXPECT_EQ(plan.find("CREATEROLE"), std::string::npos) << plan;
    const auto schema = permission_hint({"chatledger-migrate schema", "", true}, "alice", "app");
    EXPECT_EQ(schema.find("_daemon"), std::string::npos) << schema;
    EXPECT_NE(schema.find("ALTER ROLE alice CREATEROLE; GRANT CREATE ON DATABASE app TO alice"),
              std::string::npos)
        << schema;
    // The backup table is the DBA's too; creating it takes CREATE on its schema (public grants
    // nobody that on PostgreSQL 15).
    EXPECT_NE(schema.find("owns the legacy table and the backup table"), std::string::npos)
        << schema;
    EXPECT_NE(schema.find("may create in its schema"), std::string::npos) << schema;
}

TEST(permission_hint, a_granted_login_is_told_the_grant_with_the_configured_role) {
    const auto h =
        permission_hint({"chatledger-migrate status", "crm_ledger_reader", false}, "mon", "app");
    EXPECT_NE(h.find("GRANT crm_ledger_reader TO mon"), std::string::npos) << h;
    EXPECT_EQ(h.find('<'), std::string::npos) << h;
}

}  // namespace
}  // namespace chatledger::pg

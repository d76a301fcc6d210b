// Maps a SQLSTATE to the matching db_error subclass.
// Class-level mapping keeps retry decisions in one place for every caller.
#include "pg/error.hpp"

namespace chatledger::pg {

std::string default_hint(const std::string& sqlstate) {
    if (sqlstate.compare(0, 2, "08") == 0 || sqlstate.compare(0, 4, "57P0") == 0)
        return "the server ended the connection (restart, failover or pg_terminate_backend); "
               "run the command again: it resumes where it stopped";
    // The names chatledger sends come from the configuration or from its own schema, so a
    // missing one is almost always a configuration mismatch or a schema not yet created.
    if (sqlstate == "42P01" || sqlstate == "3F000")
        return "check legacy.table and backup.table in the configuration and that "
               "database.conninfo names the right database; if the missing name is the "
               "ledger's, run: chatledger-migrate --config FILE schema";
    if (sqlstate == "42703")
        return "check the legacy.*_column keys in the configuration against the table "
               "(\\d in psql); quoted names are case-sensitive";
    // lock_timeout guards the dashboard from waiting on chatledger; the DBA's commands meet it
    // when a writer keeps a transaction open on the legacy table.
    if (sqlstate == "55P03")
        return "another session holds a lock this needs, often a writer's open transaction on "
               "the legacy table (see pg_locks); run it again once that transaction ends, or "
               "raise database.lock_timeout_ms";
    // Which role fits depends on the command, which only the caller knows (permission_hint).
    if (sqlstate == "42501")
        return "the login lacks a privilege this work needs; docs/reference.md (Roles) lists "
               "the role each command and the daemon log in with";
    return {};
}

std::string permission_hint(const access_context& ctx, const std::string& login,
                            const std::string& database) {
    if (!ctx.grant_role.empty())
        return "grant the login its role, as the DBA: GRANT " + ctx.grant_role + " TO " + login +
               (ctx.work.empty() ? "" : "; " + ctx.work + " needs nothing else") +
               " (where it holds the role already, the role's privileges were lost, as in a "
               "restore without them: run chatledger-migrate schema as the DBA)";
    if (ctx.work.empty())
        return default_hint("42501");
    // The DBA's commands: a grant of a ledger role would not help, the login itself must change.
    std::string hint = "run " + ctx.work + " as the DBA: a login that owns the legacy table";
    // schema also creates the backup table and its index when missing, in the legacy schema:
    // PostgreSQL 15 grants nobody CREATE on public, so a DBA may lack just that.
    if (ctx.creates_roles)
        hint +=
            " and the backup table, has CREATEROLE, may create schemas in the database (a "
            "superuser can give them: ALTER ROLE " +
            login + " CREATEROLE; GRANT CREATE ON DATABASE " + database + " TO " + login +
            ") and, while the backup table or its index is missing, may create in its schema";
    return hint + "; " + login + " is not one, so name that login in database.conninfo";
}

void throw_db_error(const std::string& message, const std::string& sqlstate,
                    const std::string& hint) {
    const std::string cls = sqlstate.substr(0, 2);
    if (cls == "08")
        throw connection_error(message, sqlstate, hint);
    if (cls == "40")
        throw transaction_rollback(message, sqlstate, hint);
    if (sqlstate == "55P03")
        throw lock_not_available(message, sqlstate, hint);
    if (sqlstate == "57014")
        throw query_canceled(message, sqlstate, hint);
    if (cls == "57" || cls == "53")
        throw server_unavailable(message, sqlstate, hint);
    if (cls == "23")
        throw integrity_violation(message, sqlstate, hint);
    if (cls == "22")
        throw data_exception(message, sqlstate, hint);
    if (cls == "42")
        throw syntax_or_access_error(message, sqlstate, hint);
    throw db_error(message, sqlstate, hint);
}

}  // namespace chatledger::pg

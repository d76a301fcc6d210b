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
    if (sqlstate == "42501")
        return "grant the login role the ledger role it needs (<ledger.schema>_daemon, "
               "_writer or _reader, e.g. GRANT chatledger_daemon TO syncd_login), or run "
               "schema as the DBA who owns the legacy table";
    return {};
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

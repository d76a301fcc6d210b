// Maps a SQLSTATE to the matching db_error subclass.
// Class-level mapping keeps retry decisions in one place for every caller.
#include "schema/pg/error.hpp"

namespace chatledger::pg {

void throw_db_error(const std::string& message, const std::string& sqlstate,
                    const std::string& hint) {
    const std::string cls = sqlstate.substr(0, 2);
    if (cls == "08")
        throw connection_error(message, sqlstate, hint);
    if (cls == "40")
        throw transaction_rollback(message, sqlstate, hint);
    if (sqlstate == "55P03" || sqlstate == "57014")
        throw timeout_error(message, sqlstate, hint);
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

// All SQL that compares the ledger's roles, owners and privileges with what the steps set up,
// and puts them back: what a pg_restore by another login, or an owner's GRANT, can undo.
#pragma once

#include <optional>
#include <string>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"
#include "schema/expectations.hpp"

namespace chatledger::schema {

/// One thing that differs from what the steps set up, and the statement that restores it.
struct drift {
    std::string problem;  ///< one line naming the object, the role and what differs
    std::string remedy;   ///< one statement, every name in it quoted by the server

    friend bool operator==(const drift&, const drift&) = default;
};

/// Reads the catalogs (as any login may, the monitoring one included) and runs remedies.
class drift_repository {
  public:
    drift_repository(pg::connection& conn, const config& cfg) : conn_(conn), cfg_(cfg) {}

    /// The ledger's group roles that are missing, hold an attribute besides NOLOGIN (one item
    /// per attribute: a non-superuser may clear some and not others) or are members of another
    /// role (and so hold its rights) but one of `allowed`.
    std::vector<drift> role_drift(const std::vector<allowed_membership>& allowed);
    /// The ledger schema and every table, view, sequence and routine in it, partitions
    /// included, that the owner role does not own. A sequence of an identity or serial column
    /// follows its table.
    std::vector<drift> owner_drift();
    /// Privileges that differ from `expected`: on the ledger's own objects any grantee but the
    /// owner, on other objects `expected` names (the legacy and backup tables) the ledger's
    /// roles only. Revokes come first: revoking a table privilege takes its column privileges.
    std::vector<drift> grant_drift(const std::vector<expected_grant>& expected);

    /// Runs `d.remedy` under a savepoint; the server's refusal when it failed (the transaction
    /// goes on), nullopt when it ran.
    std::optional<std::string> restore(const drift& d);
    /// Grants the owner role to the login running `schema` when it lacks it and is no
    /// superuser, as step 0001 does: a login that restored a dump owns the objects it has to
    /// hand over, and only a member of the owner role may. True when it granted it.
    bool join_owner_role();
    /// The quoted sequence behind `table`'s id column; "" when it has none.
    std::string serial_sequence(const qualified_name& table);

    /// Row level security on the legacy table.
    struct row_security {
        bool enabled = false;
        bool forced = false;
        std::vector<std::string> policies;
        /// Logins holding the daemon or the reader role, neither superuser nor BYPASSRLS.
        std::vector<std::string> logins_without_bypass;
    };
    row_security legacy_row_security();

  private:
    std::vector<drift> drifts(const pg::result& r);

    pg::connection& conn_;
    const config& cfg_;
};

}  // namespace chatledger::schema

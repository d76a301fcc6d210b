// What the schema steps leave in place that a restore or an owner can undo: the ledger's group
// roles and the privileges each holds. Pure: the list is unit-tested without a server.
#pragma once

#include <string>
#include <vector>

#include "config/config.hpp"

namespace chatledger::schema {

/// One privilege a step grants: `privilege` on `object` (on one of its columns when `column`
/// is set) to the role `grantee`.
struct expected_grant {
    std::string kind;       ///< SCHEMA, TABLE, SEQUENCE or ROUTINE, as GRANT spells it
    std::string object;     ///< the object's quoted name, resolved by the server
    std::string column;     ///< the column's plain name; "" for the whole object
    std::string grantee;    ///< a ledger group role's plain name
    std::string privilege;  ///< SELECT, INSERT, USAGE, EXECUTE, ...

    friend bool operator==(const expected_grant&, const expected_grant&) = default;
};

/// Every privilege the versioned steps up to `version` and the capture step grant the ledger's
/// roles: on the ledger's own objects nobody else holds any, on the legacy and backup tables
/// the roles hold exactly these. `backup_sequence` is the backup table's serial sequence,
/// quoted ("" when it has none).
std::vector<expected_grant> expected_grants(const config& cfg, int version,
                                            const std::string& backup_sequence);

/// The ledger's four group roles, owner first: each NOLOGIN, with no other attribute and no
/// membership in another role but those of allowed_memberships().
std::vector<std::string> group_role_names(const config& cfg);

/// A membership of a group role that a step may grant: `member` in `role`.
struct allowed_membership {
    std::string member;
    std::string role;
};

/// The memberships a step grants a group role where the DBA may (step 0009: the owner role in
/// pg_read_all_stats, so status sees every session's transaction age). Not required: a DBA
/// without the right to grant it gets a notice, not an error. Allowed whatever this database's
/// version: roles are cluster-wide, and a ledger of the same name in another database may be at
/// a version that granted it.
std::vector<allowed_membership> allowed_memberships(const config& cfg);

}  // namespace chatledger::schema

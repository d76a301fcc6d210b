// What a restore or an owner can undo of the ledger's set-up (roles, owners, privileges), checked
// the same way by `schema`, which puts it back, and by `status`, which reports it.
#pragma once

#include <string>
#include <utility>
#include <vector>

#include "config/config.hpp"
#include "pg/connection.hpp"
#include "schema/drift_repository.hpp"

namespace chatledger::schema {

/// What `schema` found differing from the steps, and what became of it.
struct restore_report {
    /// Found and put back (with dry_run: that would be put back).
    std::vector<drift> restored;
    /// Found and not put back: the drift and why (the server's refusal, or that the statement
    /// changed nothing).
    std::vector<std::pair<drift, std::string>> unrestored;
    /// Each refused remedy's problem and the server's refusal, for report.unrestored.
    std::vector<std::pair<std::string, std::string>> refused;
    /// True when the login running `schema` was granted the owner role to hand objects over.
    bool joined_owner_role = false;
};

/// Every difference from what the steps up to `version` set up: roles first, then owners, then
/// privileges. Read-only; what `status` reports.
std::vector<drift> deployment_drift(pg::connection& conn, const config& cfg, int version);

/// Before pending steps run (they may grant to a role a restore left out, or hand objects to
/// the owner role): creates missing roles, clears their attributes and memberships, and makes
/// the login running `schema` a member of the owner role. With dry_run only reports.
void restore_roles(pg::connection& conn, const config& cfg, bool dry_run, restore_report& report);

/// After the steps: hands every object of the ledger schema to the owner role and brings the
/// privileges back to what the steps grant; then checks everything again and records what is
/// left in report.unrestored. With dry_run only reports.
void restore_objects(pg::connection& conn, const config& cfg, int version, bool dry_run,
                     restore_report& report);

/// Warnings about row level security on the legacy table: every chatledger session runs with
/// row_security = off, so a policy there stops a login that has neither BYPASSRLS nor (without
/// FORCE) the table's ownership. Empty when the table has none.
std::vector<std::string> row_security_warnings(pg::connection& conn, const config& cfg);

}  // namespace chatledger::schema

// Checks the ledger's roles, owners and privileges against schema/expectations and puts back what
// differs, one statement at a time, so one refusal (a superuser's attribute) stops nothing else.
#include "schema/restore.hpp"

#include <algorithm>

#include "schema/expectations.hpp"
#include "schema/steps.hpp"

namespace chatledger::schema {

namespace {

std::vector<expected_grant> expectations(drift_repository& repo, const config& cfg, int version) {
    return expected_grants(cfg, version, repo.serial_sequence(cfg.backup.table));
}

/// Runs each remedy; returns how many ran. A refusal is kept for the final report.
int run_remedies(drift_repository& repo, const std::vector<drift>& found, restore_report& report) {
    int ran = 0;
    for (const auto& d : found) {
        if (auto refused = repo.restore(d)) {
            report.refused.emplace_back(d.problem, *refused);
            continue;
        }
        ++ran;
        if (std::find(report.restored.begin(), report.restored.end(), d) == report.restored.end())
            report.restored.push_back(d);
    }
    return ran;
}

/// Why `d` is still there after `schema` tried: the server's last refusal, or what a statement
/// that ran and changed nothing means.
std::string reason(const restore_report& report, const drift& d) {
    for (auto it = report.refused.rbegin(); it != report.refused.rend(); ++it)
        if (it->first == d.problem)
            return it->second;
    if (d.remedy.starts_with("REVOKE"))
        return "the statement changed nothing: a privilege another role granted can only be "
               "revoked by that role or a superuser";
    return "the statement changed nothing";
}

std::string joined(const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v) out += (out.empty() ? "" : ", ") + s;
    return out;
}

}  // namespace

std::vector<drift> deployment_drift(pg::connection& conn, const config& cfg, int version) {
    if (version < 1)
        return {};
    drift_repository repo(conn, cfg);
    auto out = repo.role_drift(allowed_memberships(cfg));
    for (auto& d : repo.owner_drift()) out.push_back(std::move(d));
    for (auto& d : repo.grant_drift(expectations(repo, cfg, version))) out.push_back(std::move(d));
    return out;
}

void restore_roles(pg::connection& conn, const config& cfg, bool dry_run, restore_report& report) {
    drift_repository repo(conn, cfg);
    auto found = repo.role_drift(allowed_memberships(cfg));
    if (dry_run) {
        report.restored.insert(report.restored.end(), found.begin(), found.end());
        return;
    }
    run_remedies(repo, found, report);
    report.joined_owner_role = repo.join_owner_role();
}

void restore_objects(pg::connection& conn, const config& cfg, int version, bool dry_run,
                     restore_report& report) {
    drift_repository repo(conn, cfg);
    const auto expected = expectations(repo, cfg, version);
    if (dry_run) {
        for (auto& d : repo.owner_drift()) report.restored.push_back(std::move(d));
        for (auto& d : repo.grant_drift(expected)) report.restored.push_back(std::move(d));
        return;
    }
    // Owners first: handing an object over rewrites its ACL, the old owner's grants included.
    run_remedies(repo, repo.owner_drift(), report);
    // Revoking a table privilege takes that privilege's column grants along: the next pass
    // grants back the columns the steps grant.
    for (int pass = 0; pass < 3; ++pass) {
        const auto found = repo.grant_drift(expected);
        if (found.empty() || run_remedies(repo, found, report) == 0)
            break;
    }
    for (const auto& d : deployment_drift(conn, cfg, version)) {
        report.unrestored.emplace_back(d, reason(report, d));
        std::erase(report.restored, d);
    }
}

std::vector<std::string> row_security_warnings(pg::connection& conn, const config& cfg) {
    drift_repository repo(conn, cfg);
    const auto s = repo.legacy_row_security();
    // FORCE without ENABLE applies no policy.
    if (!s.enabled)
        return {};
    const auto roles = roles_for(cfg);
    const std::string table = cfg.legacy.table.display();
    const std::string policies = s.policies.empty()
                                     ? "no policy, so it denies every row to whoever it applies to"
                                     : "policies " + joined(s.policies);
    const std::string logins =
        s.logins_without_bypass.empty()
            ? "logins granted " + roles.daemon.name() + " or " + roles.reader.name()
            : joined(s.logins_without_bypass);
    const std::string why =
        ": chatledger sessions run with row_security = off, so a policy stops them with an "
        "error (\"query would be affected by row-level security policy\") instead of hiding "
        "rows from them: ";
    if (s.forced)
        return {"legacy table " + table + " has FORCE ROW LEVEL SECURITY (" + policies + ")" + why +
                "every login without BYPASSRLS fails on it, the table's owner running run, "
                "verify and recover included, and so do the daemon's and monitoring's (" +
                logins + ") HINT: run ALTER TABLE " + cfg.legacy.table.quoted() +
                " NO FORCE ROW LEVEL SECURITY so its owner is exempt, and as a superuser ALTER "
                "ROLE ... BYPASSRLS for " +
                logins + "; or DISABLE ROW LEVEL SECURITY where no policy is needed"};
    return {"legacy table " + table + " has row level security enabled (" + policies + ")" + why +
            "its owner (run, verify, recover) is exempt, the daemon's and monitoring's logins (" +
            logins +
            ") are not unless they have BYPASSRLS HINT: as a superuser, ALTER ROLE ... "
            "BYPASSRLS for " +
            logins + "; or ALTER TABLE " + cfg.legacy.table.quoted() +
            " DISABLE ROW LEVEL SECURITY where no policy is needed"};
}

}  // namespace chatledger::schema

// Test fixture for *_pgtest.cpp: each test gets its own scratch database on the real server
// named by the PG* environment (scripts/test.sh starts a throwaway cluster and exports it).
#pragma once

#include <gtest/gtest.h>

#include <chrono>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace chatledger::testing {

/// The logins of a deployment as CONTRACT section 7 describes it, each holding only its role.
struct deployment_logins {
    std::string dba;     ///< CREATEROLE and CREATE on the database, no superuser; owns the legacy
                         ///< schema and table
    std::string daemon;  ///< granted <ledger>_daemon only
    std::string reader;  ///< granted <ledger>_reader only
    std::string app;     ///< granted <ledger>_writer only
    std::string legacy;  ///< no ledger role; create_legacy_table() grants it the table's privileges
};

/// A scratch database created before each test and dropped after it, deployed as CONTRACT
/// section 7 and docs/operations.md say: every test gets the logins of deployment_logins, and
/// the legacy table lives in a schema its DBA owns (`crm` unless the test picks `public`).
///
/// Who is who:
/// - conninfo(), make_config(), config_yaml() and connect() log in as the DBA: the operator
///   identity of `schema`, `run`, `verify`, `recover` and of the tests' own fixture SQL.
/// - daemon_conninfo() and conninfo_as(logins().daemon) are the daemon's login; conninfo_as()
///   and connect_as() give any other login of deployment_logins.
/// - connect_legacy() is a legacy writer: SELECT, INSERT, UPDATE, DELETE on the legacy table only.
/// - superuser_conninfo() and connect_superuser() are the cluster's superuser (PGUSER): only for
///   fixture steps no deployed login may take and for tests about superusers.
/// Sessions the tests open for their own SQL (connect(), connect_legacy(), connect_superuser())
/// have the legacy schema first on their search_path, so test SQL may say `live_chat`; the
/// product's sessions (every *conninfo*()) do not, and are given qualified names by the config.
class pg_test : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    /// Polls `done` every 50 ms until it holds (true) or `limit` has passed (false).
    [[nodiscard]] static bool wait_until(const std::function<bool()>& done,
                                         std::chrono::milliseconds limit) {
        for (auto until = std::chrono::steady_clock::now() + limit; !done();
             std::this_thread::sleep_for(std::chrono::milliseconds(50)))
            if (std::chrono::steady_clock::now() >= until)
                return false;
        return true;
    }

    /// libpq conninfo of the scratch database as the DBA login.
    std::string conninfo() const { return conninfo_as(dbname_ + "_dba"); }
    /// libpq conninfo of the scratch database as the cluster's superuser (PGUSER).
    std::string superuser_conninfo() const { return "dbname=" + dbname_; }
    /// A default configuration for the DBA, naming the legacy and backup tables in
    /// legacy_schema_ (qualified unless it is public).
    config make_config() const;
    /// The YAML of make_config() for a config file: database.conninfo (`conninfo`, the DBA's
    /// by default) followed by `database_keys` ("  lock_timeout_ms: 100\n"), legacy.table and
    /// backup.table. Further sections may follow; a test that writes its own `legacy:` section
    /// uses legacy_table_yaml() inside it instead.
    std::string config_yaml(const std::string& conninfo,
                            const std::string& database_keys = "") const;
    std::string config_yaml() const { return config_yaml(conninfo()); }
    /// "  table: crm.live_chat\n" (nothing for public): the table line of a `legacy:` section.
    std::string legacy_table_yaml() const;
    /// The legacy table as the config names it: crm.live_chat, or live_chat in public.
    std::string legacy_table() const;
    /// A new connection to the scratch database as the DBA, for fixture SQL and probes.
    pg::connection connect() const;
    /// A new connection as the cluster's superuser: fixture steps only a superuser may take
    /// (SET SESSION AUTHORIZATION, session_replication_role) and tests about superusers.
    pg::connection connect_superuser() const;
    /// A new connection as the legacy writer login.
    pg::connection connect_legacy() const { return connect_as(dbname_ + "_legacy"); }
    /// Runs test-only SQL (fixtures, probes); production code goes through repositories.
    pg::result sql(pg::connection& conn, const std::string& text,
                   const std::vector<pg::param>& params = {}) const {
        return params.empty() ? conn.exec_script("test statement", text)
                              : conn.exec("test statement", text, params);
    }
    /// Creates the legacy table with the seed's columns (`live_chat` by default) in
    /// legacy_schema_ through `conn` (connect(): owned by the DBA) and grants the legacy login
    /// SELECT, INSERT, UPDATE and DELETE on it.
    void create_legacy_table(pg::connection& conn,
                             const std::string& quoted_name = "live_chat") const;

    /// conninfo of the scratch database as `login` (no search_path: as the product logs in).
    std::string conninfo_as(const std::string& login) const {
        return "dbname=" + dbname_ + " user=" + login;
    }
    /// A new connection to the scratch database as `login`; the legacy login's search_path
    /// starts with the legacy schema (its role says so, as a legacy application's would).
    pg::connection connect_as(const std::string& login) const;
    /// The logins of section 7, created by SetUp (roles are cluster-wide: named after the
    /// scratch database, dropped in TearDown). The ledger roles are granted only when
    /// `grant_ledger_roles`; otherwise the test has the DBA grant them, as an operator would
    /// after `schema`.
    const deployment_logins& provision_logins(bool grant_ledger_roles = true);
    /// The logins, without granting anything.
    const deployment_logins& logins() const { return logins_; }
    /// conninfo of a login granted chatledger_daemon only: how every test starts the daemon.
    std::string daemon_conninfo() { return conninfo_as(provision_logins().daemon); }

    std::string dbname_;
    /// Schema of the legacy and backup tables: `crm`, owned by the DBA. A test of the public
    /// case sets "public" in its constructor (the DBA then has CREATE on public).
    std::string legacy_schema_ = "crm";

  private:
    deployment_logins logins_;
    bool roles_granted_ = false;
};

}  // namespace chatledger::testing

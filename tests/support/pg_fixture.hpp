// Test fixture for *_pgtest.cpp: each test gets its own scratch database on the real server
// named by the PG* environment (scripts/test.sh starts a throwaway cluster and exports it).
#pragma once

#include <gtest/gtest.h>

#include <optional>
#include <string>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace chatledger::testing {

/// The logins of a deployment as CONTRACT section 7 describes it, each holding only its role.
struct deployment_logins {
    std::string dba;     ///< CREATEROLE and CREATE on the database, no superuser
    std::string daemon;  ///< granted <ledger>_daemon only
    std::string reader;  ///< granted <ledger>_reader only
    std::string app;     ///< granted <ledger>_writer only
    std::string legacy;  ///< no ledger role; the test grants it its legacy table privileges
};

/// A scratch database created before each test and dropped after it.
class pg_test : public ::testing::Test {
  protected:
    void SetUp() override;
    void TearDown() override;

    /// libpq conninfo of the scratch database (host, port and user come from PG*).
    std::string conninfo() const { return "dbname=" + dbname_; }
    /// A default configuration pointed at the scratch database.
    config make_config() const;
    /// A new connection to the scratch database.
    pg::connection connect() const;
    /// Runs test-only SQL (fixtures, probes); production code goes through repositories.
    pg::result sql(pg::connection& conn, const std::string& text,
                   const std::vector<pg::param>& params = {}) const {
        return params.empty() ? conn.exec_script("test statement", text)
                              : conn.exec("test statement", text, params);
    }
    /// Creates the legacy table with the seed's columns (`live_chat` by default).
    void create_legacy_table(pg::connection& conn,
                             const std::string& quoted_name = "live_chat") const;

    /// conninfo of the scratch database as `login`.
    std::string conninfo_as(const std::string& login) const {
        return conninfo() + " user=" + login;
    }
    /// A new connection to the scratch database as `login`.
    pg::connection connect_as(const std::string& login) const;
    /// Creates the logins of section 7 (roles are cluster-wide: named after the scratch
    /// database, dropped in TearDown). The ledger roles are granted only when `grant_ledger_roles`;
    /// otherwise the test has the DBA grant them, as an operator would after `schema`.
    const deployment_logins& provision_logins(bool grant_ledger_roles = true);
    /// conninfo of a login granted chatledger_daemon only: how every test starts the daemon.
    std::string daemon_conninfo() { return conninfo_as(provision_logins().daemon); }

    std::string dbname_;

  private:
    std::optional<deployment_logins> logins_;
};

}  // namespace chatledger::testing

// Test fixture for *_pgtest.cpp: each test gets its own scratch database on the real server
// named by the PG* environment (scripts/test.sh starts a throwaway cluster and exports it).
#pragma once

#include <gtest/gtest.h>

#include <string>

#include "config/config.hpp"
#include "pg/connection.hpp"

namespace chatledger::testing {

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

    std::string dbname_;
};

}  // namespace chatledger::testing

// How to reach PostgreSQL: the part of the configuration the libpq layer reads.
// It lives here, not in config/, so the bottom layer depends on nothing above it.
#pragma once

#include <chrono>
#include <string>

namespace chatledger {

/// How to reach PostgreSQL (the database.* keys).
struct database_config {
    std::string conninfo;                              ///< libpq key=value or URI; "" = PG* env
    std::string application_name = "chatledger";       ///< set unless conninfo names one
    std::chrono::milliseconds connect_timeout{10000};  ///< libpq connect_timeout
    std::chrono::milliseconds statement_timeout{0};    ///< 0 = server default
    std::chrono::milliseconds lock_timeout{2000};      ///< for row locks on the legacy table
};

}  // namespace chatledger

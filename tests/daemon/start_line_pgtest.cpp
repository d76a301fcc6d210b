// The daemon's first log line says what it is about to work on, password left out: version,
// config file, database host/port/dbname/user, legacy table. Runs the real executable.
#include <gtest/gtest.h>

#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <string>

#include "chatledger/version.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::daemon {
namespace {

class start_line_pgtest : public testing::pg_test {};

TEST_F(start_line_pgtest, the_daemon_logs_its_target_first_and_no_password) {
    const auto base = std::filesystem::temp_directory_path() / (dbname_ + "_start");
    const std::string cfg = base.string() + ".yaml", log = base.string() + ".log";
    // Trust authentication ignores the password; it is there to be left out of the line.
    std::ofstream(cfg) << "database:\n  conninfo: \"" << daemon_conninfo()
                       << " password=s3cret-pw\"\nlegacy:\n  table: crm.chats\n"
                       << "ledger:\n  schema: ledger2\n";
    {
        // What happens after the line (there is no schema) does not matter here.
        testing::child_process d(CHATLEDGER_SYNCD_BIN, {"--config", cfg, "--once"}, log);
        d.wait_exit(std::chrono::seconds(30));
    }
    const std::string text = testing::read_file(log);
    const std::string line =
        std::string("chatledger-syncd: chatledger-syncd ") + version + " starting --once: config " +
        cfg + ", database host=" + std::getenv("PGHOST") + " port=" + std::getenv("PGPORT") +
        " dbname=" + dbname_ + " user=" + logins().daemon +
        ", legacy table crm.chats, ledger schema ledger2\n";
    const auto at = text.find(line);
    EXPECT_NE(at, std::string::npos) << text;
    EXPECT_EQ(text.find('\n'), at + line.size() - 1) << "not the first line:\n" << text;
    EXPECT_EQ(text.find("s3cret"), std::string::npos) << text;
    std::filesystem::remove(cfg);
    std::filesystem::remove(log);
}

}  // namespace
}  // namespace chatledger::daemon

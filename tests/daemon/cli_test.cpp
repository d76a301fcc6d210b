// Unit tests of the chatledger-syncd command line: what it refuses before reaching a database.
// Every case must fail fast, so none of them ever starts the service.
#include "daemon/cli.hpp"

#include <gtest/gtest.h>
#include <unistd.h>

#include <algorithm>
#include <filesystem>
#include <fstream>
#include <sstream>
#include <string>
#include <vector>

namespace chatledger::daemon {
namespace {

class syncd_cli : public ::testing::Test {
  protected:
    void SetUp() override {
        dir_ =
            std::filesystem::temp_directory_path() / ("cl_syncd_cli_" + std::to_string(::getpid()));
        std::filesystem::create_directories(dir_);
        // Unreachable on purpose: a case that wrongly got past the parser fails once the
        // service gives up connecting (--once) instead of running against a real server.
        config_ = (dir_ / "chatledger.yaml").string();
        std::ofstream(config_) << "database:\n  conninfo: \"host=/nonexistent-socket-dir port=1 "
                                  "connect_timeout=1\"\n";
    }
    void TearDown() override { std::filesystem::remove_all(dir_); }

    int run(std::vector<std::string> args) {
        out_.str("");
        err_.str("");
        std::vector<const char*> argv = {"chatledger-syncd"};
        for (auto& a : args) argv.push_back(a.c_str());
        return run_cli(static_cast<int>(argv.size()), argv.data(), out_, err_);
    }

    std::filesystem::path dir_;
    std::string config_;
    std::ostringstream out_, err_;
};

TEST_F(syncd_cli, a_stray_argument_exits_2_with_one_line) {
    EXPECT_EQ(run({"--config", config_, "--once", "bogus"}), 2);
    const std::string e = err_.str();
    EXPECT_EQ(e.find("chatledger-syncd: unexpected argument \"bogus\" HINT: chatledger-syncd "
                     "takes only options"),
              0)
        << e;
    EXPECT_EQ(std::count(e.begin(), e.end(), '\n'), 1) << e;
    EXPECT_EQ(run({"once", "--config", config_}), 2);
    EXPECT_NE(err_.str().find("unexpected argument \"once\""), std::string::npos) << err_.str();
}

TEST_F(syncd_cli, a_config_that_is_a_directory_or_repeats_a_key_exits_2) {
    EXPECT_EQ(run({"--config", dir_.string(), "--once"}), 2);
    EXPECT_NE(err_.str().find("config file " + dir_.string() + " is a directory HINT:"),
              std::string::npos)
        << err_.str();
    std::ofstream(config_, std::ios::app) << "daemon:\n  poll_interval_ms: 100\n"
                                          << "daemon:\n  poll_interval_ms: 200\n";
    EXPECT_EQ(run({"--config", config_, "--once"}), 2);
    EXPECT_NE(err_.str().find(":5: key \"daemon\" is given twice, on lines 3 and 5"),
              std::string::npos)
        << err_.str();
}

TEST_F(syncd_cli, an_unknown_option_exits_2_and_help_exits_0) {
    EXPECT_EQ(run({"--dry-run"}), 2);
    EXPECT_NE(err_.str().find("HINT: run chatledger-syncd --help"), std::string::npos)
        << err_.str();
    EXPECT_EQ(run({"--help"}), 0);
    EXPECT_NE(out_.str().find("--once"), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace chatledger::daemon

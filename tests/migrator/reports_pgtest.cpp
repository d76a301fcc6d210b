// Database tests of what plan, run and verify report: the unparseable keys named, the
// differences verify leaves off the screen counted and written whole by --report.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/child_process.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::migrator {
namespace {

class reports_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        // The DBA's login, as the fixture gives it.
        std::ofstream(config_path_) << config_yaml() << "migrate:\n  batch_rows: 7\n";
    }
    std::string read(const std::string& name) {
        std::ifstream f(dir_ / name);
        return std::string((std::istreambuf_iterator<char>(f)), {});
    }

    /// "u00", "u01", ...
    static std::string key(const char* prefix, int i) {
        char buf[16];
        std::snprintf(buf, sizeof buf, "%s%02d", prefix, i);
        return buf;
    }

    static size_t occurrences(const std::string& text, const std::string& what) {
        size_t n = 0;
        for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
        return n;
    }
};

TEST_F(reports_pgtest, plan_and_run_name_the_unparseable_keys_and_the_report_lists_all) {
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, chat_history) SELECT format('u%s', lpad(i::text, 2, "
        "'0')), '{broken ' || i FROM generate_series(0, 24) i");
    sql(*conn_, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('good', '[1,2]')");
    std::string first;
    for (int i = 0; i < 20; ++i) first += (i ? ", " : " ") + key("u", i);
    const std::string line = "    keys:" + first + " and 5 more (--report FILE lists them all)\n";

    ASSERT_EQ(migrate("plan"), 0) << err_.str();
    EXPECT_NE(out_.str().find("unparseable values                25\n" + line), std::string::npos)
        << out_.str();
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    ASSERT_EQ(migrate("plan", {"--report", (dir_ / "plan.json").string()}), 0) << err_.str();
    const std::string plan = read("plan.json");
    // Nothing was written: the plan says what would be, never "migrated".
    EXPECT_EQ(plan.find("\"migrated\""), std::string::npos) << plan;
    EXPECT_EQ(plan.find("\"appended\""), std::string::npos) << plan;
    EXPECT_NE(
        plan.find("\"command\":\"plan\",\"dry_run\":true,\"conversations\":26,"
                  "\"already_migrated\":0,\"to_migrate\":26,\"elements\":2,\"to_append\":27,"),
        std::string::npos)
        << plan;
    std::string all;
    for (int i = 0; i < 25; ++i) all += (i ? ",\"" : "\"") + key("u", i) + "\"";
    EXPECT_NE(plan.find("\"unparseable\":25,\"unparseable_keys\":[" + all + "],"),
              std::string::npos)
        << plan;

    ASSERT_EQ(migrate("run", {"--report", (dir_ / "run.json").string()}), 0) << err_.str();
    EXPECT_NE(out_.str().find("unparseable values                25\n" + line), std::string::npos)
        << out_.str();
    const std::string run = read("run.json");
    EXPECT_NE(run.find("\"command\":\"run\",\"dry_run\":false,\"conversations\":26,"
                       "\"already_migrated\":0,\"migrated\":26,\"elements\":2,\"appended\":27,"),
              std::string::npos)
        << run;
    EXPECT_NE(run.find("\"unparseable_keys\":[" + all + "]"), std::string::npos) << run;
}

TEST_F(reports_pgtest, verify_counts_what_it_leaves_off_and_the_report_holds_every_difference) {
    sql(*conn_,
        "INSERT INTO live_chat (zoho_id, chat_history) SELECT format('c%s', lpad(i::text, 2, "
        "'0')), '[1]' FROM generate_series(0, 24) i");
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    ASSERT_EQ(migrate("run"), 0) << err_.str();
    // Writes the capture trigger does not see (its owner disabled it) stand in for loss.
    sql(*conn_,
        "BEGIN; ALTER TABLE live_chat DISABLE TRIGGER chatledger_capture; "
        "UPDATE live_chat SET chat_history = '[1,2,3]'; "
        "ALTER TABLE live_chat ENABLE ALWAYS TRIGGER chatledger_capture; COMMIT");
    // Rows whose conversation the legacy table lacks, from an application.
    sql(*conn_,
        "INSERT INTO chatledger.chat_messages (zoho_id, author, body) SELECT 'gone' || i, 'a', "
        "'b' FROM generate_series(1, 3) i");

    ASSERT_EQ(migrate("verify"), 1) << err_.str();
    EXPECT_EQ(occurrences(out_.str(), ": 2 missing from the ledger"), 20u) << out_.str();
    EXPECT_NE(
        out_.str().find("  ... 8 more not listed (verify --report FILE writes them all to FILE)\n"),
        std::string::npos)
        << out_.str();

    ASSERT_EQ(migrate("verify", {"--report", (dir_ / "verify.json").string()}), 1) << err_.str();
    EXPECT_NE(out_.str().find("  ... 8 more not listed (the report file lists them all)\n"),
              std::string::npos)
        << out_.str();
    const std::string report = read("verify.json");
    EXPECT_EQ(occurrences(report, ",\"missing\":2,\"extra\":0}"), 25u) << report;
    EXPECT_NE(report.find("{\"zoho_id\":\"c24\",\"missing\":2,\"extra\":0}"), std::string::npos)
        << report;
    EXPECT_NE(report.find("\"ledger_only\":3,\"ledger_only_is_lower_bound\":false,"),
              std::string::npos)
        << report;
    EXPECT_NE(report.find("\"ledger_only_keys\":[\"gone1\",\"gone2\",\"gone3\"],"),
              std::string::npos)
        << report;
}

TEST_F(reports_pgtest, json_log_lines_carry_the_counters_as_fields) {
    sql(*conn_, "INSERT INTO live_chat (zoho_id, chat_history) VALUES ('a', '[1,2]'), ('b', 'x')");
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    std::ofstream(config_path_, std::ios::app) << "logging:\n  format: json\n";
    const std::string log = (dir_ / "run.log").string();
    {
        testing::child_process p(CHATLEDGER_MIGRATE_BIN, {"--config", config_path_, "run"}, log);
        ASSERT_EQ(p.wait_exit(std::chrono::seconds(60)), 0) << testing::read_file(log);
    }
    const std::string text = testing::read_file(log);
    EXPECT_NE(text.find("\"msg\":\"migration finished\",\"conversations\":2,\"appended\":3,"
                        "\"unparseable\":1,\"captured_appended\":0,\"seconds\":"),
              std::string::npos)
        << text;
    EXPECT_NE(text.find("\"msg\":\"migrating\",\"done\":2,\"total\":2,\"percent\":100.000,"),
              std::string::npos)
        << text;
}

}  // namespace
}  // namespace chatledger::migrator

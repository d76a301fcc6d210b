// Database tests of what the daemon reports as drift: only messages the legacy column showed and
// lost count; new rows, comment captures and backlogs worked off in steps never do.
#include <gtest/gtest.h>

#include <sstream>

#include "daemon/syncer.hpp"
#include "ledger/ingest.hpp"
#include "schema/apply.hpp"
#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::daemon {
namespace {

class drift_pgtest : public testing::legacy_db_test {
  protected:
    void prepare() override {
        cfg_.backup.mode = backup_mode::drift_only;
        sql(*conn_, R"(INSERT INTO live_chat (zoho_id, full_name, chat_history)
                       VALUES ('a', 'Name', '[{"sender":"s","message":"m0"}]'))");
        schema::apply_schema(*conn_, cfg_, false);
        // Migrated, as `run` leaves it: the ledger holds m0 and the column shows it.
        ledger::ledger_repository repo(*conn_, cfg_);
        pg::transaction tx(*conn_);
        ledger::ingest(repo, {{"a", R"([{"sender":"s","message":"m0"}])"}}, cfg_.legacy.fields,
                       {.source = core::message_source::migration});
        tx.commit();
    }
    /// Syncs until the queue is empty; the outcomes of every step.
    std::vector<sync_outcome> sync_all(const std::string& key) {
        collect_appends();
        auto c = connect_as(provision_logins().daemon);  // as deployed: the daemon role only
        syncer s(c, cfg_);
        std::vector<sync_outcome> out;
        do out.push_back(s.sync(key));
        while (count("SELECT count(*) FROM chatledger.sync_queue") > 0 && out.size() < 20);
        return out;
    }
};

// Guards against counting the rows a sync itself appended (comment captures) as lost: the old
// syncer re-read them with ids below its "first new id" and reported drift.
TEST_F(drift_pgtest, a_comment_only_capture_is_not_drift) {
    auto writer = connect_legacy();
    sql(writer, "UPDATE live_chat SET comments = 'call me', comments_entered_by = 'c'");
    const auto steps = sync_all("a");
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_EQ(steps[0].captured, 1);
    EXPECT_TRUE(steps[0].rewritten);
    EXPECT_FALSE(steps[0].drift);
    EXPECT_EQ(steps[0].missing, 0);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 0);  // drift_only: no backups
}

// Guards against reporting a backlog larger than one claim as drift: the old syncer consumed
// the first 256 append events without rendering, then counted their rows as lost.
TEST_F(drift_pgtest, a_backlog_of_appends_larger_than_one_claim_is_not_drift) {
    // A collection queues one event per conversation: a collection after each append makes
    // an event of each, as a daemon collecting while they come in would.
    const long long appends = max_events_per_sync * 2 + 188;
    auto daemon = connect_as(provision_logins().daemon);
    for (long long i = 0; i < appends; ++i) {
        sql(*conn_,
            "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('a', 'w', $1)",
            {"app " + std::to_string(i)});
        ASSERT_EQ(collect_appends(daemon), 1);
    }
    ASSERT_EQ(count("SELECT count(*) FROM chatledger.sync_queue"), appends);  // one per append
    long long missing = 0;
    bool drift = false;
    for (const auto& o : sync_all("a")) {
        missing += o.missing;
        drift = drift || o.drift;
    }
    EXPECT_EQ(missing, 0);
    EXPECT_FALSE(drift);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 0);
    EXPECT_EQ(count("SELECT json_array_length(chat_history::json) FROM live_chat"), appends + 1);
}

// The case drift exists for: a racing writer dropped a message another write had shown.
TEST_F(drift_pgtest, a_message_a_racing_writer_dropped_is_drift) {
    auto writer = connect_legacy();
    sql(writer, R"(UPDATE live_chat SET chat_history =
                   '[{"sender":"s","message":"m0"},{"sender":"x","message":"m1"}]')");
    sql(writer, R"(UPDATE live_chat SET chat_history = '[{"sender":"s","message":"m0"}]')");
    const auto steps = sync_all("a");
    ASSERT_EQ(steps.size(), 1u);
    EXPECT_TRUE(steps[0].drift);
    EXPECT_EQ(steps[0].missing, 1);
    EXPECT_EQ(count("SELECT count(*) FROM chat_history_backup"), 2);
}

}  // namespace
}  // namespace chatledger::daemon

// Database tests of the queue's health in `status`: size, dead rows and the session holding the
// horizon back, as the monitoring login sees them after a DBA (no superuser) ran `schema`.
#include <gtest/gtest.h>

#include <filesystem>
#include <fstream>
#include <sstream>

#include "tests/support/legacy_db_fixture.hpp"

namespace chatledger::migrator {
namespace {

class queue_status_pgtest : public testing::legacy_db_test {};

TEST_F(queue_status_pgtest, status_names_the_session_idle_in_transaction_to_the_reader) {
    const auto& l = provision_logins();
    ASSERT_EQ(migrate("schema"), 0) << err_.str();

    // Another login's forgotten transaction: pg_stat_activity hides its start from the reader.
    auto idle = connect_as(l.app);
    sql(idle, "SET application_name = 'forgotten psql'");
    pg::transaction t(idle);
    sql(idle, "SELECT txid_current()");
    const std::string pid = std::string(sql(idle, "SELECT pg_backend_pid()::text").text(0, 0));

    const auto reader = write_file("reader.yaml", config_yaml(conninfo_as(l.reader)));
    ASSERT_EQ(migrate_with(reader, {"status"}), 0) << err_.str();
    const std::string o = out_.str();
    EXPECT_NE(o.find("sync queue size        "), std::string::npos) << o;
    EXPECT_NE(o.find(" dead rows\n"), std::string::npos) << o;
    EXPECT_NE(o.find("transactions ago, pid " + pid +
                     ", application 'forgotten psql', idle in transaction\n"),
              std::string::npos)
        << o;
    EXPECT_EQ(o.find("age unknown"), std::string::npos) << o;

    ASSERT_EQ(migrate_with(reader, {"status", "--json"}), 0) << err_.str();
    const std::string j = out_.str();
    EXPECT_NE(j.find("\"sync_queue_bytes\":"), std::string::npos) << j;
    EXPECT_NE(j.find("\"sync_queue_dead_rows\":"), std::string::npos) << j;
    EXPECT_NE(j.find("\"oldest_transaction\":{\"pid\":" + pid +
                     ",\"application_name\":\"forgotten psql\",\"state\":\"idle in "
                     "transaction\",\"age_s\":"),
              std::string::npos)
        << j;

    t.commit();
    ASSERT_EQ(migrate_with(reader, {"status", "--json"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("\"oldest_transaction\":null"), std::string::npos) << out_.str();
}

// Appends no daemon has collected yet (schema step 0012) are work waiting: the backlog counts
// them, for the monitoring login, until a collection turns them into one event.
TEST_F(queue_status_pgtest, the_backlog_counts_appends_not_yet_collected) {
    const auto& l = provision_logins();
    ASSERT_EQ(migrate("schema"), 0) << err_.str();
    auto app = connect_as(l.app);
    for (int i = 0; i < 3; ++i)
        sql(app, "INSERT INTO chatledger.chat_messages (zoho_id, body) VALUES ('q', 'x')");
    const auto reader = write_file("reader.yaml", config_yaml(conninfo_as(l.reader)));
    ASSERT_EQ(migrate_with(reader, {"status", "--json"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("\"sync_queue_depth\":3,"), std::string::npos) << out_.str();
    EXPECT_EQ(collect_appends(), 1);
    ASSERT_EQ(migrate_with(reader, {"status", "--json"}), 0) << err_.str();
    EXPECT_NE(out_.str().find("\"sync_queue_depth\":1,"), std::string::npos) << out_.str();
}

}  // namespace
}  // namespace chatledger::migrator

// The fixture most database tests repeated: the DBA's connection, the legacy table, a scratch
// directory holding the DBA's config file, and chatledger-migrate run in process against it.
#pragma once

#include <chrono>
#include <filesystem>
#include <fstream>
#include <functional>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "tests/support/migrate_cli.hpp"
#include "tests/support/pg_fixture.hpp"

namespace chatledger::testing {

/// pg_test with the legacy table created (through conn_, so owned by the DBA) and the DBA's
/// config_yaml() written to config_path_ in dir_, a directory removed after the test.
/// Header-only, as migrate_cli.hpp: a test calling migrate() links chatledger_migrator.
class legacy_db_test : public pg_test {
  protected:
    void SetUp() override;
    void TearDown() override;
    /// A test's own fixture steps, run at the end of SetUp once the database, the legacy table,
    /// the config file and cfg_ are there (and only if they are).
    virtual void prepare() {}

    /// `chatledger-migrate --config config_path_ command extra...`; its exit status, its
    /// stdout and stderr in out_ and err_ (emptied first).
    [[nodiscard]] int migrate(const std::string& command,
                              const std::vector<std::string>& extra = {});
    /// `chatledger-migrate --config config args...`, as migrate() but with another config file
    /// (another login's, say).
    [[nodiscard]] int migrate_with(const std::string& config, const std::vector<std::string>& args);
    /// migrate() that must exit 0; the output is the failure message otherwise.
    void migrate_ok(const std::string& command, const std::vector<std::string>& extra = {}) {
        ASSERT_EQ(migrate(command, extra), 0) << command << ": " << output();
    }
    /// migrate() from one command line split at spaces ("verify --sample 5"); its exit status,
    /// with stdout and stderr together in `output`.
    int migrate_line(const std::string& line, std::string& output) {
        std::vector<std::string> args;
        std::istringstream words(line);
        for (std::string w; words >> w;) args.push_back(w);
        const int rc = migrate_with(config_path_, args);
        output = this->output();
        return rc;
    }
    /// stdout and stderr of the last migrate(), together.
    std::string output() const { return out_.str() + err_.str(); }

    /// The single integer `query` gives, through conn_.
    long long count(const std::string& query, const std::vector<pg::param>& params = {}) {
        return sql(*conn_, query, params).integer(0, 0);
    }
    /// What a daemon's round does first (schema step 0012): the appends committed since the
    /// last collection become queue events, one per conversation. As the daemon's login;
    /// returns how many it queued.
    long long collect_appends() {
        auto d = connect_as(provision_logins().daemon);
        return collect_appends(d);
    }
    /// collect_appends() through `daemon`, a connection of the daemon's login held open.
    long long collect_appends(pg::connection& daemon) {
        sql(daemon, "BEGIN ISOLATION LEVEL READ COMMITTED");
        const long long n =
            sql(daemon, "SELECT coalesce(chatledger.collect_appends(), 0)").integer(0, 0);
        sql(daemon, "COMMIT");
        return n;
    }
    /// Work left for the daemon: queued events and appends not yet collected.
    long long pending_work() {
        return count(
            "SELECT (SELECT count(*) FROM chatledger.sync_queue) + "
            "(SELECT count(*) FROM chatledger.uncollected_appends)");
    }

    /// `name` inside dir_, as a string for argv and config files.
    std::string path(const std::string& name) const { return (dir_ / name).string(); }
    /// Writes `yaml` to `name` inside dir_; returns its path.
    std::string write_file(const std::string& name, const std::string& yaml) const {
        const std::string p = path(name);
        std::ofstream(p) << yaml;
        return p;
    }

    /// The DBA's connection, for fixture SQL and probes.
    std::optional<pg::connection> conn_;
    /// Scratch directory of this test, removed in TearDown.
    std::filesystem::path dir_;
    /// The DBA's config file (config_yaml()); a test may rewrite it before migrate().
    std::string config_path_;
    /// make_config(): the DBA's configuration, for repositories and syncers built in process.
    config cfg_;
    std::ostringstream out_, err_;
    /// False in a test's constructor: the test creates a legacy table of its own.
    bool with_legacy_table_ = true;
};

inline void legacy_db_test::SetUp() {
    pg_test::SetUp();
    if (HasFatalFailure())
        return;
    conn_.emplace(connect());
    if (with_legacy_table_)
        create_legacy_table(*conn_);
    dir_ = std::filesystem::temp_directory_path() / dbname_;
    std::filesystem::create_directories(dir_);
    config_path_ = write_file("dba.yaml", config_yaml());
    cfg_ = make_config();
    prepare();
}

inline void legacy_db_test::TearDown() {
    conn_.reset();
    if (!dir_.empty())
        std::filesystem::remove_all(dir_);
    pg_test::TearDown();
}

inline int legacy_db_test::migrate(const std::string& command,
                                   const std::vector<std::string>& extra) {
    std::vector<std::string> args = {command};
    args.insert(args.end(), extra.begin(), extra.end());
    return migrate_with(config_path_, args);
}

inline int legacy_db_test::migrate_with(const std::string& config,
                                        const std::vector<std::string>& args) {
    out_.str("");
    err_.str("");
    return migrate_cli(config, args, out_, err_);
}

}  // namespace chatledger::testing

// The fault and race runner: racing legacy writers, application appends, comment-only writers,
// kill -9 of daemons, two daemons, pg_ctl restart -m immediate and a long-held legacy row lock,
// then convergence checks. Bounded in time and requests, loopback only; prints N passed, N failed.
#include <signal.h>
#include <unistd.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iostream>
#include <map>
#include <memory>
#include <mutex>
#include <random>
#include <set>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "core/json.hpp"
#include "core/message.hpp"
#include "ledger/ingest.hpp"
#include "migrator/cli.hpp"
#include "pg/connection.hpp"
#include "tests/support/child_process.hpp"
#include "tests/support/cluster.hpp"

using namespace chatledger;
using namespace std::chrono_literals;

namespace {

constexpr int conversations = 40;

struct ledger_log {
    std::mutex mu;
    std::set<std::string> committed;  ///< bodies whose commit was confirmed
    std::set<std::string> maybe;      ///< bodies whose commit outcome is unknown (connection lost)
    void add(const std::string& body, bool confirmed) {
        std::lock_guard lock(mu);
        (confirmed ? committed : maybe).insert(body);
    }
};

pg::connection open_db(const std::string& db) {
    database_config c;
    c.conninfo = "dbname=" + db;
    c.lock_timeout = std::chrono::milliseconds(0);
    return pg::connection::open(c, "chatledger-chaos");
}

std::string key_of(int i) {
    return "k" + std::to_string(i % conversations);
}

/// Runs `body` in a loop until `stop`, reconnecting after errors (restarts are expected).
template <typename F>
std::thread worker(const std::string& db, std::atomic<bool>& stop, F body) {
    return std::thread([db, &stop, body]() mutable {
        std::unique_ptr<pg::connection> c;
        for (long i = 0; !stop; ++i) {
            try {
                if (!c || !c->ok())
                    c = std::make_unique<pg::connection>(open_db(db));
                body(*c, i);
            } catch (const std::exception&) {
                c.reset();
                std::this_thread::sleep_for(100ms);
            }
            std::this_thread::sleep_for(std::chrono::milliseconds(5 + i % 20));
        }
    });
}

/// Prints a post-mortem query's rows, one per line, after the checks' indentation.
void print_rows(const pg::result& r, const char* label) {
    for (int i = 0; i < r.rows(); ++i) {
        std::cout << "       " << label;
        for (int j = 0; j < r.columns(); ++j)
            std::cout << " | " << (r.is_null(i, j) ? "NULL" : std::string(r.text(i, j)));
        std::cout << "\n";
    }
}

int migrate(const std::string& config, const std::string& command, std::string* out = nullptr) {
    std::ostringstream o, e;
    const char* argv[] = {"chatledger-migrate", "--config", config.c_str(), command.c_str()};
    int rc = migrator::run_cli(4, argv, o, e);
    if (out)
        *out = o.str() + e.str();
    return rc;
}

}  // namespace

int main(int argc, char** argv) {
    int seconds = 60;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--seconds")
            seconds = std::atoi(argv[i + 1]);
        if (std::string(argv[i]) == "--minutes")
            seconds = 60 * std::atoi(argv[i + 1]);
    }
    const std::string syncd = CHATLEDGER_SYNCD_BIN;
    const std::string db = "cl_chaos_" + std::to_string(getpid());
    const auto dir = std::filesystem::temp_directory_path() / db;
    std::filesystem::create_directories(dir);
    const std::string config = (dir / "chatledger.yaml").string(),
                      log = (dir / "syncd.log").string();
    std::ofstream(config) << "database:\n  conninfo: \"dbname=" << db
                          << "\"\n  lock_timeout_ms: 300\nlogging:\n  level: info\n"
                             "daemon:\n  poll_interval_ms: 200\n  reconnect_min_ms: 100\n"
                             "  reconnect_max_ms: 1000\n";
    {
        database_config admin;
        admin.conninfo = "dbname=postgres";
        auto a = pg::connection::open(admin, "chatledger-chaos");
        a.exec("creating the chaos database", "CREATE DATABASE " + db);
        auto c = open_db(db);
        c.exec_script(
            "seeding",
            "CREATE TABLE live_chat (zoho_id text PRIMARY KEY, full_name text, "
            "chat_history text, comments text, comments_entered_by text);"
            "INSERT INTO live_chat (zoho_id, full_name, chat_history) "
            "SELECT 'k' || i, 'E' || i, '[{\"sender\":\"seed\",\"message\":\"seed ' || i || "
            "'\"}]' FROM generate_series(0, " +
                std::to_string(conversations - 1) + ") i");
    }
    if (migrate(config, "schema") != 0 || migrate(config, "run") != 0) {
        std::cout << "0 passed, 1 failed\n";
        return 1;
    }
    // The daemon runs as a deployment runs it: a login granted chatledger_daemon only.
    const std::string daemon_login = db + "_daemon";
    const std::string daemon_config = (dir / "syncd.yaml").string();
    {
        auto c = open_db(db);
        c.exec_script(
            "creating the daemon login",
            "CREATE ROLE " + daemon_login + " LOGIN; GRANT chatledger_daemon TO " + daemon_login);
        std::ifstream in(config);
        std::stringstream text;
        text << in.rdbuf();
        std::string yaml = text.str();
        const std::string from = "dbname=" + db + "\"";
        yaml.replace(yaml.find(from), from.size(), "dbname=" + db + " user=" + daemon_login + "\"");
        std::ofstream(daemon_config) << yaml;
    }

    ledger_log written;
    std::atomic<bool> stop{false};
    std::vector<std::thread> threads;
    // Naive read-modify-write legacy writers, as the old dashboard wrote.
    for (int w = 0; w < 2; ++w) {
        threads.push_back(worker(db, stop, [&, w](pg::connection& c, long i) {
            const std::string key = key_of(static_cast<int>(i * 7 + w));
            const std::string body = "rmw" + std::to_string(w) + "-" + std::to_string(i);
            auto h = std::string(
                c.exec("read", "SELECT chat_history FROM live_chat WHERE zoho_id = $1", {key})
                    .text(0, 0));
            auto split = core::split_value(h);
            std::vector<std::string_view> els(split.elements.begin(), split.elements.end());
            const std::string el = R"({"sender":"w","message":")" + body + R"("})";
            els.push_back(el);
            try {
                c.exec("write",
                       "UPDATE live_chat SET chat_history = $2, comments = $3 WHERE zoho_id = $1",
                       {key, core::render_array(els), body});
                written.add(body, true);
            } catch (...) {
                written.add(body, false);
                throw;
            }
        }));
    }
    // A writer that re-serializes the whole array as JSON.parse + JSON.stringify would.
    threads.push_back(worker(db, stop, [&](pg::connection& c, long i) {
        const std::string key = key_of(static_cast<int>(i * 3));
        const std::string body = "reser-" + std::to_string(i);
        auto h = std::string(
            c.exec("read", "SELECT chat_history FROM live_chat WHERE zoho_id = $1", {key})
                .text(0, 0));
        std::vector<std::string> canon;
        for (auto e : core::split_value(h).elements) canon.push_back(core::canonical(e));
        canon.push_back(R"({"message":")" + body + R"(","sender":"r"})");
        std::vector<std::string_view> els(canon.begin(), canon.end());
        try {
            c.exec("write", "UPDATE live_chat SET chat_history = $2 WHERE zoho_id = $1",
                   {key, core::render_array(els)});
            written.add(body, true);
        } catch (...) {
            written.add(body, false);
            throw;
        }
    }));
    // The older write path: only the comment columns.
    threads.push_back(worker(db, stop, [&](pg::connection& c, long i) {
        const std::string body = "comment-" + std::to_string(i);
        try {
            c.exec(
                "comment",
                "UPDATE live_chat SET comments = $2, comments_entered_by = 'cw' WHERE zoho_id = $1",
                {key_of(static_cast<int>(i * 5)), body});
            written.add(body, true);
        } catch (...) {
            written.add(body, false);
            throw;
        }
    }));
    // Applications appending to the ledger.
    threads.push_back(worker(db, stop, [&](pg::connection& c, long i) {
        const std::string body = "app-" + std::to_string(i);
        try {
            c.exec("append",
                   "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ($1, "
                   "'app', $2)",
                   {key_of(static_cast<int>(i)), body});
            written.add(body, true);
        } catch (...) {
            written.add(body, false);
            throw;
        }
    }));

    int faults = 0;
    auto d1 = std::make_unique<testing::child_process>(
        syncd, std::vector<std::string>{"--config", daemon_config}, log);
    std::unique_ptr<testing::child_process> d2;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(seconds);
    for (int step = 0; std::chrono::steady_clock::now() < end; ++step) {
        std::this_thread::sleep_for(3s);
        switch (step % 5) {
            case 0:  // kill -9 a daemon and start it again
                d1.reset();
                d1 = std::make_unique<testing::child_process>(
                    syncd, std::vector<std::string>{"--config", daemon_config}, log);
                break;
            case 1:  // two daemons at once
                d2 = std::make_unique<testing::child_process>(
                    syncd, std::vector<std::string>{"--config", daemon_config}, log);
                break;
            case 2:  // the database restarts under everyone
                if (testing::restart_server() != 0)
                    std::cerr << "chaos: pg_ctl restart failed\n";
                d2.reset();
                break;
            case 4:  // no daemon for a while: the capture queue backs up
                d1.reset();
                d2.reset();
                std::this_thread::sleep_for(3s);
                d1 = std::make_unique<testing::child_process>(
                    syncd, std::vector<std::string>{"--config", daemon_config}, log);
                break;
            case 3: {  // a legacy writer holds a row lock for seconds
                try {
                    auto c = open_db(db);
                    c.exec_script("holding a row lock",
                                  "BEGIN; SELECT 1 FROM live_chat WHERE zoho_id = 'k1' FOR UPDATE; "
                                  "SELECT pg_sleep(2); COMMIT");
                } catch (const std::exception&) {
                }
                break;
            }
        }
        ++faults;
    }
    stop = true;
    for (auto& t : threads) t.join();
    d2.reset();

    // Converge: the queue empties and stays empty.
    auto c = open_db(db);
    bool converged = false;
    // The backlog grows with the run (a sanitizer build syncs several times slower): 60 s, or
    // half the run for a long soak.
    const int drain_polls = 10 * std::max(60, seconds / 2);
    for (int i = 0; i < drain_polls && !converged; ++i) {
        try {
            converged =
                c.exec("queue", "SELECT count(*) FROM chatledger.sync_queue").integer(0, 0) == 0;
        } catch (const std::exception&) {
            c = open_db(db);
        }
        if (!converged)
            std::this_thread::sleep_for(100ms);
    }
    if (!converged) {
        // What every session of the chaos database is doing, for the post-mortem.
        try {
            auto a = c.exec("listing sessions",
                            "SELECT pid, application_name, state, wait_event_type, wait_event, "
                            "now() - xact_start, left(query, 80) FROM pg_stat_activity WHERE "
                            "datname = current_database() AND pid <> pg_backend_pid()");
            print_rows(a, "session");
        } catch (const std::exception& e) {
            std::cout << "       (cannot list sessions: " << e.what() << ")\n";
        }
    }
    std::this_thread::sleep_for(500ms);
    d1.reset();

    int passed = 0, failed = 0;
    auto check = [&](bool ok, const std::string& what) {
        std::cout << (ok ? "ok     " : "FAILED ") << what << "\n";
        (ok ? passed : failed)++;
    };
    check(converged, "the daemon drained the queue after the faults");
    long long confirmed = 0, lost = 0, duplicated = 0, maybe_dup = 0;
    std::map<std::string, long long> in_ledger;
    auto bodies = c.exec("counting bodies",
                         "SELECT body, count(*) FROM chatledger.chat_messages GROUP BY body");
    for (int i = 0; i < bodies.rows(); ++i)
        in_ledger[std::string(bodies.text(i, 0))] = bodies.integer(i, 1);
    for (const auto& body : written.committed) {
        ++confirmed;
        const long long n = in_ledger.count(body) ? in_ledger[body] : 0;
        if (n == 0)
            ++lost;
        if (n > 1)
            ++duplicated;
    }
    for (const auto& body : written.maybe)
        if (in_ledger.count(body) && in_ledger[body] > 1)
            ++maybe_dup;
    check(lost == 0, "every committed message is in the ledger (" + std::to_string(confirmed) +
                         " committed, " + std::to_string(lost) + " lost)");
    check(duplicated == 0 && maybe_dup == 0, "no message is in the ledger twice (" +
                                                 std::to_string(duplicated + maybe_dup) +
                                                 " duplicated)");
    if (duplicated + maybe_dup > 0) {
        // The rows themselves, for the post-mortem: which paths appended each copy, and when.
        auto rows = c.exec("listing duplicates",
                           "SELECT id, zoho_id, source, author, body, sent_at, created_at, "
                           "payload::text FROM chatledger.chat_messages WHERE body IN (SELECT "
                           "body FROM chatledger.chat_messages GROUP BY body HAVING count(*) > 1) "
                           "ORDER BY body, id LIMIT 40");
        print_rows(rows, "duplicate");
    }
    std::string verify_out;
    check(migrate(config, "verify", &verify_out) == 0, "chatledger-migrate verify is clean");
    auto cols = c.exec("comments",
                       "SELECT count(*) FROM live_chat l, LATERAL (SELECT body, author FROM "
                       "chatledger.chat_messages m "
                       "WHERE m.zoho_id = l.zoho_id ORDER BY id DESC LIMIT 1) last "
                       "WHERE l.comments IS DISTINCT FROM last.body OR l.comments_entered_by IS "
                       "DISTINCT FROM last.author");
    check(cols.integer(0, 0) == 0, "the comment columns hold the latest message");
    auto dup = c.exec(
        "backups",
        "SELECT count(*) FROM (SELECT 1 FROM chat_history_backup GROUP BY zoho_id, operation_type, "
        "backup_timestamp, chat_history_backup HAVING count(*) > 1) d");
    check(dup.integer(0, 0) == 0, "no duplicate backup rows");
    std::cout << "faults injected: " << faults << ", seconds: " << seconds
              << ", writes committed: " << confirmed
              << ", outcome unknown: " << written.maybe.size() << ", messages lost: " << lost
              << "\n";

    if (failed == 0) {
        database_config admin;
        admin.conninfo = "dbname=postgres";
        auto a = pg::connection::open(admin, "chatledger-chaos");
        a.exec("dropping the chaos database", "DROP DATABASE IF EXISTS " + db + " WITH (FORCE)");
        a.exec("dropping the daemon login", "DROP ROLE IF EXISTS " + daemon_login);
    } else {
        std::cout << "database kept for inspection: " << db << "\n";
    }
    if (failed == 0)
        std::filesystem::remove_all(dir);
    else
        std::cout << "daemon log: " << log << "\n";
    std::cout << passed << " passed, " << failed << " failed\n";
    return failed == 0 ? 0 : 1;
}

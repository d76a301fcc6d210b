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

/// What the run was asked for and where it keeps its things. Each component logs in as
/// CONTRACT section 7 deploys it; only the database and the DBA login are the superuser's work.
struct options {
    int seconds = 60;
    std::string db;             ///< the chaos database, named after the process
    std::filesystem::path dir;  ///< holds the configuration and the daemon log
    std::string config, log;    ///< the DBA's configuration (schema, run, verify)
    std::string dba_login;      ///< CREATEROLE, CREATE on the database, owns crm.live_chat
    std::string daemon_login;   ///< granted chatledger_daemon only, as deployments do
    std::string app_login;      ///< granted chatledger_writer only
    std::string legacy_login;   ///< privileges on crm.live_chat only
    std::string daemon_config;  ///< the configuration the daemons log in with
};

/// libpq conninfo of the chaos database as `login` (no superuser).
std::string conninfo_as(const options& o, const std::string& login) {
    return "dbname=" + o.db + " user=" + login;
}

/// The checks' session: the DBA, with crm on its search_path so their SQL may say live_chat.
std::string checker(const options& o) {
    return conninfo_as(o, o.dba_login) + " options='-c search_path=crm,public'";
}

/// What the run did and found; passed and failed make the last line CI reads.
struct results {
    int faults = 0;
    long long confirmed = 0, lost = 0;
    int passed = 0, failed = 0;

    void check(bool ok, const std::string& what) {
        std::cout << (ok ? "ok     " : "FAILED ") << what << "\n";
        (ok ? passed : failed)++;
    }
};

struct ledger_log {
    std::mutex mu;
    std::set<std::string> committed;  ///< bodies whose commit was confirmed
    std::set<std::string> maybe;      ///< bodies whose commit outcome is unknown (connection lost)
    void add(const std::string& body, bool confirmed) {
        std::lock_guard lock(mu);
        (confirmed ? committed : maybe).insert(body);
    }
};

/// Runs `write` and logs `body` as committed, or, when it throws, as of unknown outcome: a lost
/// connection can hide a commit, so such a body may be in the ledger but must not be twice.
template <typename F>
void record_write(ledger_log& written, const std::string& body, F write) {
    try {
        write();
        written.add(body, true);
    } catch (...) {
        written.add(body, false);
        throw;
    }
}

pg::connection open_as(const std::string& conninfo) {
    database_config c;
    c.conninfo = conninfo;
    c.lock_timeout = std::chrono::milliseconds(0);
    return pg::connection::open(c, "chatledger-chaos");
}

pg::connection open_admin() {
    database_config admin;
    admin.conninfo = "dbname=postgres";
    return pg::connection::open(admin, "chatledger-chaos");
}

std::string key_of(int i) {
    return "k" + std::to_string(i % conversations);
}

/// Runs `body` in a session of `conninfo` in a loop until `stop`, reconnecting after errors
/// (restarts are expected).
template <typename F>
std::thread worker(const std::string& conninfo, std::atomic<bool>& stop, F body) {
    return std::thread([conninfo, &stop, body]() mutable {
        std::unique_ptr<pg::connection> c;
        for (long i = 0; !stop; ++i) {
            try {
                if (!c || !c->ok())
                    c = std::make_unique<pg::connection>(open_as(conninfo));
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

options parse_options(int argc, char** argv) {
    options o;
    for (int i = 1; i + 1 < argc; ++i) {
        if (std::string(argv[i]) == "--seconds")
            o.seconds = std::atoi(argv[i + 1]);
        if (std::string(argv[i]) == "--minutes")
            o.seconds = 60 * std::atoi(argv[i + 1]);
    }
    o.db = "cl_chaos_" + std::to_string(getpid());
    o.dir = std::filesystem::temp_directory_path() / o.db;
    o.config = (o.dir / "chatledger.yaml").string();
    o.log = (o.dir / "syncd.log").string();
    o.dba_login = o.db + "_dba";
    o.daemon_login = o.db + "_daemon";
    o.app_login = o.db + "_app";
    o.legacy_login = o.db + "_legacy";
    o.daemon_config = (o.dir / "syncd.yaml").string();
    return o;
}

/// The configuration logging in as `login`, the legacy side in crm.
std::string config_for(const options& o, const std::string& login) {
    return "database:\n  conninfo: \"" + conninfo_as(o, login) +
           "\"\n  lock_timeout_ms: 300\nlegacy:\n  table: crm.live_chat\nbackup:\n  table: "
           "crm.chat_history_backup\nlogging:\n  level: info\n"
           "daemon:\n  poll_interval_ms: 200\n  reconnect_min_ms: 100\n"
           "  reconnect_max_ms: 1000\n";
}

/// A conversation whose sync always fails: a broken audit trigger the DBA created refuses every
/// UPDATE of its legacy row. Only applications append to it (legacy writers could not either).
const std::string poison_key = "poison";
/// A conversation a legacy writer keeps giving the same comment-only write (CONTRACT section 4).
const std::string repeat_key = "repeat";
const std::string repeat_words = "ok";

void seed_special_conversations(pg::connection& c) {
    c.exec_script("seeding the poison and repeated-comment conversations",
                  "INSERT INTO crm.live_chat (zoho_id, full_name, chat_history) VALUES ('" +
                      poison_key + "', 'P', '[]'), ('" + repeat_key + "', 'R', '[]')");
}

/// Creates (on) or drops (off) the trigger that makes the poison conversation unsyncable:
/// the DBA's, as the legacy table's owner.
void poison(pg::connection c, bool on) {
    if (!on) {
        c.exec_script(
            "dropping the poison trigger",
            "DROP TRIGGER refuse_poison ON crm.live_chat; DROP FUNCTION crm.refuse_poison()");
        return;
    }
    c.exec_script(
        "creating the poison trigger",
        "CREATE FUNCTION crm.refuse_poison() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
        "IF NEW.zoho_id = '" +
            poison_key +
            "' THEN RAISE EXCEPTION 'chaos audit refuses this row' USING HINT = "
            "'a broken audit trigger'; END IF; RETURN NEW; END $$; "
            "CREATE TRIGGER refuse_poison BEFORE UPDATE ON crm.live_chat FOR EACH ROW "
            "EXECUTE FUNCTION crm.refuse_poison()");
}

/// Creates and seeds the chaos database as docs/operations.md deploys one, then migrates it as
/// the DBA; false when the migration failed.
bool set_up(const options& o) {
    std::filesystem::create_directories(o.dir);
    std::ofstream(o.config) << config_for(o, o.dba_login);
    std::ofstream(o.daemon_config) << config_for(o, o.daemon_login);
    {
        // The superuser's part: the database and the DBA login, no more.
        auto a = open_admin();
        a.exec("creating the chaos database", "CREATE DATABASE " + o.db);
        a.exec_script("creating the DBA login", "CREATE ROLE " + o.dba_login +
                                                    " LOGIN CREATEROLE; GRANT CREATE ON DATABASE " +
                                                    o.db + " TO " + o.dba_login);
        // The DBA's: the CRM's schema, table and legacy writers' login.
        auto c = open_as(conninfo_as(o, o.dba_login));
        c.exec_script(
            "seeding",
            "CREATE SCHEMA crm; CREATE TABLE crm.live_chat (zoho_id text PRIMARY KEY, "
            "full_name text, chat_history text, comments text, comments_entered_by text);"
            "INSERT INTO crm.live_chat (zoho_id, full_name, chat_history) "
            "SELECT 'k' || i, 'E' || i, '[{\"sender\":\"seed\",\"message\":\"seed ' || i || "
            "'\"}]' FROM generate_series(0, " +
                std::to_string(conversations - 1) + ") i; CREATE ROLE " + o.legacy_login +
                " LOGIN; ALTER ROLE " + o.legacy_login +
                " SET search_path = crm, public; GRANT USAGE ON SCHEMA crm TO " + o.legacy_login +
                "; GRANT SELECT, INSERT, UPDATE, DELETE ON crm.live_chat TO " + o.legacy_login);
        seed_special_conversations(c);
    }
    if (migrate(o.config, "schema") != 0 || migrate(o.config, "run") != 0)
        return false;
    poison(open_as(conninfo_as(o, o.dba_login)), true);
    // The DBA gives the daemon and the applications one login each, holding one role.
    auto c = open_as(conninfo_as(o, o.dba_login));
    c.exec_script("creating the daemon and application logins",
                  "CREATE ROLE " + o.daemon_login + " LOGIN; GRANT chatledger_daemon TO " +
                      o.daemon_login + "; CREATE ROLE " + o.app_login +
                      " LOGIN; GRANT chatledger_writer TO " + o.app_login);
    return true;
}

/// How often the repeated comment-only write committed (each must be one ledger message).
struct repeat_log {
    std::atomic<long long> committed{0}, maybe{0};
};

/// An application appending to the ledger as its own login: body `prefix` + i, to the
/// conversation `key_for(i)` names; every append is recorded for the end checks.
template <typename K>
std::thread app_appender(const std::string& app, std::atomic<bool>& stop, ledger_log& written,
                         std::string prefix, K key_for) {
    return worker(app, stop, [&written, prefix, key_for](pg::connection& c, long i) {
        const std::string body = prefix + std::to_string(i);
        record_write(written, body, [&] {
            c.exec("append",
                   "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ($1, "
                   "'app', $2)",
                   {key_for(i), body});
        });
    });
}

/// The writers of the poison and the repeated-comment conversations.
void start_special_writers(const options& o, std::atomic<bool>& stop, ledger_log& written,
                           repeat_log& repeats, std::vector<std::thread>& threads) {
    const std::string legacy = conninfo_as(o, o.legacy_login), app = conninfo_as(o, o.app_login);
    // Applications keep appending to the poison conversation: events the daemon cannot sync.
    threads.push_back(
        app_appender(app, stop, written, "poison-app-", [](long) { return poison_key; }));
    // The same words by the same author again and again, history untouched: each write that
    // changes the comment columns is a message of its own. An application's append in between
    // makes the daemon render something else there, so the next write changes them again.
    threads.push_back(worker(legacy, stop, [&repeats](pg::connection& c, long) {
        try {
            const auto n = c.exec("repeated comment",
                                  "UPDATE live_chat SET comments = $2, comments_entered_by = "
                                  "'carol' WHERE zoho_id = $1 AND (comments, comments_entered_by) "
                                  "IS DISTINCT FROM ($2, 'carol')",
                                  {repeat_key, repeat_words})
                               .affected();
            repeats.committed += n;
        } catch (...) {
            ++repeats.maybe;
            throw;
        }
    }));
    // An application's appends in between, as its own login.
    threads.push_back(
        app_appender(app, stop, written, "repeat-app-", [](long) { return repeat_key; }));
}

/// Starts every kind of writer the legacy table and the ledger see in production, each as its
/// own login.
std::vector<std::thread> start_writers(const options& o, std::atomic<bool>& stop,
                                       ledger_log& written, repeat_log& repeats) {
    std::vector<std::thread> threads;
    const std::string legacy = conninfo_as(o, o.legacy_login), app = conninfo_as(o, o.app_login);
    // Naive read-modify-write legacy writers, as the old dashboard wrote.
    for (int w = 0; w < 2; ++w) {
        threads.push_back(worker(legacy, stop, [&written, w](pg::connection& c, long i) {
            const std::string key = key_of(static_cast<int>(i * 7 + w));
            const std::string body = "rmw" + std::to_string(w) + "-" + std::to_string(i);
            auto h = std::string(
                c.exec("read", "SELECT chat_history FROM live_chat WHERE zoho_id = $1", {key})
                    .text(0, 0));
            auto split = core::split_value(h);
            std::vector<std::string_view> els(split.elements.begin(), split.elements.end());
            const std::string el = R"({"sender":"w","message":")" + body + R"("})";
            els.push_back(el);
            record_write(written, body, [&] {
                c.exec("write",
                       "UPDATE live_chat SET chat_history = $2, comments = $3 WHERE zoho_id = $1",
                       {key, core::render_array(els), body});
            });
        }));
    }
    // A writer that re-serializes the whole array as JSON.parse + JSON.stringify would.
    threads.push_back(worker(legacy, stop, [&written](pg::connection& c, long i) {
        const std::string key = key_of(static_cast<int>(i * 3));
        const std::string body = "reser-" + std::to_string(i);
        auto h = std::string(
            c.exec("read", "SELECT chat_history FROM live_chat WHERE zoho_id = $1", {key})
                .text(0, 0));
        std::vector<std::string> canon;
        for (auto e : core::split_value(h).elements) canon.push_back(core::canonical(e));
        canon.push_back(R"({"message":")" + body + R"(","sender":"r"})");
        std::vector<std::string_view> els(canon.begin(), canon.end());
        record_write(written, body, [&] {
            c.exec("write", "UPDATE live_chat SET chat_history = $2 WHERE zoho_id = $1",
                   {key, core::render_array(els)});
        });
    }));
    // The older write path: only the comment columns.
    threads.push_back(worker(legacy, stop, [&written](pg::connection& c, long i) {
        const std::string body = "comment-" + std::to_string(i);
        record_write(written, body, [&] {
            c.exec(
                "comment",
                "UPDATE live_chat SET comments = $2, comments_entered_by = 'cw' WHERE zoho_id = $1",
                {key_of(static_cast<int>(i * 5)), body});
        });
    }));
    start_special_writers(o, stop, written, repeats, threads);
    // Applications appending to the ledger.
    threads.push_back(app_appender(app, stop, written, "app-",
                                   [](long i) { return key_of(static_cast<int>(i)); }));
    return threads;
}

/// The daemons under test: `first` runs throughout (restarted), `second` only at times.
struct daemons {
    std::unique_ptr<testing::child_process> first, second;
};

std::unique_ptr<testing::child_process> start_daemon(const options& o) {
    return std::make_unique<testing::child_process>(
        CHATLEDGER_SYNCD_BIN, std::vector<std::string>{"--config", o.daemon_config}, o.log);
}

/// Injects one fault every 3 s, in turn, for the run's length; returns how many.
int inject_faults(const options& o, daemons& d) {
    int faults = 0;
    const auto end = std::chrono::steady_clock::now() + std::chrono::seconds(o.seconds);
    for (int step = 0; std::chrono::steady_clock::now() < end; ++step) {
        std::this_thread::sleep_for(3s);
        switch (step % 5) {
            case 0:  // kill -9 a daemon and start it again
                d.first.reset();
                d.first = start_daemon(o);
                break;
            case 1:  // two daemons at once
                d.second = start_daemon(o);
                break;
            case 2:  // the database restarts under everyone
                if (testing::restart_server() != 0)
                    std::cerr << "chaos: pg_ctl restart failed\n";
                d.second.reset();
                break;
            case 4:  // no daemon for a while: the capture queue backs up
                d.first.reset();
                d.second.reset();
                std::this_thread::sleep_for(3s);
                d.first = start_daemon(o);
                break;
            case 3: {  // a legacy writer holds a row lock for seconds
                try {
                    auto c = open_as(conninfo_as(o, o.legacy_login));
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
    return faults;
}

/// Waits for the queue to empty; on a timeout lists what every session is doing.
bool drain_queue(pg::connection& c, const options& o) {
    bool converged = false;
    // The backlog grows with the run (a sanitizer build syncs several times slower): 60 s, or
    // half the run for a long soak.
    const int drain_polls = 10 * std::max(60, o.seconds / 2);
    for (int i = 0; i < drain_polls && !converged; ++i) {
        try {
            // The poison conversation's events stay queued: the others must not wait for it.
            converged =
                c.exec("queue", "SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id <> $1",
                       {poison_key})
                    .integer(0, 0) == 0;
        } catch (const std::exception&) {
            c = open_as(checker(o));
        }
        if (!converged)
            std::this_thread::sleep_for(100ms);
    }
    if (!converged) {
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
    return converged;
}

/// Every body confirmed committed is in the ledger, and no body is there twice.
void check_ledger(pg::connection& c, const ledger_log& written, results& r) {
    long long duplicated = 0, maybe_dup = 0;
    std::map<std::string, long long> in_ledger;
    auto bodies = c.exec("counting bodies",
                         "SELECT body, count(*) FROM chatledger.chat_messages GROUP BY body");
    for (int i = 0; i < bodies.rows(); ++i)
        in_ledger[std::string(bodies.text(i, 0))] = bodies.integer(i, 1);
    for (const auto& body : written.committed) {
        ++r.confirmed;
        const long long n = in_ledger.count(body) ? in_ledger[body] : 0;
        if (n == 0)
            ++r.lost;
        if (n > 1)
            ++duplicated;
    }
    for (const auto& body : written.maybe)
        if (in_ledger.count(body) && in_ledger[body] > 1)
            ++maybe_dup;
    r.check(r.lost == 0, "every committed message is in the ledger (" +
                             std::to_string(r.confirmed) + " committed, " + std::to_string(r.lost) +
                             " lost)");
    r.check(duplicated == 0 && maybe_dup == 0, "no message is in the ledger twice (" +
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
}

/// What the legacy side shows agrees with the ledger: verify, the comment columns, the backups.
void check_legacy(pg::connection& c, const options& o, results& r) {
    std::string verify_out;
    r.check(migrate(o.config, "verify", &verify_out) == 0, "chatledger-migrate verify is clean");
    auto cols = c.exec("comments",
                       "SELECT count(*) FROM live_chat l, LATERAL (SELECT body, author FROM "
                       "chatledger.chat_messages m "
                       "WHERE m.zoho_id = l.zoho_id ORDER BY id DESC LIMIT 1) last "
                       "WHERE l.comments IS DISTINCT FROM last.body OR l.comments_entered_by IS "
                       "DISTINCT FROM last.author");
    r.check(cols.integer(0, 0) == 0, "the comment columns hold the latest message");
    auto dup = c.exec(
        "backups",
        "SELECT count(*) FROM (SELECT 1 FROM chat_history_backup GROUP BY zoho_id, operation_type, "
        "backup_timestamp, chat_history_backup HAVING count(*) > 1) d");
    r.check(dup.integer(0, 0) == 0, "no duplicate backup rows");
}

/// The poison conversation was set aside, never consumed, while every other one converged: its
/// events are still queued and `status` names it (from sync_failures).
void check_poison_set_aside(pg::connection& c, const options& o, results& r) {
    const long long queued =
        c.exec("poison queue", "SELECT count(*) FROM chatledger.sync_queue WHERE zoho_id = $1",
               {poison_key})
            .integer(0, 0);
    std::string status;
    const int rc = migrate(o.config, "status", &status);
    const bool named = status.find("cannot sync " + poison_key + ":") != std::string::npos;
    r.check(queued > 0 && rc == 1 && named,
            "the poison conversation is set aside and status names it (" + std::to_string(queued) +
                " events kept, status exit " + std::to_string(rc) + ")");
    if (!named)
        std::cout << status;
}

/// The DBA drops the broken trigger; one --once pass syncs the poison conversation too.
void heal_poison(pg::connection& c, const options& o, results& r) {
    poison(open_as(conninfo_as(o, o.dba_login)), false);
    testing::child_process once(CHATLEDGER_SYNCD_BIN, {"--config", o.daemon_config, "--once"},
                                o.log);
    const int rc = once.wait_exit(120s);
    const long long left =
        c.exec("queue", "SELECT count(*) FROM chatledger.sync_queue").integer(0, 0);
    r.check(rc == 0 && left == 0,
            "once the trigger is dropped, --once syncs the poison "
            "conversation (exit " +
                std::to_string(rc) + ", " + std::to_string(left) + " events left)");
}

/// Each repeated comment-only write is one ledger message: none dropped as a repeat of an
/// earlier one, none twice.
void check_repeats(pg::connection& c, const repeat_log& repeats, results& r) {
    const long long in_ledger =
        c.exec("repeats",
               "SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = $1 AND body = $2",
               {repeat_key, repeat_words})
            .integer(0, 0);
    const long long committed = repeats.committed, maybe = repeats.maybe;
    r.check(committed > 1 && in_ledger >= committed && in_ledger <= committed + maybe,
            "each repeated comment-only write is one message (" + std::to_string(committed) +
                " committed, " + std::to_string(maybe) + " unknown, " + std::to_string(in_ledger) +
                " in the ledger)");
}

/// Drops the database and the files after a clean run; keeps both for inspection otherwise.
void clean_up(const options& o, const results& r) {
    if (r.failed == 0) {
        auto a = open_admin();
        a.exec("dropping the chaos database", "DROP DATABASE IF EXISTS " + o.db + " WITH (FORCE)");
        for (const auto* login : {&o.daemon_login, &o.app_login, &o.legacy_login, &o.dba_login})
            a.exec("dropping a login", "DROP ROLE IF EXISTS " + *login);
        std::filesystem::remove_all(o.dir);
    } else {
        std::cout << "database kept for inspection: " << o.db << "\n";
        std::cout << "daemon log: " << o.log << "\n";
    }
}

}  // namespace

int main(int argc, char** argv) {
    const options o = parse_options(argc, argv);
    if (!set_up(o)) {
        std::cout << "0 passed, 1 failed\n";
        return 1;
    }

    ledger_log written;
    repeat_log repeats;
    std::atomic<bool> stop{false};
    auto writers = start_writers(o, stop, written, repeats);
    results r;
    daemons d;
    d.first = start_daemon(o);
    r.faults = inject_faults(o, d);
    stop = true;
    for (auto& t : writers) t.join();
    d.second.reset();

    auto c = open_as(checker(o));
    const bool converged = drain_queue(c, o);
    std::this_thread::sleep_for(500ms);
    r.check(converged, "the daemon drained every other conversation's queue after the faults");
    check_poison_set_aside(c, o, r);
    d.first.reset();
    heal_poison(c, o, r);

    check_ledger(c, written, r);
    check_legacy(c, o, r);
    check_repeats(c, repeats, r);
    std::cout << "faults injected: " << r.faults << ", seconds: " << o.seconds
              << ", writes committed: " << r.confirmed
              << ", outcome unknown: " << written.maybe.size() << ", messages lost: " << r.lost
              << "\n";
    clean_up(o, r);
    std::cout << r.passed << " passed, " << r.failed << " failed\n";
    return r.failed == 0 ? 0 : 1;
}

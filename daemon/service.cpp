// Event loop of chatledger-syncd. Signals arrive on a signalfd and are acted on between two
// conversation transactions, so SIGTERM finishes the current transaction and exits promptly.
#include "daemon/service.hpp"

#include <poll.h>
#include <unistd.h>

#include <spdlog/spdlog.h>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <random>

#include "config/error.hpp"
#include "config/logging.hpp"
#include "config/progress.hpp"
#include "daemon/metrics.hpp"
#include "daemon/metrics_server.hpp"
#include "daemon/sync_repository.hpp"
#include "daemon/syncer.hpp"
#include "daemon/workers.hpp"
#include "schema/apply.hpp"
#include "schema/steps.hpp"

namespace chatledger::daemon {

using clock = std::chrono::steady_clock;

namespace {

/// How often the queue is polled when notifications do not reach the daemon.
constexpr std::chrono::milliseconds pooled_poll_interval{100};

/// How long after its last work the daemon keeps polling the whole queue every 10 ms: legacy
/// writers skip NOTIFY within 500 ms of their last one (step 0010's wake()).
constexpr std::chrono::seconds recently_busy{1};

std::string hostname() {
    char buf[256] = {};
    gethostname(buf, sizeof buf - 1);
    return buf;
}

/// A login the daemon will not run as: ends the daemon (exit 2) instead of being retried.
class login_refused : public config_error {
  public:
    using config_error::config_error;
};

/// Behind a transaction pooler the LISTEN stayed on a pooled server connection, and every
/// client the pooler links to it would receive the wake-ups: UNLISTEN there. The pooler hands
/// out its most recently used idle connection first, so the first try reaches it as a rule.
/// A LISTEN in the connection's own server process (a direct connection whose probe was merely
/// slow) stays: it still wakes the daemon.
void drop_pooled_listen(pg::connection& conn, sync_repository& repo, int listener) {
    if (listener == PQbackendPID(conn.native()))
        return;
    for (int attempt = 0; attempt < 20; ++attempt)
        if (repo.unlisten() == listener)
            return;
    spdlog::warn(
        "could not reach the pooled server connection (process {}) that holds this daemon's "
        "LISTEN: clients the pooler links to it receive the ledger's wake-up notifications "
        "HINT: give the daemon a direct connection to PostgreSQL; see docs/operations.md",
        listener);
}

/// A superuser bypasses every grant and can be made to run anything by a trigger on the legacy
/// table, which fires with the daemon's privileges; the daemon therefore refuses one outright.
void refuse_superuser(sync_repository& repo, const config& cfg) {
    const auto login = repo.session_login();
    if (!login.superuser)
        return;
    const auto daemon_role = schema::roles_for(cfg).daemon;
    // Quoted only where SQL needs it, so the hint reads as the GRANT an operator would type.
    const auto& n = daemon_role.name();
    const bool plain = !n.empty() && !std::isdigit(static_cast<unsigned char>(n[0])) &&
                       std::all_of(n.begin(), n.end(), [](char c) {
                           return (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '_';
                       });
    const std::string role = plain ? n : daemon_role.quoted();
    throw login_refused("refusing to run as superuser " + login.name +
                            ": triggers on the legacy table would run with superuser rights",
                        "log in as a role granted only " + role + ": CREATE ROLE syncd LOGIN; " +
                            "GRANT " + role + " TO syncd; and name it in database.conninfo");
}

/// The daemon's queries need the newest schema steps; say how to get them.
void require_current_schema(pg::connection& conn, const config& cfg) {
    if (schema::schema_version(conn, cfg) < schema::latest_schema_version())
        throw config_error(
            "the ledger schema " + cfg.ledger.schema.name() + " is missing or out of date",
            "run: chatledger-migrate --config FILE schema");
}

}  // namespace

service::service(std::string config_path, config cfg, signal_source& signals, notifier& notify)
    : config_path_(std::move(config_path)),
      cfg_(std::move(cfg)),
      signals_(signals),
      notify_(notify),
      metrics_(std::make_unique<metrics>(
          hostname() + ":" + std::to_string(getpid()),
          std::chrono::duration<double>(std::chrono::system_clock::now().time_since_epoch())
              .count())),
      memory_(std::make_shared<render_memory>()) {}

service::~service() = default;

void service::reload() {
    if (config_path_.empty()) {
        spdlog::info("SIGHUP: no --config file to reload; keeping the built-in defaults");
        return;
    }
    try {
        // Parse the whole new file before touching anything: a bad one changes nothing.
        config fresh = load_config(config_path_);
        // Bind a changed metrics address before the swap: a port in use refuses the new file.
        std::unique_ptr<metrics_server> fresh_server;
        const bool new_endpoint = fresh.daemon.metrics_listen != cfg_.daemon.metrics_listen;
        if (new_endpoint && !fresh.daemon.metrics_listen.empty()) {
            server_.reset();  // the same port under another spelling must not collide
            try {
                fresh_server = start_metrics(fresh);
            } catch (const error&) {
                server_ = start_metrics(cfg_);
                throw;
            }
        }
        setup_logging(fresh.logging, "chatledger-syncd");
        const bool reconnect =
            fresh.database.conninfo != cfg_.database.conninfo ||
            fresh.database.lock_timeout != cfg_.database.lock_timeout ||
            fresh.database.statement_timeout != cfg_.database.statement_timeout ||
            fresh.ledger.schema != cfg_.ledger.schema || worker_count(fresh) != worker_count(cfg_);
        cfg_ = std::move(fresh);
        if (new_endpoint)
            server_ = std::move(fresh_server);
        reconnect_ = reconnect_ || reconnect;
        spdlog::info("configuration reloaded from {}{}", config_path_,
                     reconnect ? "; reconnecting" : "");
    } catch (const error& e) {
        spdlog::error("configuration reload failed, keeping the previous one: {}", e.line());
    }
}

void service::handle_signal(signal_event ev) {
    if (ev == signal_event::terminate) {
        if (!stop_)
            spdlog::info("stopping: finishing the current transaction");
        stop_ = true;
        notify_.stopping();
    } else if (ev == signal_event::reload) {
        // During a round the workers read the configuration: reload once it is over.
        if (in_round_)
            reload_asked_ = true;
        else
            reload();
    }
}

bool service::between_conversations() {
    pollfd pfd{signals_.fd(), POLLIN, 0};
    if (poll(&pfd, 1, 0) > 0)
        handle_signal(signals_.read());
    return !stop_ && !reconnect_;
}

void service::run_round(worker_pool& pool, const std::vector<std::string>& keys,
                        worker_session& own, const worker_pool::job& work) {
    in_round_ = true;
    try {
        pool.run(keys, own, work, [this] { return between_conversations(); });
    } catch (...) {
        in_round_ = false;
        throw;
    }
    in_round_ = false;
    if (std::exchange(reload_asked_, false))
        reload();
}

bool service::wait_backoff(std::chrono::milliseconds delay) {
    const auto until = clock::now() + delay;
    while (!stop_) {
        auto left = std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
        if (left.count() <= 0)
            return true;
        if (auto wd = notify_.watchdog_interval())
            left = std::min(left, std::chrono::duration_cast<std::chrono::milliseconds>(*wd));
        pollfd pfd{signals_.fd(), POLLIN, 0};
        poll(&pfd, 1, static_cast<int>(left.count()));
        notify_.watchdog();
        if (pfd.revents & POLLIN)
            handle_signal(signals_.read());
    }
    return false;
}

void service::check_capture(pg::connection& conn) {
    auto problem = schema::capture_trigger_problem(conn, cfg_);
    metrics_->set_capture_ok(!problem);
    const auto now = clock::now();
    if (problem) {
        // At once when it turns wrong; then once a minute, so a long outage does not flood.
        if (problem != capture_problem_ || now - capture_logged_ >= std::chrono::minutes(1)) {
            spdlog::error(
                "{} HINT: run: chatledger-migrate --config FILE schema, as the DBA, "
                "which restores it; then chatledger-syncd --once to reconcile what "
                "was written meanwhile",
                *problem);
            capture_logged_ = now;
        }
    } else if (capture_problem_) {
        spdlog::info("the capture trigger on {} is back in place", cfg_.legacy.table.display());
    }
    capture_problem_ = std::move(problem);
}

void service::warn_foreign_triggers(pg::connection& conn) {
    const auto others = schema::foreign_triggers(conn, cfg_);
    if (others.empty())
        return;
    std::string list;
    for (const auto& o : others) list += (list.empty() ? "" : ", ") + o;
    spdlog::warn(
        "legacy table {} also has {}: the daemon's rewrites fire them with its login's "
        "privileges; make sure each is one you trust",
        cfg_.legacy.table.display(), list);
}

service::sync_result service::sync_one(syncer& s, sync_repository& repo,
                                       const std::string& zoho_id) {
    try {
        const auto outcome = s.sync(zoho_id);
        metrics_->record(outcome);
        if (outcome.without_legacy_row && outcome.events > 0)
            report_without_legacy_row(repo, zoho_id, outcome.events);
    } catch (const pg::lock_not_available& e) {
        metrics_->record_lock_timeout();
        // A legacy writer holds the row: leave the events queued and come back later.
        spdlog::debug("{}: {}", zoho_id, e.line());
        return sync_result::locked;
    } catch (const pg::connection_error&) {
        throw;  // nothing wrong with the conversation: reconnect and carry on
    } catch (const pg::server_unavailable&) {
        throw;
    } catch (const pg::db_error& e) {
        set_aside_failure(repo, zoho_id, e.sqlstate(), e.line());
        return sync_result::failed;
    } catch (const error& e) {
        set_aside_failure(repo, zoho_id, "", e.line());
        return sync_result::failed;
    } catch (const std::exception& e) {
        // bad_alloc, a value the core cannot handle: the transaction was rolled back.
        set_aside_failure(repo, zoho_id, "", e.what());
        return sync_result::failed;
    }
    std::optional<int> failures;
    long long left = 0;
    {
        std::lock_guard lock(aside_mutex_);
        failures = aside_.succeeded(zoho_id);
        left = static_cast<long long>(aside_.entries().size());
    }
    if (failures) {
        repo.clear_failure(zoho_id);
        metrics_->set_set_aside(left);
        log_with_fields(
            spdlog::level::info, "synced again",
            fmt::format("synced {} again after {} failed attempt(s)", zoho_id, *failures),
            {{"zoho_id", zoho_id}, {"failures", static_cast<long long>(*failures)}});
    }
    return sync_result::synced;
}

bool service::notifications_reach(pg::connection& conn) {
    const std::string payload = "probe " + metrics_->instance() + " " +
                                std::to_string(clock::now().time_since_epoch().count());
    {
        // Another session: a NOTIFY from the listening session itself would come back on that
        // same server connection even through a pooler.
        auto other =
            pg::connection::open(cfg_.database, cfg_.database.application_name + " syncd probe");
        sync_repository(other, cfg_).notify(payload);
    }
    const auto until = clock::now() + std::chrono::seconds(1);
    bool seen = false;
    while (!seen && clock::now() < until) {
        const auto left =
            std::chrono::duration_cast<std::chrono::milliseconds>(until - clock::now());
        pollfd pfd{PQsocket(conn.native()), POLLIN, 0};
        poll(&pfd, 1, static_cast<int>(std::max<long long>(left.count(), 0)));
        if (PQconsumeInput(conn.native()) == 0)
            throw pg::connection_error("the connection to the server was lost", "08006");
        while (PGnotify* n = PQnotifies(conn.native())) {
            seen = seen || payload == n->extra;
            PQfreemem(n);
        }
    }
    return seen;
}

void service::report_without_legacy_row(sync_repository& repo, const std::string& zoho_id,
                                        long long events) {
    // Ledger rows under a key no legacy row has are kept, but no dashboard shows them: an
    // application appending under the key spelled otherwise must hear about it. Counted once
    // said, so whoever sees the count finds the line.
    const auto like = repo.legacy_key_equal_to(zoho_id);
    spdlog::warn(
        "{} event(s) for '{}' consumed without rendering: legacy table {} has no row "
        "whose {} reads '{}'{} HINT: {}",
        events, zoho_id, cfg_.legacy.table.display(), cfg_.legacy.key_column.name(), zoho_id,
        like ? ", but has '" + *like + "'" : std::string(),
        like ? "append under '" + *like +
                   "', the key as the legacy table spells it (its ::text form)"
             : "append under the key of an existing legacy row, or insert that row "
               "first; the ledger keeps these messages under the key given");
    metrics_->record_without_legacy_row(events);
}

void service::set_aside_failure(sync_repository& repo, const std::string& zoho_id,
                                const std::string& sqlstate, const std::string& line) {
    set_aside::entry e;
    long long count = 0;
    {
        std::lock_guard lock(aside_mutex_);
        e = aside_.failed(zoho_id, sqlstate, line, clock::now());
        count = static_cast<long long>(aside_.entries().size());
    }
    metrics_->record_sync_failure(count);
    // Once per backoff step, so a conversation failing for hours logs a handful of lines.
    log_with_fields(
        spdlog::level::err, "cannot sync; set aside",
        fmt::format("cannot sync {}{}: {}; set aside, next attempt in {} s (failure {})", zoho_id,
                    sqlstate.empty() ? "" : " (SQLSTATE " + sqlstate + ")", line, e.backoff.count(),
                    e.failures),
        {{"zoho_id", zoho_id},
         {"sqlstate", sqlstate},
         {"error", line},
         {"next_attempt_s", static_cast<long long>(e.backoff.count())},
         {"failures", static_cast<long long>(e.failures)}});
    repo.record_failure(zoho_id, metrics_->instance(), e.failures, sqlstate, line, e.backoff);
}

service::round_result service::process_round(worker_session& own, worker_pool& pool, bool gated) {
    round_result r;
    std::vector<std::string> waiting;
    {
        std::lock_guard lock(aside_mutex_);
        waiting = aside_.waiting(clock::now());
    }
    std::vector<std::string> resync;
    if (gated) {
        std::lock_guard lock(resync_mutex_);
        resync = resync_.waiting(clock::now());
    }
    // Appends committed since the last round become queue events here (schema step 0012).
    own.repo.collect_appends();
    // The gate's conversations are left out here, not in the query: the set-aside list is short,
    // but a catch-up syncs dozens in 25 ms, and `<> ALL` compares every queued row with each.
    const int limit = cfg_.daemon.batch_conversations;
    auto conversations =
        own.repo.queued_conversations(limit + static_cast<int>(resync.size()), waiting);
    if (!resync.empty()) {
        std::sort(resync.begin(), resync.end());
        const auto before = conversations.size();
        std::erase_if(conversations, [&](const std::string& z) {
            return std::binary_search(resync.begin(), resync.end(), z);
        });
        r.gated = static_cast<long long>(before - conversations.size());
        if (conversations.size() > static_cast<size_t>(limit))
            conversations.resize(static_cast<size_t>(limit));
    }
    r.listed = static_cast<long long>(conversations.size());
    std::atomic<long long> synced{0};
    run_round(pool, conversations, own, [&](worker_session& w, const std::string& z) {
        {
            std::lock_guard lock(resync_mutex_);
            resync_.started(z, clock::now());
        }
        if (sync_one(w.sync, w.repo, z) == sync_result::synced)
            ++synced;
    });
    r.synced = synced;
    return r;
}

std::unique_ptr<worker_pool> service::start_workers(const std::string& application_name,
                                                    bool prepare) {
    std::vector<std::unique_ptr<worker_session>> sessions;
    for (int i = 1; i < worker_count(cfg_); ++i) {
        sessions.push_back(std::make_unique<worker_session>(
            pg::connection::open(cfg_.database, application_name, daemon_access(cfg_)), cfg_,
            memory_));
        sessions.back()->conn.prepare(prepare);
    }
    return std::make_unique<worker_pool>(std::move(sessions));
}

void service::drain_queue(worker_session& own, worker_pool& pool) {
    while (!stop_ && !reconnect_) {
        const auto r = process_round(own, pool, false);
        // Empty, or every queued conversation's row is held by a writer: a one-shot pass does
        // not wait for writers forever.
        if (r.listed == 0 || r.synced == 0)
            break;
        notify_.watchdog();
    }
}

bool service::set_up_connection(pg::connection& conn, sync_repository& repo) {
    refuse_superuser(repo, cfg_);
    require_current_schema(conn, cfg_);
    warn_foreign_triggers(conn);
    metrics_->record_connected();
    // Failures recorded by an earlier run are tried first, and cleared when they succeed.
    {
        std::lock_guard lock(aside_mutex_);
        for (const auto& [key, failures] : repo.recorded_failures())
            aside_.adopt(key, failures, clock::now());
        metrics_->set_set_aside(static_cast<long long>(aside_.entries().size()));
    }
    // LISTEN before catching up: an event committed in between still wakes us.
    const int listener = repo.listen();
    const bool notified = notifications_reach(conn);
    metrics_->set_notifications_ok(notified);
    if (!notified) {
        spdlog::warn(
            "notifications do not reach this daemon: database.conninfo goes through a "
            "connection pooler in transaction pooling mode (PgBouncer pool_mode = transaction), "
            "where LISTEN lands on whichever pooled server connection runs it; polling the "
            "queue every {} ms "
            "instead HINT: give the daemon a direct connection to PostgreSQL (or a pooler in "
            "session mode); see docs/operations.md",
            queue_poll_interval(false).count());
        drop_pooled_listen(conn, repo, listener);
    }
    return notified;
}

schema::queue_health service::maintain_queue(pg::connection& conn, sync_repository& repo) {
    const auto done = repo.maintain_queue();
    const auto health = schema::read_queue_health(conn, cfg_);
    metrics_->set_backlog(health.waiting, health.oldest_waiting_age_s.value_or(0));
    metrics_->record_queue_maintenance(done.truncated, done.rotated, health);
    if (done.rotated || done.truncated > 0)
        spdlog::debug("sync queue: {} drained slot(s) truncated{}", done.truncated,
                      done.rotated ? ", new events go to the next slot" : "");
    // A transaction open for an hour keeps every event since from being vacuumed: say who.
    const auto& o = health.oldest;
    const auto now = clock::now();
    if (o && o->age_s && *o->age_s >= 3600 && now - horizon_logged_ >= std::chrono::hours(1)) {
        spdlog::warn(
            "a transaction has been open for {:.0f} s ({}, application '{}', {}): vacuum "
            "cannot remove what was deleted since it began HINT: end it, e.g. SELECT "
            "pg_terminate_backend({}); see docs/operations.md",
            *o->age_s, o->pid ? "pid " + std::to_string(*o->pid) : "prepared", o->application_name,
            o->state, o->pid ? std::to_string(*o->pid) : "pid");
        horizon_logged_ = now;
    }
    return health;
}

std::pair<std::string, long long> service::report(pg::connection& conn, sync_repository& repo) {
    repo.forget_stale_failures();
    check_capture(conn);
    const auto health = maintain_queue(conn, repo);
    const long long depth = health.waiting;
    const double age = health.oldest_waiting_age_s.value_or(0);
    if (server_)
        if (auto failure = server_->failure())
            spdlog::error("{}; restart the daemon to bring it back", *failure);
    const auto c = metrics_->counters();
    repo.heartbeat(metrics_->instance(), metrics_->started_at_iso(), c);
    char status[256];
    std::snprintf(
        status, sizeof status,
        "backlog %lld (oldest %.1f s), rewrites %lld, drifts healed %lld, lag p50 %.0f ms", depth,
        age, c.rewrites, c.drifts_healed, c.lag_p50_ms.value_or(0));
    return {std::string(status), depth};
}

std::chrono::milliseconds service::queue_poll_interval(bool notified) const {
    // Without notifications only polling notices new work: poll often.
    return notified ? cfg_.daemon.poll_interval
                    : std::min(cfg_.daemon.poll_interval, pooled_poll_interval);
}

std::chrono::milliseconds service::poll_timeout(bool notified, bool more,
                                                clock::time_point last_busy) const {
    auto timeout = queue_poll_interval(notified);
    // Appends send no notification (schema step 0013): look for them this often.
    timeout = std::min(timeout, cfg_.daemon.append_poll);
    // Right after work, poll briefly: legacy writers skip NOTIFY within 500 ms of their last
    // one, and one of them may have committed just after our last look.
    if (clock::now() - last_busy < recently_busy)
        timeout = std::min(timeout, std::chrono::milliseconds(10));
    if (more)
        timeout = std::chrono::milliseconds(0);
    if (auto wd = notify_.watchdog_interval())
        timeout = std::min(timeout, std::chrono::duration_cast<std::chrono::milliseconds>(*wd));
    return timeout;
}

bool service::wait_for_work(pg::connection& conn, std::chrono::milliseconds timeout) {
    pollfd fds[2] = {{PQsocket(conn.native()), POLLIN, 0}, {signals_.fd(), POLLIN, 0}};
    poll(fds, 2, static_cast<int>(timeout.count()));
    bool hinted = false;
    if (fds[1].revents & POLLIN) {
        handle_signal(signals_.read());
        hinted = true;  // a SIGHUP's new settings take effect in a full round
    }
    if (fds[0].revents & (POLLIN | POLLERR | POLLHUP)) {
        if (PQconsumeInput(conn.native()) == 0)
            throw pg::connection_error("the connection to the server was lost", "08006");
        while (PGnotify* n = PQnotifies(conn.native())) {
            PQfreemem(n);
            hinted = true;
        }
    }
    return hinted;
}

bool service::serve_connection(bool& ready_sent) {
    const std::string name = cfg_.database.application_name + " syncd";
    worker_session own(pg::connection::open(cfg_.database, name, daemon_access(cfg_)), cfg_,
                       memory_);
    auto& conn = own.conn;
    auto& repo = own.repo;
    const bool notified = set_up_connection(conn, repo);
    // Prepared statements only where the session is ours alone: a transaction pooler (no
    // notifications) shares and swaps server connections under them.
    const bool prepare = notified && prepare_ok_;
    conn.prepare(prepare);
    auto pool = start_workers(name, prepare);
    // READY=1 once listening, as the contract says; the backlog is then worked off one round
    // at a time, so heartbeats, STATUS= and signals keep coming however long it is, and a
    // queue that writers keep filling never holds the main loop.
    {
        auto [status, depth] = report(conn, repo);
        const bool first = !ready_sent;
        if (first)
            notify_.ready(status);
        else
            notify_.status(status);
        ready_sent = true;
        log_with_fields(
            spdlog::level::info, first ? "ready" : "reconnected",
            fmt::format("{}: listening on channel {}, {} events queued",
                        first ? "ready" : "reconnected", cfg_.ledger.schema.name(), depth),
            {{"channel", cfg_.ledger.schema.name()},
             {"events_queued", static_cast<long long>(depth)}});
    }
    bool catching_up = true;
    bool more = true;  // the last round did work: look again at once
    auto last_report = clock::now();
    auto last_busy = clock::now();
    auto last_round = clock::now();
    while (!stop_ && !reconnect_) {
        const bool hinted = wait_for_work(conn, poll_timeout(notified, more, last_busy));
        if (stop_)
            break;
        // A full round over the queue on a hint, right after work and every poll interval:
        // NOTIFY is only a hint. In between, appends (which send none) are looked for with one
        // probe, so an idle daemon's frequent look costs one indexed read.
        const auto now = clock::now();
        const bool due = hinted || more || now - last_busy < recently_busy ||
                         now - last_round >= queue_poll_interval(notified);
        if (due || repo.appends_waiting()) {
            const auto round = process_round(own, *pool);
            last_round = clock::now();
            more = round.synced > 0;
            if (more)
                last_busy = last_round;
            if (catching_up && round.listed == 0 && round.gated == 0) {
                catching_up = false;
                spdlog::info("caught up: the sync queue is empty");
            }
        }
        notify_.watchdog();
        if (clock::now() - last_report > std::chrono::seconds(2)) {
            notify_.status(report(conn, repo).first);
            last_report = clock::now();
        }
    }
    if (stop_) {
        try {
            repo.forget_instance(metrics_->instance());
        } catch (const error&) {
        }
    }
    return !stop_;
}

std::unique_ptr<metrics_server> service::start_metrics(const config& cfg) {
    auto address = parse_listen_address(cfg.daemon.metrics_listen);
    if (!address)
        return nullptr;
    auto server = std::make_unique<metrics_server>(
        *address, [m = metrics_.get()] { return m->render_prometheus(); });
    spdlog::info("metrics endpoint listening on http://{}/metrics", server->name());
    return server;
}

int service::run() {
    // Before READY=1: a port in use is a configuration error the operator sees at start.
    server_ = start_metrics(cfg_);
    bool ready_sent = false;
    auto backoff = cfg_.daemon.reconnect_min;
    std::mt19937 rng(std::random_device{}());
    while (!stop_) {
        try {
            reconnect_ = false;
            serve_connection(ready_sent);
            backoff = cfg_.daemon.reconnect_min;
            continue;
        } catch (const login_refused&) {
            notify_.stopping();
            throw;
        } catch (const pg::prepared_statement_lost& e) {
            // A pooler the probe did not reveal: go on without prepared statements, at once.
            spdlog::warn("{}", e.line());
            prepare_ok_ = false;
            metrics_->record_disconnected(true);
            continue;
        } catch (const error& e) {
            // Everything is retried: the daemon must outlive database restarts and bad grants.
            spdlog::log(e.retryable() ? spdlog::level::warn : spdlog::level::err, "{}", e.line());
            metrics_->record_disconnected(e.retryable());
            notify_.status("reconnecting: " + std::string(e.what()));
        }
        // Full jitter around the exponential backoff, so several daemons do not stampede.
        std::uniform_int_distribution<long long> jitter(backoff.count() / 2, backoff.count());
        if (!wait_backoff(std::chrono::milliseconds(jitter(rng))))
            break;
        backoff = std::min(backoff * 2, cfg_.daemon.reconnect_max);
    }
    notify_.stopping();
    spdlog::info("stopped");
    return 0;
}

namespace {

/// The closing lines of a --once pass and its exit status: 1 when a signal stopped it or some
/// conversation could not be synced (each named), else 0.
int end_of_pass(bool stopped, long long done, const instance_counters& c, long long first_renders,
                const std::vector<std::string>& skipped, const set_aside& aside) {
    const auto counts = {log_field{"conversations", done}, log_field{"rewrites", c.rewrites},
                         log_field{"first_renders", first_renders},
                         log_field{"drifts_healed", c.drifts_healed},
                         log_field{"messages_captured", c.messages_captured}};
    if (stopped) {
        // An interrupted pass is no clean one: say how far it got, and do not exit 0.
        log_with_fields(
            spdlog::level::warn, "reconcile stopped by a signal",
            fmt::format("reconcile stopped by a signal after {} conversation(s), {} rewrites, {} "
                        "drifts healed, {} messages captured HINT: run --once again to finish "
                        "the pass",
                        done, c.rewrites, c.drifts_healed, c.messages_captured),
            counts);
        return 1;
    }
    log_with_fields(
        spdlog::level::info, "reconcile finished",
        fmt::format("reconcile finished: {} conversations, {} rewrites ({} first "
                    "renders since migration), {} drifts healed, {} messages captured",
                    done, c.rewrites, first_renders, c.drifts_healed, c.messages_captured),
        counts);
    // Every conversation that could not be synced is named on stderr, and the pass says so.
    for (const auto& z : skipped)
        spdlog::error("could not sync {}: a legacy writer kept its row locked", z);
    for (const auto& [z, e] : aside.entries()) spdlog::error("could not sync {}: {}", z, e.error);
    const size_t failed = skipped.size() + aside.entries().size();
    if (failed == 0)
        return 0;
    spdlog::error(
        "reconcile could not sync {} conversation(s) HINT: fix what each line above names (a "
        "legacy trigger or constraint, a writer holding the row), then run --once again; the "
        "daemon retries them with a backoff",
        failed);
    return 1;
}

}  // namespace

void service::sync_all(worker_session& own, worker_pool& pool, const std::vector<std::string>& keys,
                       long long& done, std::vector<std::string>& locked, progress* bar) {
    std::mutex mutex;
    run_round(pool, keys, own, [&](worker_session& w, const std::string& z) {
        const auto r = sync_one(w.sync, w.repo, z);
        std::lock_guard lock(mutex);
        if (r == sync_result::synced)
            ++done;
        else if (r == sync_result::locked)
            locked.push_back(z);
        if (bar)
            bar->advance(1);
    });
}

int service::run_once() {
    const std::string name = cfg_.database.application_name + " syncd once";
    worker_session own(pg::connection::open(cfg_.database, name, daemon_access(cfg_)), cfg_,
                       memory_);
    auto& conn = own.conn;
    auto& repo = own.repo;
    refuse_superuser(repo, cfg_);
    require_current_schema(conn, cfg_);
    warn_foreign_triggers(conn);
    check_capture(conn);
    auto pool = start_workers(name, false);  // one pass: not worth a pooler's risk
    std::optional<std::string> after;
    long long done = 0;
    std::vector<std::string> skipped;
    std::optional<progress> bar;
    while (!stop_) {
        std::vector<std::string> keys;
        {
            pg::transaction tx(conn, "BEGIN READ ONLY");
            // No thread of its own: a SIGHUP may swap the logger it would write to.
            if (!bar)
                bar.emplace("reconciling", repo.legacy_row_count(), false);
            keys = repo.legacy_keys(after, 500);
            tx.commit();
        }
        if (keys.empty())
            break;
        after = keys.back();
        sync_all(own, *pool, keys, done, skipped, bar ? &*bar : nullptr);
    }
    // Writers hold a row for moments: try the skipped conversations again a few times.
    for (int attempt = 0; attempt < 5 && !skipped.empty() && !stop_; ++attempt) {
        if (!wait_backoff(std::chrono::milliseconds(200)))
            break;
        std::vector<std::string> still;
        sync_all(own, *pool, std::exchange(skipped, {}), done, still);
        skipped = std::move(still);
    }
    drain_queue(own, *pool);
    // A site that runs only --once (a cron job, a catch-up) still gets its drained queue slots
    // truncated and the queue rotated, as the running daemon does every few seconds.
    if (!stop_)
        maintain_queue(conn, repo);
    if (bar && !stop_)
        bar->finish();
    return end_of_pass(stop_, done, metrics_->counters(), metrics_->first_renders(), skipped,
                       aside_);
}

}  // namespace chatledger::daemon

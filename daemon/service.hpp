// The chatledger-syncd main loop: connect, LISTEN, catch up, then wait on the database socket
// and the signalfd; reconnect with backoff and jitter whenever the connection is lost.
#pragma once

#include <chrono>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "config/config.hpp"
#include "config/progress.hpp"
#include "daemon/notify.hpp"
#include "daemon/resync_gate.hpp"
#include "daemon/set_aside.hpp"
#include "daemon/signals.hpp"
#include "pg/connection.hpp"
#include "pg/error.hpp"
#include "schema/schema_repository.hpp"
#include "schema/steps.hpp"

namespace chatledger::daemon {

/// Who the daemon logs in as (docs/reference.md, Roles): a permission error's HINT gives the
/// GRANT of the daemon role, named after ledger.schema.
inline pg::access_context daemon_access(const config& cfg) {
    return {"chatledger-syncd", schema::roles_for(cfg).daemon.name(), false};
}

class metrics;
class metrics_server;
class syncer;
class sync_repository;
struct worker_session;
class render_memory;
class worker_pool;

/// Runs the daemon until SIGTERM; returns the exit status.
class service {
  public:
    service(std::string config_path, config cfg, signal_source& signals, notifier& notify);
    ~service();

    /// Serves until SIGTERM or SIGINT; 0 on a clean stop.
    int run();
    /// One full reconcile of every conversation plus the queue, then return (--once).
    int run_once();

  private:
    bool serve_connection(bool& ready_sent);
    /// Checks the login and the schema, LISTENs and probes that notifications arrive; returns
    /// whether they do (behind a transaction pooler they do not).
    bool set_up_connection(pg::connection& conn, sync_repository& repo);
    /// Heartbeat, backlog and checks every few seconds; the STATUS= text and the queue depth.
    std::pair<std::string, long long> report(pg::connection& conn, sync_repository& repo);
    /// Queue maintenance (truncate drained slots, rotate) and the queue's metrics, backlog
    /// included; warns once an hour while a transaction has been open for more than an hour.
    /// Returns the health it read after maintaining.
    schema::queue_health maintain_queue(pg::connection& conn, sync_repository& repo);
    /// How often the whole queue is looked at when nothing else brings a round: the configured
    /// poll interval, or less where notifications do not reach the daemon.
    std::chrono::milliseconds queue_poll_interval(bool notified) const;
    /// How long to wait for a notification or a signal before looking at the queue again.
    std::chrono::milliseconds poll_timeout(bool notified, bool more,
                                           std::chrono::steady_clock::time_point last_busy) const;
    /// Waits on the database socket and the signalfd; handles a signal, drains notifications.
    /// Returns whether a notification or a signal came.
    bool wait_for_work(pg::connection& conn, std::chrono::milliseconds timeout);
    /// What one round over the queue did.
    struct round_result {
        long long listed = 0;  ///< conversations with queued events at the start of the round
        long long synced = 0;  ///< of those, synced (the rest were locked by legacy writers)
        long long gated = 0;   ///< conversations left for a later round by the resync gate
    };
    /// Syncs up to daemon.batch_conversations queued conversations, oldest events first,
    /// spread over `own` and the pool's workers.
    /// With `gated`, conversations synced in the last resync interval wait (see resync_gate);
    /// a one-shot pass drains the queue without waiting.
    round_result process_round(worker_session& own, worker_pool& pool, bool gated = true);
    /// Rounds until the queue is empty or no round makes progress (--once).
    void drain_queue(worker_session& own, worker_pool& pool);
    /// Opens the connections of daemon.workers beside `own` (the main loop's).
    std::unique_ptr<worker_pool> start_workers(const std::string& application_name, bool prepare);
    /// Between two conversations of the main thread: acts on SIGTERM at once and keeps a
    /// SIGHUP for the end of the round (the workers read the configuration); false to stop.
    bool between_conversations();
    /// Runs `work` for each key over `own` and the pool; a SIGHUP during it is acted on after.
    void run_round(worker_pool& pool, const std::vector<std::string>& keys, worker_session& own,
                   const std::function<void(worker_session&, const std::string&)>& work);
    /// Syncs `keys` over `own` and the pool (--once); counts the synced ones in `done` and
    /// adds those a legacy writer kept locked to `locked`; advances `bar` by each one done.
    void sync_all(worker_session& own, worker_pool& pool, const std::vector<std::string>& keys,
                  long long& done, std::vector<std::string>& locked, progress* bar = nullptr);
    /// How one conversation's sync ended.
    enum class sync_result {
        synced,  ///< committed
        locked,  ///< a legacy writer held its row past lock_timeout: left queued, not a failure
        failed,  ///< set aside with a backoff (logged, counted, recorded for `status`)
    };
    /// Syncs one conversation. A lost connection propagates (the caller reconnects); any other
    /// error sets the conversation aside, so it never stops the others.
    sync_result sync_one(syncer& s, sync_repository& repo, const std::string& zoho_id);
    /// Sets a conversation aside after `e`, logs it once for this step and records it.
    /// After LISTEN: whether a notification sent from another connection reaches `conn`
    /// within a second. Behind a transaction pooler it does not: LISTEN stayed on a pooled
    /// server connection.
    bool notifications_reach(pg::connection& conn);
    /// Logs and counts events consumed for a key the legacy table has no row of.
    void report_without_legacy_row(sync_repository& repo, const std::string& zoho_id,
                                   long long events);
    void set_aside_failure(sync_repository& repo, const std::string& zoho_id,
                           const std::string& sqlstate, const std::string& line);
    void handle_signal(signal_event ev);
    void reload();
    bool wait_backoff(std::chrono::milliseconds delay);
    /// Checks the capture trigger: an error line when it is found wrong (again each minute while
    /// it stays so), an info line when it is back; sets the metric.
    void check_capture(pg::connection& conn);
    /// Warns about other triggers and rules on the legacy table: they run as the daemon's login.
    void warn_foreign_triggers(pg::connection& conn);
    /// The metrics endpoint `cfg` asks for, listening; nullptr when it is off.
    std::unique_ptr<metrics_server> start_metrics(const config& cfg);

    std::string config_path_;
    config cfg_;
    signal_source& signals_;
    notifier& notify_;
    std::unique_ptr<metrics> metrics_;  ///< before server_: the endpoint's thread reads it
    std::unique_ptr<metrics_server> server_;
    std::mutex resync_mutex_;  ///< workers start syncs concurrently
    /// At most one sync of a conversation per 25 ms: a burst of appends to one conversation is
    /// rendered in a few rewrites, the lag of its events grows by at most that.
    resync_gate resync_{std::chrono::milliseconds(25)};
    std::mutex aside_mutex_;  ///< workers set conversations aside concurrently
    set_aside aside_;         ///< conversations whose sync failed, with their backoff
    /// What this daemon last wrote into each conversation, shared by its workers (syncer.hpp).
    std::shared_ptr<render_memory> memory_;
    bool prepare_ok_ = true;     ///< off once a prepared statement was lost (a pooler)
    bool in_round_ = false;      ///< workers are syncing: a SIGHUP waits for the round's end
    bool reload_asked_ = false;  ///< a SIGHUP arrived during a round
    bool stop_ = false;
    bool reconnect_ = false;
    std::optional<std::string> capture_problem_;  ///< as last found
    std::chrono::steady_clock::time_point capture_logged_{};
    std::chrono::steady_clock::time_point horizon_logged_{};
};

}  // namespace chatledger::daemon

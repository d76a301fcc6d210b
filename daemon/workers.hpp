// Extra connections and threads that sync conversations beside the main loop (daemon.workers):
// one round's conversations are spread over them, each conversation synced by one at a time.
#pragma once

#include <atomic>
#include <condition_variable>
#include <exception>
#include <functional>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include "config/config.hpp"
#include "daemon/sync_repository.hpp"
#include "daemon/syncer.hpp"
#include "pg/connection.hpp"

namespace chatledger::daemon {

/// How many connections `cfg` asks to sync with: daemon.workers, or one per core for 0.
int worker_count(const config& cfg);

/// The connections of one worker: its own session, syncer and repository.
struct worker_session {
    worker_session(pg::connection c, const config& cfg, std::shared_ptr<render_memory> memory)
        : conn(std::move(c)), repo(conn, cfg), sync(conn, cfg, std::move(memory)) {}
    pg::connection conn;
    sync_repository repo;
    syncer sync;
};

/// Threads that each own a worker_session and take conversations from a shared round.
///
/// A round lists each conversation once and run() returns only when every conversation of it is
/// done, so no two workers of this daemon ever hold one conversation at once; other daemons (and
/// `run`, `recover`) are kept apart by the conversation's advisory lock, as before.
class worker_pool {
  public:
    /// Syncs one conversation through the session given.
    using job = std::function<void(worker_session&, const std::string& key)>;

    /// Starts one thread per session.
    explicit worker_pool(std::vector<std::unique_ptr<worker_session>> sessions);
    /// Stops and joins the threads (after the round in progress, if any).
    ~worker_pool();
    worker_pool(const worker_pool&) = delete;
    worker_pool& operator=(const worker_pool&) = delete;

    /// Runs `work` for every key, spread over the pool's threads and the caller's `own`
    /// session. `between` runs on the caller between two of its conversations; when it returns
    /// false, no further conversation is started. Returns when every started one is done;
    /// rethrows the first error a job let escape (a lost connection).
    void run(const std::vector<std::string>& keys, worker_session& own, const job& work,
             const std::function<bool()>& between);

  private:
    void serve(worker_session& session);
    /// Takes the next key of the round; false when there is none or the round was stopped.
    bool next(size_t& index);
    void fail(std::exception_ptr e);

    std::vector<std::unique_ptr<worker_session>> sessions_;
    std::vector<std::thread> threads_;
    std::mutex mutex_;
    std::condition_variable wake_, done_;
    long long round_ = 0;  ///< incremented for each run(): a thread serves each round once
    const std::vector<std::string>* keys_ = nullptr;
    const job* work_ = nullptr;
    size_t next_ = 0;
    int busy_ = 0;  ///< threads still in the current round
    bool stopped_ = false;
    bool quit_ = false;
    std::exception_ptr error_;
};

}  // namespace chatledger::daemon

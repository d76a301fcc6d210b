// The worker pool of chatledger-syncd. Rounds are handed over under one mutex: a round is a
// few dozen short transactions, so the hand-over costs nothing next to them.
#include "daemon/workers.hpp"

#include <algorithm>
#include <utility>

namespace chatledger::daemon {

int worker_count(const config& cfg) {
    if (cfg.daemon.workers > 0)
        return cfg.daemon.workers;
    const unsigned cores = std::thread::hardware_concurrency();
    return static_cast<int>(std::clamp(cores, 1u, 64u));
}

worker_pool::worker_pool(std::vector<std::unique_ptr<worker_session>> sessions)
    : sessions_(std::move(sessions)) {
    for (auto& s : sessions_) threads_.emplace_back([this, &s] { serve(*s); });
}

worker_pool::~worker_pool() {
    {
        std::lock_guard lock(mutex_);
        quit_ = true;
    }
    wake_.notify_all();
    for (auto& t : threads_) t.join();
}

bool worker_pool::next(size_t& index) {
    std::lock_guard lock(mutex_);
    if (stopped_ || keys_ == nullptr || next_ >= keys_->size())
        return false;
    index = next_++;
    return true;
}

void worker_pool::fail(std::exception_ptr e) {
    std::lock_guard lock(mutex_);
    if (!error_)
        error_ = e;
    stopped_ = true;  // the others finish what they hold; the caller reconnects them all
}

void worker_pool::serve(worker_session& session) {
    long long served = 0;
    for (;;) {
        {
            std::unique_lock lock(mutex_);
            wake_.wait(lock, [&] { return quit_ || round_ != served; });
            if (quit_)
                return;
            served = round_;
        }
        size_t i = 0;
        while (next(i)) {
            try {
                (*work_)(session, (*keys_)[i]);
            } catch (...) {
                fail(std::current_exception());
            }
        }
        std::lock_guard lock(mutex_);
        if (--busy_ == 0)
            done_.notify_all();
    }
}

void worker_pool::run(const std::vector<std::string>& keys, worker_session& own, const job& work,
                      const std::function<bool()>& between) {
    {
        std::lock_guard lock(mutex_);
        keys_ = &keys;
        work_ = &work;
        next_ = 0;
        stopped_ = false;
        error_ = nullptr;
        busy_ = static_cast<int>(threads_.size());
        ++round_;
    }
    wake_.notify_all();
    size_t i = 0;
    while (next(i)) {
        try {
            work(own, keys[i]);
        } catch (...) {
            fail(std::current_exception());
            break;
        }
        // Between two transactions of this thread: the place to notice SIGTERM and SIGHUP.
        if (!between()) {
            std::lock_guard lock(mutex_);
            stopped_ = true;
        }
    }
    std::unique_lock lock(mutex_);
    done_.wait(lock, [&] { return busy_ == 0; });
    keys_ = nullptr;
    work_ = nullptr;
    if (error_)
        std::rethrow_exception(std::exchange(error_, nullptr));
}

}  // namespace chatledger::daemon

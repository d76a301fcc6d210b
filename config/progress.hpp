// Progress reporting for long passes of both executables: a redrawn bar with rate and ETA on a
// terminal, a log line every 10 s otherwise (journald, CI logs, pipes), counters as JSON fields.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <string>
#include <thread>

namespace chatledger {

/// Tracks done/total units and reports them at a bounded rate.
class progress {
  public:
    /// Without a terminal, a line every `log_every`: from a thread of its own when `background`,
    /// so a batch that takes minutes is not silence; else when advance() finds one due.
    progress(std::string what, long long total, bool background = true,
             std::chrono::milliseconds log_every = std::chrono::seconds(10));
    ~progress();
    progress(const progress&) = delete;
    progress& operator=(const progress&) = delete;

    /// Adds `n` done units and redraws (or, without a background thread, logs) if due.
    void advance(long long n);
    /// The final line; on a terminal ends the bar with a newline.
    void finish();
    double elapsed_s() const;

  private:
    void report(bool final);
    void stop_ticker();

    std::string what_;
    long long total_;
    std::atomic<long long> done_{0};
    bool tty_;
    std::chrono::milliseconds log_every_;
    std::chrono::steady_clock::time_point start_, last_;
    std::mutex mu_;
    std::condition_variable wake_;
    bool stopping_ = false;
    std::thread ticker_;
};

}  // namespace chatledger

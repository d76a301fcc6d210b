// Progress reporting for long commands: a redrawn bar with rate and ETA on a terminal,
// a log line every few seconds otherwise (journald, CI logs, pipes).
#pragma once

#include <chrono>
#include <string>

namespace chatledger::migrator {

/// Tracks done/total units and reports them at a bounded rate.
class progress {
  public:
    progress(std::string what, long long total);
    /// Adds `n` done units and redraws or logs if due.
    void advance(long long n);
    /// Final redraw and newline on a terminal.
    void finish();
    double elapsed_s() const;

  private:
    void report(bool final);

    std::string what_;
    long long total_;
    long long done_ = 0;
    bool tty_;
    std::chrono::steady_clock::time_point start_, last_;
};

}  // namespace chatledger::migrator

// Draws the progress bar on stderr when it is a terminal; logs through spdlog otherwise.
// Reporting is rate-limited so that it never shows up in a profile.
#include "migrator/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <cstdio>

namespace chatledger::migrator {

progress::progress(std::string what, long long total)
    : what_(std::move(what)),
      total_(total),
      tty_(isatty(STDERR_FILENO) != 0),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {}

double progress::elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void progress::advance(long long n) {
    done_ += n;
    auto now = std::chrono::steady_clock::now();
    auto due = tty_ ? std::chrono::milliseconds(200) : std::chrono::milliseconds(10000);
    if (now - last_ < due)
        return;
    last_ = now;
    report(false);
}

void progress::finish() {
    report(true);
}

void progress::report(bool final) {
    const double secs = elapsed_s();
    const double rate = secs > 0 ? done_ / secs : 0;
    const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done_) / total_) : 1.0;
    char eta[32] = "--:--";
    if (rate > 0 && total_ > done_) {
        long long left = static_cast<long long>((total_ - done_) / rate);
        std::snprintf(eta, sizeof eta, "%lld:%02lld", left / 60, left % 60);
    }
    if (tty_) {
        constexpr int width = 30;
        int filled = static_cast<int>(frac * width);
        std::string bar(filled, '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r%s [%s] %3.0f%%  %lld/%lld  %.0f/s  eta %s   ", what_.c_str(),
                     bar.c_str(), frac * 100, done_, total_, rate, eta);
        if (final)
            std::fputc('\n', stderr);
        std::fflush(stderr);
    } else {
        spdlog::info("{}: {}/{} ({:.0f}%), {:.0f}/s, eta {}", what_, done_, total_, frac * 100,
                     rate, final ? "done" : eta);
    }
}

}  // namespace chatledger::migrator

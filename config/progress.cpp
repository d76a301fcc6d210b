// Draws the progress bar on stderr when it is a terminal; logs through spdlog otherwise, on a
// timer, so the documented "every 10 s" holds even while one batch takes longer.
#include "config/progress.hpp"

#include <spdlog/spdlog.h>
#include <unistd.h>

#include <algorithm>
#include <cstdio>

#include "config/logging.hpp"

namespace chatledger {

progress::progress(std::string what, long long total, bool background,
                   std::chrono::milliseconds log_every)
    : what_(std::move(what)),
      total_(total),
      tty_(isatty(STDERR_FILENO) != 0),
      log_every_(log_every),
      start_(std::chrono::steady_clock::now()),
      last_(start_) {
    if (tty_ || !background)
        return;
    ticker_ = std::thread([this] {
        std::unique_lock lock(mu_);
        while (!wake_.wait_for(lock, log_every_, [this] { return stopping_; })) report(false);
    });
}

progress::~progress() {
    stop_ticker();
}

void progress::stop_ticker() {
    {
        std::lock_guard lock(mu_);
        stopping_ = true;
    }
    wake_.notify_all();
    if (ticker_.joinable())
        ticker_.join();
}

double progress::elapsed_s() const {
    return std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
}

void progress::advance(long long n) {
    done_ += n;
    if (ticker_.joinable())
        return;
    auto now = std::chrono::steady_clock::now();
    auto due = tty_ ? std::chrono::milliseconds(200) : log_every_;
    if (now - last_ < due)
        return;
    last_ = now;
    report(false);
}

void progress::finish() {
    stop_ticker();
    report(true);
}

void progress::report(bool final) {
    const long long done = done_;
    const double secs = elapsed_s();
    const double rate = secs > 0 ? done / secs : 0;
    const double frac = total_ > 0 ? std::min(1.0, static_cast<double>(done) / total_) : 1.0;
    long long left = -1;
    char eta[32] = "--:--";
    if (rate > 0 && total_ > done) {
        left = static_cast<long long>((total_ - done) / rate);
        std::snprintf(eta, sizeof eta, "%lld:%02lld", left / 60, left % 60);
    }
    if (tty_) {
        constexpr int width = 30;
        int filled = static_cast<int>(frac * width);
        std::string bar(filled, '#');
        bar.resize(width, '.');
        std::fprintf(stderr, "\r%s [%s] %3.0f%%  %lld/%lld  %.0f/s  eta %s   ", what_.c_str(),
                     bar.c_str(), frac * 100, done, total_, rate, eta);
        if (final)
            std::fputc('\n', stderr);
        std::fflush(stderr);
        return;
    }
    const std::string text = fmt::format("{}: {}/{} ({:.0f}%), {:.0f}/s, eta {}", what_, done,
                                         total_, frac * 100, rate, final ? "done" : eta);
    log_with_fields(spdlog::level::info, what_, text,
                    {{"done", done},
                     {"total", total_},
                     {"percent", frac * 100},
                     {"rate_per_s", rate},
                     {"elapsed_s", secs},
                     {"eta_s", final ? 0LL : left}});
}

}  // namespace chatledger

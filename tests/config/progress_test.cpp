// Unit tests of progress reporting without a terminal (ctest's stderr is none): a line on a
// timer even while no unit finishes, the final line, and counters as fields. No server.
#include "config/progress.hpp"

#include <gtest/gtest.h>
#include <spdlog/sinks/ostream_sink.h>
#include <spdlog/spdlog.h>
#include <unistd.h>

#include <sstream>
#include <thread>

namespace chatledger {
namespace {

/// Routes the default logger into a string for the test's lifetime.
class captured_log {
  public:
    captured_log() {
        auto sink = std::make_shared<spdlog::sinks::ostream_sink_mt>(out_);
        sink->set_pattern("%v");
        previous_ = spdlog::default_logger();
        spdlog::set_default_logger(std::make_shared<spdlog::logger>("test", sink));
    }
    ~captured_log() { spdlog::set_default_logger(previous_); }
    std::string text() {
        spdlog::default_logger()->flush();
        return out_.str();
    }

  private:
    std::ostringstream out_;
    std::shared_ptr<spdlog::logger> previous_;
};

size_t count_of(const std::string& text, const std::string& what) {
    size_t n = 0;
    for (auto at = text.find(what); at != std::string::npos; at = text.find(what, at + 1)) ++n;
    return n;
}

TEST(progress, without_a_terminal_it_logs_on_a_timer_while_a_batch_is_still_running) {
    ASSERT_FALSE(isatty(STDERR_FILENO)) << "run this test with stderr redirected";
    captured_log log;
    {
        progress bar("migrating", 10, true, std::chrono::milliseconds(20));
        // No unit finishes, as during one long batch: the old reporter stayed silent.
        std::this_thread::sleep_for(std::chrono::milliseconds(300));
        EXPECT_GE(count_of(log.text(), "migrating: 0/10 (0%), 0/s, eta --:--\n"), 3u) << log.text();
        bar.advance(10);
        bar.finish();
    }
    EXPECT_NE(log.text().find("migrating: 10/10 (100%), "), std::string::npos) << log.text();
    EXPECT_NE(log.text().find("/s, eta done\n"), std::string::npos) << log.text();
}

TEST(progress, in_the_callers_thread_it_logs_when_an_advance_finds_a_line_due) {
    captured_log log;
    progress bar("reconciling", 3, false, std::chrono::milliseconds(50));
    bar.advance(1);
    EXPECT_EQ(log.text(), "");
    std::this_thread::sleep_for(std::chrono::milliseconds(80));
    EXPECT_EQ(log.text(), "");  // no thread of its own
    bar.advance(1);
    EXPECT_EQ(count_of(log.text(), "reconciling: 2/3 (67%), "), 1u) << log.text();
}

}  // namespace
}  // namespace chatledger

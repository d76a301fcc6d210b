// Unit tests of the set-aside backoff (no server): failures double the wait up to the ceiling,
// waiting keys are left out until their time, and a success forgets the conversation.
#include "daemon/set_aside.hpp"

#include <gtest/gtest.h>

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

TEST(set_aside, each_failure_doubles_the_backoff_up_to_the_ceiling) {
    set_aside s(1s, 8s);
    const auto t0 = set_aside::clock::now();
    std::vector<long long> seen;
    for (int i = 0; i < 6; ++i) seen.push_back(s.failed("a", "P0001", "boom", t0).backoff.count());
    EXPECT_EQ(seen, (std::vector<long long>{1, 2, 4, 8, 8, 8}));
    EXPECT_EQ(s.entries().at("a").failures, 6);
    EXPECT_EQ(s.entries().at("a").sqlstate, "P0001");
}

TEST(set_aside, a_waiting_key_is_left_out_until_its_time_and_only_it) {
    set_aside s(2s, 60s);
    const auto t0 = set_aside::clock::now();
    s.failed("poison", "22003", "value out of range", t0);
    EXPECT_EQ(s.waiting(t0), (std::vector<std::string>{"poison"}));
    EXPECT_EQ(s.waiting(t0 + 1999ms), (std::vector<std::string>{"poison"}));
    EXPECT_TRUE(s.waiting(t0 + 2s).empty());
    EXPECT_FALSE(s.empty());  // due again, but still set aside until a sync succeeds
}

TEST(set_aside, a_success_forgets_the_conversation_and_says_how_often_it_failed) {
    set_aside s;
    const auto t0 = set_aside::clock::now();
    EXPECT_EQ(s.succeeded("a"), std::nullopt);
    s.failed("a", "", "bad_alloc", t0);
    s.failed("a", "", "bad_alloc", t0);
    EXPECT_EQ(s.succeeded("a"), 2);
    EXPECT_TRUE(s.empty());
    EXPECT_EQ(s.failed("a", "", "again", t0).backoff, 1s);  // a fresh start
}

}  // namespace
}  // namespace chatledger::daemon

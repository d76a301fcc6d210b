// Unit tests of the per-conversation resync interval (no server): a conversation synced less
// than the interval ago waits, the others do not, and a key is forgotten once its time passed.
#include "daemon/resync_gate.hpp"

#include <gtest/gtest.h>

#include <algorithm>

namespace chatledger::daemon {
namespace {

using namespace std::chrono_literals;

TEST(resync_gate, a_conversation_synced_within_the_interval_waits_and_only_it) {
    resync_gate g(25ms);
    const auto t0 = resync_gate::clock::now();
    g.started("hot", t0);
    g.started("warm", t0 - 20ms);
    auto w = g.waiting(t0 + 4ms);
    std::sort(w.begin(), w.end());
    EXPECT_EQ(w, (std::vector<std::string>{"hot", "warm"}));
    EXPECT_EQ(g.waiting(t0 + 6ms), (std::vector<std::string>{"hot"}));
    EXPECT_TRUE(g.waiting(t0 + 25ms).empty());
}

TEST(resync_gate, a_new_sync_restarts_the_interval) {
    resync_gate g(25ms);
    const auto t0 = resync_gate::clock::now();
    g.started("a", t0);
    EXPECT_TRUE(g.waiting(t0 + 30ms).empty());
    g.started("a", t0 + 30ms);
    EXPECT_EQ(g.waiting(t0 + 54ms), (std::vector<std::string>{"a"}));
    EXPECT_TRUE(g.waiting(t0 + 55ms).empty());
}

}  // namespace
}  // namespace chatledger::daemon

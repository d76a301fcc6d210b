// How often one conversation may be synced: a burst of appends to it is rendered in a few
// rewrites of its legacy row instead of one per append, while other conversations go on.
#pragma once

#include <chrono>
#include <string>
#include <unordered_map>
#include <vector>

namespace chatledger::daemon {

/// The conversations synced in the last `interval`, which wait for a later round.
///
/// Each rewrite of a legacy row writes its whole history and two backup copies, so syncing a
/// conversation again while its appends keep arriving costs the whole value each time. Waiting
/// `interval` between two syncs of one conversation bounds that to 1/interval rewrites a second
/// and adds at most `interval` to the lag of the events that arrive meanwhile; a conversation
/// appended to now and then never waits.
class resync_gate {
  public:
    using clock = std::chrono::steady_clock;

    explicit resync_gate(clock::duration interval) : interval_(interval) {}

    /// Records that a sync of `key` began at `now`.
    void started(const std::string& key, clock::time_point now);
    /// The conversations that began a sync less than `interval` before `now`; forgets the rest.
    std::vector<std::string> waiting(clock::time_point now);

  private:
    clock::duration interval_;
    std::unordered_map<std::string, clock::time_point> started_;
};

}  // namespace chatledger::daemon

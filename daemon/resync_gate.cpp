// The per-conversation resync interval of chatledger-syncd's rounds (see resync_gate.hpp).
// Pure bookkeeping over time points the caller passes in, so it is tested without a clock.
#include "daemon/resync_gate.hpp"

namespace chatledger::daemon {

void resync_gate::started(const std::string& key, clock::time_point now) {
    started_[key] = now;
}

std::vector<std::string> resync_gate::waiting(clock::time_point now) {
    std::vector<std::string> out;
    for (auto it = started_.begin(); it != started_.end();) {
        if (now - it->second >= interval_) {
            it = started_.erase(it);
        } else {
            out.push_back(it->first);
            ++it;
        }
    }
    return out;
}

}  // namespace chatledger::daemon

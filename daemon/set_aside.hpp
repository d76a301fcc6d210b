// Conversations whose sync failed for a reason a retry on the same connection will not fix soon
// (a legacy trigger refusing the row, a value that cannot be rendered), with their backoff.
#pragma once

#include <chrono>
#include <map>
#include <optional>
#include <string>
#include <vector>

namespace chatledger::daemon {

/// The set-aside conversations of one daemon and when each may be tried again.
///
/// Set aside, a conversation is left out of the queue rounds until its backoff expires, so one
/// conversation that cannot be synced never delays the others. The backoff doubles with each
/// failure, from `first` up to `ceiling`.
class set_aside {
  public:
    using clock = std::chrono::steady_clock;

    /// One failing conversation.
    struct entry {
        int failures = 0;
        clock::time_point retry_at;
        std::chrono::seconds backoff{0};
        std::string sqlstate;  ///< "" when the error did not come from the server
        std::string error;     ///< the error's one line, with its HINT
    };

    explicit set_aside(std::chrono::seconds first = std::chrono::seconds(1),
                       std::chrono::seconds ceiling = std::chrono::seconds(300))
        : first_(first), ceiling_(ceiling) {}

    /// Records a failure at `now`; returns the entry with its new backoff.
    const entry& failed(const std::string& key, std::string sqlstate, std::string error,
                        clock::time_point now);
    /// Takes over a failure another run recorded, due for a retry at `now`.
    void adopt(const std::string& key, int failures, clock::time_point now);
    /// Forgets `key` after a successful sync; returns how many failures it had, if any.
    std::optional<int> succeeded(const std::string& key);
    /// Keys still waiting out their backoff at `now`: the queue rounds leave them out.
    std::vector<std::string> waiting(clock::time_point now) const;
    /// Every set-aside conversation, for --once's closing report.
    const std::map<std::string, entry>& entries() const { return entries_; }
    bool empty() const { return entries_.empty(); }

  private:
    std::chrono::seconds first_, ceiling_;
    std::map<std::string, entry> entries_;
};

}  // namespace chatledger::daemon

// Exponential backoff per failing conversation; the daemon's rounds consult it, the database
// keeps a copy (sync_failures) for `chatledger-migrate status` and the other instances.
#include "daemon/set_aside.hpp"

#include <algorithm>

namespace chatledger::daemon {

const set_aside::entry& set_aside::failed(const std::string& key, std::string sqlstate,
                                          std::string error, clock::time_point now) {
    auto& e = entries_[key];
    ++e.failures;
    e.backoff = e.failures == 1 ? first_ : std::min(e.backoff * 2, ceiling_);
    e.retry_at = now + e.backoff;
    e.sqlstate = std::move(sqlstate);
    e.error = std::move(error);
    return e;
}

void set_aside::adopt(const std::string& key, int failures, clock::time_point now) {
    auto& e = entries_[key];
    e.failures = std::max(e.failures, failures);
    e.backoff = first_;
    e.retry_at = now;
    if (e.error.empty())
        e.error = "recorded by an earlier run";
}

std::optional<int> set_aside::succeeded(const std::string& key) {
    auto it = entries_.find(key);
    if (it == entries_.end())
        return std::nullopt;
    const int failures = it->second.failures;
    entries_.erase(it);
    return failures;
}

std::vector<std::string> set_aside::waiting(clock::time_point now) const {
    std::vector<std::string> out;
    for (const auto& [key, e] : entries_)
        if (e.retry_at > now)
            out.push_back(key);
    return out;
}

}  // namespace chatledger::daemon

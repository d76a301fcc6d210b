// sd_notify(3) reimplemented in a few lines: an AF_UNIX datagram to the path in NOTIFY_SOCKET,
// where a leading '@' names an abstract socket (the first byte of sun_path becomes NUL).
#include "daemon/notify.hpp"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstdlib>
#include <cstring>

namespace chatledger::daemon {

namespace {

std::optional<std::chrono::microseconds> watchdog_from_env() {
    const char* usec = std::getenv("WATCHDOG_USEC");
    if (usec == nullptr)
        return std::nullopt;
    // WATCHDOG_PID, when set, names the process systemd expects the pings from.
    if (const char* pid = std::getenv("WATCHDOG_PID"); pid && std::atol(pid) != getpid())
        return std::nullopt;
    char* end = nullptr;
    unsigned long long v = std::strtoull(usec, &end, 10);
    if (end == usec || *end != '\0' || v == 0)
        return std::nullopt;
    return std::chrono::microseconds(v);
}

}  // namespace

notifier::notifier() {
    if (const char* p = std::getenv("NOTIFY_SOCKET"))
        path_ = p;
    watchdog_ = watchdog_from_env();
}

notifier::notifier(std::string socket_path, std::optional<std::chrono::microseconds> watchdog)
    : path_(std::move(socket_path)), watchdog_(watchdog) {}

std::optional<std::chrono::microseconds> notifier::watchdog_interval() const {
    if (!watchdog_)
        return std::nullopt;
    return *watchdog_ / 2;
}

bool notifier::send(std::string_view message) const {
    if (path_.empty())
        return true;
    sockaddr_un addr{};
    addr.sun_family = AF_UNIX;
    if (path_.size() >= sizeof(addr.sun_path) || (path_[0] != '/' && path_[0] != '@'))
        return false;
    std::memcpy(addr.sun_path, path_.data(), path_.size());
    socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path_.size());
    if (path_[0] == '@') {
        addr.sun_path[0] = '\0';
    } else {
        len += 1;  // a filesystem path includes its terminating NUL
    }
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return false;
    ssize_t n = sendto(fd, message.data(), message.size(), MSG_NOSIGNAL,
                       reinterpret_cast<const sockaddr*>(&addr), len);
    close(fd);
    return n == static_cast<ssize_t>(message.size());
}

bool notifier::ready(std::string_view status) const {
    return send("READY=1\nSTATUS=" + std::string(status));
}

bool notifier::status(std::string_view status) const {
    return send("STATUS=" + std::string(status));
}

bool notifier::watchdog() const {
    if (!watchdog_)
        return true;
    const auto now = std::chrono::steady_clock::now();
    if (last_watchdog_ && now - *last_watchdog_ < *watchdog_ / 4)
        return true;
    last_watchdog_ = now;
    return send("WATCHDOG=1");
}

bool notifier::stopping() const {
    return send("STOPPING=1");
}

}  // namespace chatledger::daemon

// The systemd notify protocol without libsystemd: one datagram per message to $NOTIFY_SOCKET.
// Outside systemd (no NOTIFY_SOCKET) every call is a cheap no-op.
#pragma once

#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace chatledger::daemon {

/// Sends READY=1, STATUS=..., WATCHDOG=1 and STOPPING=1 to the service manager.
class notifier {
  public:
    /// Reads NOTIFY_SOCKET and WATCHDOG_USEC (honouring WATCHDOG_PID) from the environment.
    notifier();
    /// For tests: an explicit socket path ("@name" = abstract) and watchdog interval.
    notifier(std::string socket_path, std::optional<std::chrono::microseconds> watchdog);

    bool enabled() const { return !path_.empty(); }
    /// Half the watchdog interval systemd asked for, or nullopt when there is no watchdog.
    std::optional<std::chrono::microseconds> watchdog_interval() const;

    /// Sends one raw message ("READY=1\nSTATUS=..."); returns false when sending failed.
    bool send(std::string_view message) const;
    bool ready(std::string_view status) const;
    bool status(std::string_view status) const;
    /// WATCHDOG=1, at most once per quarter of the watchdog timeout: the main loop calls it on
    /// every turn (every 10 ms when busy), and systemd needs far fewer.
    bool watchdog() const;
    bool stopping() const;

  private:
    std::string path_;
    std::optional<std::chrono::microseconds> watchdog_;
    mutable std::optional<std::chrono::steady_clock::time_point> last_watchdog_;
};

}  // namespace chatledger::daemon

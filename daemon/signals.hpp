// Signals as file-descriptor events (signalfd), in the manner of PgBouncer: no work happens in
// a signal handler; the main loop polls this descriptor beside the database socket.
#pragma once

#include <optional>

namespace chatledger::daemon {

/// What the main loop should do about a received signal.
enum class signal_event { none, terminate, reload };

/// Blocks SIGTERM, SIGINT and SIGHUP for the process and reads them through a signalfd.
///
/// Create it in main() before any thread starts, so every thread inherits the blocked mask.
class signal_source {
  public:
    signal_source();
    ~signal_source();
    signal_source(const signal_source&) = delete;
    signal_source& operator=(const signal_source&) = delete;

    /// The descriptor to poll for POLLIN.
    int fd() const { return fd_; }
    /// Drains pending signals; terminate wins over reload when both arrived.
    signal_event read();

  private:
    int fd_ = -1;
};

}  // namespace chatledger::daemon

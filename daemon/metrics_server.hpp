// A minimal HTTP/1.0 server for Prometheus scrapes: GET /metrics on a loopback address, served
// from its own thread so a slow scraper never delays a sync, and a sync never delays a scrape.
#pragma once

#include <atomic>
#include <functional>
#include <optional>
#include <string>
#include <thread>

#include "config/config.hpp"

namespace chatledger::daemon {

/// Listens on a loopback address and answers GET /metrics with `render()`'s text.
class metrics_server {
  public:
    /// Binds and listens before returning; throws config_error when the address is unusable
    /// (in use, say), so a reload can refuse it and keep the running endpoint.
    metrics_server(const listen_address& address, std::function<std::string()> render);
    /// Stops the thread and closes the socket.
    ~metrics_server();
    metrics_server(const metrics_server&) = delete;
    metrics_server& operator=(const metrics_server&) = delete;

    /// The address as configured, for messages.
    const std::string& name() const { return name_; }
    /// Why the serving thread stopped, once; nullopt while it serves. The thread never logs:
    /// the main loop reports this, so a SIGHUP that swaps the logger cannot race with it.
    std::optional<std::string> failure();

  private:
    void serve();
    void answer(int client);

    std::string name_;
    std::function<std::string()> render_;
    int listen_fd_ = -1;
    int stop_fd_ = -1;  ///< eventfd: the destructor's wake-up
    std::atomic<int> stopped_errno_{0};
    std::thread thread_;
};

/// The response to one HTTP request head: status line, headers and body. `render` is called
/// only for GET /metrics. Pure, so the protocol handling is unit-tested without sockets.
std::string http_response(const std::string& request_head,
                          const std::function<std::string()>& render);

}  // namespace chatledger::daemon

// Serves the Prometheus endpoint: one thread, one client at a time, each bounded by a 2 s
// socket timeout and an 8 KiB request head, which is plenty for a loopback scraper.
#include "daemon/metrics_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstring>

#include "config/error.hpp"

namespace chatledger::daemon {

namespace {

constexpr size_t max_request_head = 8192;

std::string response(const char* status, const char* type, const std::string& body, bool head_only,
                     const char* extra_header = "") {
    std::string out = std::string("HTTP/1.0 ") + status + "\r\nContent-Type: " + type +
                      "\r\nContent-Length: " + std::to_string(body.size()) +
                      "\r\nConnection: close\r\n" + extra_header + "\r\n";
    if (!head_only)
        out += body;
    return out;
}

void send_all(int fd, const std::string& data) {
    size_t sent = 0;
    while (sent < data.size()) {
        // MSG_NOSIGNAL: a scraper that hangs up must not SIGPIPE the daemon.
        ssize_t n = ::send(fd, data.data() + sent, data.size() - sent, MSG_NOSIGNAL);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return;
        sent += static_cast<size_t>(n);
    }
}

}  // namespace

std::string http_response(const std::string& request_head,
                          const std::function<std::string()>& render) {
    const auto line_end = request_head.find("\r\n");
    const std::string line = request_head.substr(0, line_end);
    const auto sp1 = line.find(' ');
    const auto sp2 = sp1 == std::string::npos ? sp1 : line.find(' ', sp1 + 1);
    if (sp1 == std::string::npos || sp2 == std::string::npos ||
        line.compare(sp2 + 1, 5, "HTTP/") != 0)
        return response("400 Bad Request", "text/plain; charset=utf-8",
                        "bad request: expected GET /metrics HTTP/1.1\n", false);
    const std::string method = line.substr(0, sp1);
    std::string target = line.substr(sp1 + 1, sp2 - sp1 - 1);
    target = target.substr(0, target.find('?'));
    const bool head = method == "HEAD";
    if (method != "GET" && !head)
        return response("405 Method Not Allowed", "text/plain; charset=utf-8",
                        "method not allowed: only GET and HEAD\n", false, "Allow: GET, HEAD\r\n");
    if (target == "/metrics")
        return response("200 OK", "text/plain; version=0.0.4; charset=utf-8", render(), head);
    if (target == "/")
        return response("200 OK", "text/html; charset=utf-8",
                        "<html><head><title>chatledger-syncd</title></head><body>"
                        "<a href=\"/metrics\">metrics</a></body></html>\n",
                        head);
    return response("404 Not Found", "text/plain; charset=utf-8",
                    "not found: the metrics are at /metrics\n", head);
}

metrics_server::metrics_server(const listen_address& address, std::function<std::string()> render)
    : render_(std::move(render)) {
    const std::string host = address.host == "localhost" ? "127.0.0.1" : address.host;
    const bool v6 = host.find(':') != std::string::npos;
    name_ = (v6 ? "[" + host + "]" : host) + ":" + std::to_string(address.port);
    sockaddr_storage sa{};
    socklen_t len = 0;
    if (v6) {
        auto* s6 = reinterpret_cast<sockaddr_in6*>(&sa);
        s6->sin6_family = AF_INET6;
        s6->sin6_port = htons(static_cast<uint16_t>(address.port));
        inet_pton(AF_INET6, host.c_str(), &s6->sin6_addr);
        len = sizeof *s6;
    } else {
        auto* s4 = reinterpret_cast<sockaddr_in*>(&sa);
        s4->sin_family = AF_INET;
        s4->sin_port = htons(static_cast<uint16_t>(address.port));
        inet_pton(AF_INET, host.c_str(), &s4->sin_addr);
        len = sizeof *s4;
    }
    listen_fd_ = ::socket(sa.ss_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
    int one = 1;
    if (listen_fd_ < 0 ||
        ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) != 0 ||
        ::bind(listen_fd_, reinterpret_cast<sockaddr*>(&sa), len) != 0 ||
        ::listen(listen_fd_, 16) != 0) {
        const int e = errno;
        if (listen_fd_ >= 0)
            ::close(listen_fd_);
        throw config_error(
            "cannot listen on daemon.metrics_listen " + name_ + ": " + std::strerror(e),
            e == EADDRINUSE ? "choose a free port, or find the process holding "
                              "it with: ss -ltnp 'sport = :" +
                                  std::to_string(address.port) + "'"
                            : "check the address; \"\" turns the endpoint off");
    }
    stop_fd_ = ::eventfd(0, EFD_CLOEXEC);
    if (stop_fd_ < 0) {
        const int e = errno;
        ::close(listen_fd_);
        throw config_error(std::string("cannot create the metrics endpoint's eventfd: ") +
                           std::strerror(e));
    }
    thread_ = std::thread([this] { serve(); });
}

std::optional<std::string> metrics_server::failure() {
    const int e = stopped_errno_.exchange(0);
    if (e == 0)
        return std::nullopt;
    return "metrics endpoint " + name_ + " stopped: poll: " + std::strerror(e);
}

metrics_server::~metrics_server() {
    const uint64_t one = 1;
    (void)!::write(stop_fd_, &one, sizeof one);
    thread_.join();
    ::close(stop_fd_);
    ::close(listen_fd_);
}

void metrics_server::serve() {
    for (;;) {
        pollfd fds[2] = {{listen_fd_, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        if (::poll(fds, 2, -1) < 0) {
            if (errno == EINTR)
                continue;
            stopped_errno_ = errno;
            return;
        }
        if (fds[1].revents & POLLIN)
            return;
        if (!(fds[0].revents & POLLIN))
            continue;
        int client = ::accept4(listen_fd_, nullptr, nullptr, SOCK_CLOEXEC);
        if (client < 0)
            continue;  // ECONNABORTED, EMFILE...: the next scrape tries again
        answer(client);
        ::close(client);
    }
}

void metrics_server::answer(int client) {
    // A scraper gets 2 s in all to send its request, then is dropped; a stop request ends the
    // wait at once, so SIGTERM never waits on a slow scraper.
    const auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(2);
    timeval tv{2, 0};
    ::setsockopt(client, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    std::string head;
    char buf[1024];
    while (head.find("\r\n\r\n") == std::string::npos && head.size() < max_request_head) {
        const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
                              deadline - std::chrono::steady_clock::now())
                              .count();
        if (left <= 0)
            return;
        pollfd fds[2] = {{client, POLLIN, 0}, {stop_fd_, POLLIN, 0}};
        const int ready = ::poll(fds, 2, static_cast<int>(left));
        if (ready < 0 && errno == EINTR)
            continue;
        if (ready <= 0 || (fds[1].revents & POLLIN))
            return;
        const ssize_t n = ::recv(client, buf, sizeof buf, MSG_DONTWAIT);
        if (n < 0 && (errno == EINTR || errno == EAGAIN))
            continue;
        if (n <= 0)
            break;
        head.append(buf, static_cast<size_t>(n));
    }
    if (head.find("\r\n") == std::string::npos)
        return;  // nothing usable arrived
    try {
        send_all(client, http_response(head, render_));
    } catch (const std::exception&) {
        send_all(client,
                 "HTTP/1.0 500 Internal Server Error\r\nContent-Length: 0\r\n"
                 "Connection: close\r\n\r\n");
    }
}

}  // namespace chatledger::daemon

// Unit tests of the systemd notify protocol over real datagram sockets (path and abstract),
// and of the watchdog interval. No server.
#include "daemon/notify.hpp"

#include <gtest/gtest.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <cstring>
#include <filesystem>
#include <thread>

namespace chatledger::daemon {
namespace {

/// A datagram socket standing in for systemd's notify socket.
class fake_systemd {
  public:
    explicit fake_systemd(const std::string& path) {
        fd_ = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un addr{};
        addr.sun_family = AF_UNIX;
        std::memcpy(addr.sun_path, path.data(), path.size());
        socklen_t len = static_cast<socklen_t>(offsetof(sockaddr_un, sun_path) + path.size());
        if (path[0] == '@') {
            addr.sun_path[0] = '\0';
        } else {
            ++len;
            unlink(path.c_str());
        }
        EXPECT_EQ(bind(fd_, reinterpret_cast<sockaddr*>(&addr), len), 0) << std::strerror(errno);
        timeval tv{2, 0};
        setsockopt(fd_, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    }
    ~fake_systemd() { close(fd_); }
    std::string receive() {
        char buf[4096];
        ssize_t n = recv(fd_, buf, sizeof buf, 0);
        return n > 0 ? std::string(buf, static_cast<size_t>(n)) : std::string();
    }

  private:
    int fd_;
};

TEST(notifier, sends_the_protocol_messages_to_a_path_socket) {
    auto path = (std::filesystem::temp_directory_path() / ("cl_notify_" + std::to_string(getpid())))
                    .string();
    fake_systemd systemd(path);
    notifier n(path, std::chrono::microseconds(10000000));
    ASSERT_TRUE(n.enabled());
    EXPECT_TRUE(n.ready("backlog 0"));
    EXPECT_EQ(systemd.receive(), "READY=1\nSTATUS=backlog 0");
    EXPECT_TRUE(n.watchdog());
    EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
    EXPECT_TRUE(n.status("busy"));
    EXPECT_EQ(systemd.receive(), "STATUS=busy");
    EXPECT_TRUE(n.stopping());
    EXPECT_EQ(systemd.receive(), "STOPPING=1");
    EXPECT_EQ(n.watchdog_interval(), std::chrono::microseconds(5000000));
    unlink(path.c_str());
}

TEST(notifier, reaches_an_abstract_socket) {
    const std::string name = "@cl_notify_abstract_" + std::to_string(getpid());
    fake_systemd systemd(name);
    notifier n(name, std::nullopt);
    EXPECT_TRUE(n.ready("ok"));
    EXPECT_EQ(systemd.receive(), "READY=1\nSTATUS=ok");
    EXPECT_FALSE(n.watchdog_interval().has_value());
}

TEST(notifier, is_a_no_op_outside_systemd_and_refuses_bad_paths) {
    notifier none("", std::nullopt);
    EXPECT_FALSE(none.enabled());
    EXPECT_TRUE(none.ready("x"));
    notifier relative("relative/path", std::nullopt);
    EXPECT_FALSE(relative.ready("x"));
}

TEST(notifier, reads_the_environment) {
    setenv("NOTIFY_SOCKET", "@cl_env_test", 1);
    setenv("WATCHDOG_USEC", "3000000", 1);
    unsetenv("WATCHDOG_PID");
    notifier n;
    EXPECT_TRUE(n.enabled());
    EXPECT_EQ(n.watchdog_interval(), std::chrono::microseconds(1500000));
    setenv("WATCHDOG_PID", "1", 1);  // another process's watchdog
    notifier other;
    EXPECT_FALSE(other.watchdog_interval().has_value());
    unsetenv("NOTIFY_SOCKET");
    unsetenv("WATCHDOG_USEC");
    unsetenv("WATCHDOG_PID");
}

// The main loop pings on every turn; systemd got a datagram every 10 ms from a busy daemon.
TEST(notifier, sends_the_watchdog_at_most_once_per_quarter_of_its_timeout) {
    auto path =
        (std::filesystem::temp_directory_path() / ("cl_wd_" + std::to_string(getpid()))).string();
    fake_systemd systemd(path);
    notifier n(path, std::chrono::microseconds(400000));  // 400 ms: at most every 100 ms
    for (int i = 0; i < 100; ++i) EXPECT_TRUE(n.watchdog());
    EXPECT_TRUE(n.status("marker"));
    EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
    EXPECT_EQ(systemd.receive(), "STATUS=marker");  // not a second WATCHDOG=1
    std::this_thread::sleep_for(std::chrono::milliseconds(120));
    EXPECT_TRUE(n.watchdog());
    EXPECT_EQ(systemd.receive(), "WATCHDOG=1");
    std::filesystem::remove(path);
}

}  // namespace
}  // namespace chatledger::daemon

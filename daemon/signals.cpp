// signalfd-based signal delivery: SIGTERM/SIGINT stop the daemon, SIGHUP reloads its config.
// Blocking the signals first means none is lost between two polls.
#include "daemon/signals.hpp"

#include <sys/signalfd.h>
#include <unistd.h>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <string>

#include "config/error.hpp"

namespace chatledger::daemon {

signal_source::signal_source() {
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGTERM);
    sigaddset(&mask, SIGINT);
    sigaddset(&mask, SIGHUP);
    if (sigprocmask(SIG_BLOCK, &mask, nullptr) != 0)
        throw error(std::string("cannot block signals: ") + std::strerror(errno));
    fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (fd_ < 0)
        throw error(std::string("cannot create a signalfd: ") + std::strerror(errno));
}

signal_source::~signal_source() {
    if (fd_ >= 0)
        close(fd_);
}

signal_event signal_source::read() {
    signal_event ev = signal_event::none;
    signalfd_siginfo info;
    while (::read(fd_, &info, sizeof info) == static_cast<ssize_t>(sizeof info)) {
        if (info.ssi_signo == SIGTERM || info.ssi_signo == SIGINT)
            ev = signal_event::terminate;
        else if (info.ssi_signo == SIGHUP && ev == signal_event::none)
            ev = signal_event::reload;
    }
    return ev;
}

}  // namespace chatledger::daemon

// A child process for tests that must signal or kill a real executable (kill -9, SIGTERM).
// Its stdout and stderr go to a log file, so ctest never waits on a pipe a leaked child holds.
#pragma once

#include <sys/types.h>

#include <chrono>
#include <string>
#include <vector>

namespace chatledger::testing {

/// Starts `binary args...` with output appended to `log`; SIGKILLs it on destruction.
class child_process {
  public:
    child_process(const std::string& binary, const std::vector<std::string>& args,
                  const std::string& log);
    ~child_process();
    child_process(const child_process&) = delete;
    child_process& operator=(const child_process&) = delete;

    void signal(int sig);
    /// Waits up to `limit` for the exit; returns the exit status, 128+signal, or -1 on timeout.
    int wait_exit(std::chrono::milliseconds limit);

  private:
    pid_t pid_ = -1;
};

/// The whole file, or "" when it does not exist.
std::string read_file(const std::string& path);

}  // namespace chatledger::testing

// Restarts the throwaway cluster through pg_ctl, as its owner when the tests run as root
// (postgres refuses to run as root).
#include "tests/support/cluster.hpp"

#include <unistd.h>

#include <cstdlib>
#include <string>

namespace chatledger::testing {

int restart_server() {
    const char* host = std::getenv("PGHOST");
    if (host == nullptr)
        return -1;
    const std::string dir = host;
    // -l again: pg_ctl restart does not remember the log file, and a lost log hides CI failures.
    std::string cmd = "/usr/lib/postgresql/15/bin/pg_ctl -D " + dir + "/data -l " + dir +
                      "/server.log -m immediate -w restart >/dev/null 2>&1";
    if (getuid() == 0)
        cmd = "runuser -u postgres -- " + cmd;
    return std::system(cmd.c_str());
}

}  // namespace chatledger::testing

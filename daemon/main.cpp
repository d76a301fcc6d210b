// chatledger-syncd: keeps the legacy chat columns rendered from the append-only ledger.
// A thin wrapper: everything lives in the chatledger_daemon library.
#include <iostream>

#include "daemon/cli.hpp"

int main(int argc, char** argv) {
    return chatledger::daemon::run_cli(argc, argv, std::cout, std::cerr);
}

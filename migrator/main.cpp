// chatledger-migrate: the one-time migration DBAs run (schema, plan, run, verify, recover, status).
// A thin wrapper: everything lives in the chatledger_migrator library.
#include <iostream>

#include "migrator/cli.hpp"

int main(int argc, char** argv) {
    return chatledger::migrator::run_cli(argc, argv, std::cout, std::cerr);
}

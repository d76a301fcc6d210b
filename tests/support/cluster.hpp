// The throwaway cluster scripts/pg-cluster.sh starts, as the restart tests and the chaos runner
// drive it: $PGHOST is its directory, holding data/ and server.log.
#pragma once

namespace chatledger::testing {

/// Restarts the cluster with `pg_ctl -m immediate` (a crash, for its clients) and waits until it
/// accepts connections again; its log stays $PGHOST/server.log. Returns pg_ctl's exit status.
int restart_server();

}  // namespace chatledger::testing

# Shared pieces of the chatledger-syncd benchmarks (sourced, not run): a Release build, a
# throwaway cluster, the default configuration with the daemon logged in as deployed, lag readings.
# The caller sets `root` (the checkout) and `work` (a scratch directory) and uses `set -euo pipefail`.

build=${CHATLEDGER_BENCH_BUILD:-$root/build-bench}
pgbin=/usr/lib/postgresql/15/bin
daemon_pid=""

# Runs from the EXIT trap under set -e: no command here may fail, or the cluster is left running.
bench_cleanup() {
    if [ -n "$daemon_pid" ]; then
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    "$root/scripts/pg-cluster.sh" stop "$work/pg"
    rm -rf "$work"
}

# Builds the executables (Release, no tests) and starts the cluster; stops both on exit.
bench_setup() {
    chmod 755 "$work"
    "$root/scripts/install-deps.sh" >/dev/null
    command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHATLEDGER_BUILD_TESTS=OFF >/dev/null
    cmake --build "$build" -j "$(nproc)" >/dev/null
    trap bench_cleanup EXIT
    eval "$("$root/scripts/pg-cluster.sh" start "$work/pg")"
    export PGHOST PGPORT PGUSER PGDATABASE
}

# `schema` and `run` with the default configuration, as users get it (backup.mode every_rewrite,
# logging at info): only the connection differs. CHATLEDGER_BENCH_EXTRA adds YAML lines to compare
# other modes. Then the daemon, logged in as deployed: a login granted chatledger_daemon only.
bench_start_daemon() {
    local cfg=$work/chatledger.yaml syncd_cfg=$work/syncd.yaml
    printf 'database:\n  conninfo: ""\n%s' "${CHATLEDGER_BENCH_EXTRA:-}" >"$cfg"
    "$build/migrator/chatledger-migrate" --config "$cfg" schema >/dev/null
    "$build/migrator/chatledger-migrate" --config "$cfg" run >/dev/null
    psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE bench_syncd LOGIN; GRANT chatledger_daemon TO bench_syncd"
    printf 'database:\n  conninfo: "user=bench_syncd"\n%s' "${CHATLEDGER_BENCH_EXTRA:-}" >"$syncd_cfg"
    "$build/daemon/chatledger-syncd" --config "$syncd_cfg" 2>"$work/syncd.log" &
    daemon_pid=$!
    sleep 1
}

# Waits until the daemon has worked off the queue (at most $1 tenths of a second, default 100).
bench_wait_drained() {
    for _ in $(seq "${1:-100}"); do
        [ "$(psql -tAc "SELECT NOT EXISTS (SELECT FROM chatledger.sync_queue)")" = t ] && return 0
        sleep 0.1
    done
    return 1
}

# Appends at RATE per second to conversations PREFIX1..PREFIX<COUNT> for SECONDS (pgbench).
bench_appends() {
    local prefix=$1 count=$2 rate=$3 seconds=$4
    cat >"$work/append.sql" <<SQL
\set c random(1, $count)
INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('$prefix' || :c, 'bench', 'lag probe');
SQL
    "$pgbin/pgbench" -n -f "$work/append.sql" -c 4 -j 2 -R "$rate" -T "$seconds" >"$work/lag.out" 2>&1 ||
        { cat "$work/lag.out" >&2; exit 1; }
}

# Sync lag p50 and p99 in ms over the daemon's recent window (4096 events), after one heartbeat.
bench_lag() {
    sleep 2.5
    psql -tAF' ' -c "SELECT round(lag_p50_ms::numeric, 1), round(lag_p99_ms::numeric, 1) FROM chatledger.syncd_instances"
}

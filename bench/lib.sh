# Shared pieces of the benchmarks (sourced, not run): a Release build, a throwaway cluster deployed
# as docs/operations.md ("Deploying") says, the default configuration, the daemon, lag readings.
# The caller sets `root` (the checkout) and `work` (a scratch directory) and uses `set -euo pipefail`.
#
# Deployed: the cluster's superuser creates only the database `bench` and the DBA login
# bench_dba (CREATEROLE, CREATE on the database, no superuser). The DBA owns the legacy side
# (crm.live_chat, and crm.chat_history_backup which `schema` creates), runs `schema`, `run` and
# `verify`, and creates one login per role: bench_syncd (chatledger_daemon only), bench_app
# (chatledger_writer only) and bench_legacy (its privileges on crm.live_chat, nothing of the
# ledger). After bench_cluster, PGUSER is the DBA; $bench_superuser names the superuser.

build=${CHATLEDGER_BENCH_BUILD:-$root/build-bench}
pgbin=/usr/lib/postgresql/15/bin
daemon_pid=""
cfg=$work/chatledger.yaml
syncd_cfg=$work/syncd.yaml
bench_superuser=""

# Runs from the EXIT trap under set -e: no command here may fail, or the cluster is left running.
bench_cleanup() {
    if [ -n "$daemon_pid" ]; then
        kill "$daemon_pid" 2>/dev/null || true
        wait "$daemon_pid" 2>/dev/null || true
    fi
    "$root/scripts/pg-cluster.sh" stop "$work/pg" >/dev/null || true
    rm -rf "$work"
}

# From the start: a failing build leaves no scratch directory behind either.
trap bench_cleanup EXIT

# Builds the executables (Release, no tests); the tools the scripts time and compute with.
bench_build() {
    chmod 755 "$work" # the server runs as postgres and keeps its socket and data below it
    "$root/scripts/install-deps.sh" >/dev/null
    command -v bc >/dev/null && [ -x /usr/bin/time ] || apt-get install -y -qq bc time >/dev/null
    cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHATLEDGER_BUILD_TESTS=OFF >/dev/null
    cmake --build "$build" -j "$(nproc)" >/dev/null
}

# Starts the cluster (bench_cleanup stops it on exit); PGUSER is its superuser until bench_deploy.
bench_cluster() {
    eval "$("$root/scripts/pg-cluster.sh" start "$work/pg")"
    export PGHOST PGPORT PGUSER PGDATABASE
    bench_superuser=$PGUSER
}

# The superuser's two statements, then the DBA's legacy side: an empty crm.live_chat, which the
# caller fills as the DBA, and the legacy writers' login.
bench_deploy() {
    psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE bench_dba LOGIN CREATEROLE" -c "CREATE DATABASE bench" \
        -c "GRANT CREATE ON DATABASE bench TO bench_dba"
    export PGUSER=bench_dba PGDATABASE=bench
    psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA crm;
CREATE TABLE crm.live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history text,
                            comments text, comments_entered_by text);
CREATE ROLE bench_legacy LOGIN;
GRANT USAGE ON SCHEMA crm TO bench_legacy;
GRANT SELECT, INSERT, UPDATE ON crm.live_chat TO bench_legacy;
SQL
}

# bench_build, bench_cluster and bench_deploy.
bench_setup() {
    bench_build
    bench_cluster
    bench_deploy
}

# The default configuration, as users get it (backup.mode every_rewrite, logging at info) for
# login $1: only the connection and the legacy names differ. YAML lines $2 follow (by default
# CHATLEDGER_BENCH_EXTRA, which compares other modes).
bench_config() {
    printf 'database:\n  conninfo: "dbname=bench user=%s"\nlegacy:\n  table: crm.live_chat\nbackup:\n  table: crm.chat_history_backup\n%s' \
        "$1" "${2-${CHATLEDGER_BENCH_EXTRA:-}}"
}

# The DBA's `schema` (with $cfg, YAML lines $1 as bench_config's $2), then the daemon's and the
# applications' logins, each granted its role only, and the daemon's configuration $syncd_cfg.
bench_schema() {
    bench_config bench_dba "$@" >"$cfg"
    bench_config bench_syncd "$@" >"$syncd_cfg"
    bench_dba_command schema
    psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE bench_syncd LOGIN; GRANT chatledger_daemon TO bench_syncd" \
        -c "CREATE ROLE bench_app LOGIN; GRANT chatledger_writer TO bench_app"
}

# chatledger-migrate COMMAND as the DBA, its log shown only when it fails.
bench_dba_command() {
    "$build/migrator/chatledger-migrate" --config "$cfg" "$1" >"$work/$1.log" 2>&1 ||
        { cat "$work/$1.log" >&2; exit 1; }
}

# `schema` and `run` as the DBA.
bench_migrate() {
    bench_schema "$@"
    bench_dba_command run
}

# The daemon as bench_syncd, in the background (it refuses a superuser); bench_stop_daemon ends it.
bench_start_daemon() {
    "$build/daemon/chatledger-syncd" --config "$syncd_cfg" 2>>"$work/syncd.log" &
    daemon_pid=$!
    sleep 1
}

bench_stop_daemon() {
    kill "$daemon_pid"
    wait "$daemon_pid" || true
    daemon_pid=""
}

# Waits until the daemon has worked off the queue and collected every append (at most $1 tenths
# of a second, default 100).
bench_wait_drained() {
    for _ in $(seq "${1:-100}"); do
        [ "$(psql -tAc "SELECT NOT EXISTS (SELECT FROM chatledger.sync_queue) AND NOT EXISTS (SELECT FROM chatledger.uncollected_appends)")" = t ] && return 0
        sleep 0.1
    done
    return 1
}

# Appends as bench_app at RATE per second to conversations PREFIX1..PREFIX<COUNT> for SECONDS
# (pgbench, 4 clients); the pgbench output is left in $work/lag.out.
bench_appends() {
    local prefix=$1 count=$2 rate=$3 seconds=$4
    cat >"$work/append.sql" <<SQL
\set c random(1, $count)
INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('$prefix' || :c, 'bench', 'lag probe');
SQL
    "$pgbin/pgbench" -U bench_app -n -f "$work/append.sql" -c 4 -j 2 -R "$rate" -T "$seconds" >"$work/lag.out" 2>&1 ||
        { cat "$work/lag.out" >&2; exit 1; }
}

# Sync lag p50 and p99 in ms over the daemon's recent window (4096 events), after one heartbeat.
bench_lag() {
    sleep 2.5
    psql -tAF' ' -c "SELECT round(lag_p50_ms::numeric, 1), round(lag_p99_ms::numeric, 1) FROM chatledger.syncd_instances"
}

# How many conversations in crm.live_chat matching LIKE pattern $1 (default all) do not hold as
# many messages as the ledger.
bench_not_in_step() {
    psql -tAc "SELECT count(*) FROM crm.live_chat l WHERE zoho_id LIKE '${1:-%}' AND json_array_length(chat_history::json) <> (SELECT count(*) FROM chatledger.chat_messages m WHERE m.zoho_id = l.zoho_id)"
}

# The configuration line of the summary: "default" ($1 says what that is) or the extra lines.
bench_configuration() {
    printf 'configuration            %s\n' "${CHATLEDGER_BENCH_EXTRA:+default plus: $(echo "$CHATLEDGER_BENCH_EXTRA" | tr '\n' ' ')}${CHATLEDGER_BENCH_EXTRA:-default${1:+ ($1)}}"
}

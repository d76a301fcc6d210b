#!/usr/bin/env bash
# chatledger-syncd cost against conversation length, in one run: the daemon's CPU time per
# append and the sync lag at a steady append rate to one conversation of SHORT messages, then to
# one of LONG messages (a fresh daemon for each, so the lag window holds one phase only).
# Usage: bench/syncd_length_bench.sh [SECONDS] [RATE] [LONG] [SHORT]   (default 20 10 20000 20)
# Runs with the default configuration; CHATLEDGER_BENCH_EXTRA (YAML lines) compares another.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-20}
rate=${2:-10}
long=${3:-20000}
short=${4:-20}
work=$(mktemp -d /tmp/chatledger-length-bench.XXXXXX)
chmod 755 "$work"
build=${CHATLEDGER_BENCH_BUILD:-$root/build-bench}
pgbin=/usr/lib/postgresql/15/bin

"$root/scripts/install-deps.sh" >/dev/null
command -v bc >/dev/null || apt-get install -y -qq bc >/dev/null
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHATLEDGER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null

daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    "$root/scripts/pg-cluster.sh" stop "$work/pg"
    rm -rf "$work"
}
trap cleanup EXIT
eval "$("$root/scripts/pg-cluster.sh" start "$work/pg")"
export PGHOST PGPORT PGUSER PGDATABASE

# Messages as a dashboard writes them (about 130 bytes each: 20,000 make some 2.7 MB of JSON).
psql -q -v ON_ERROR_STOP=1 <<SQL
CREATE TABLE live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history text,
                        comments text, comments_entered_by text);
INSERT INTO live_chat (zoho_id, full_name, chat_history)
SELECT k, 'Employee ' || k, (SELECT json_agg(json_build_object('sender', 'agent ' || (i % 7),
       'message', 'message number ' || i || ' of a long and winding conversation',
       'timestamp', to_char(timestamp '2025-01-01' + i * interval '1 min',
                            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text
       FROM generate_series(1, n) i)
FROM (VALUES ('long', $long), ('short', $short)) AS v(k, n);
SQL
cfg=$work/chatledger.yaml
printf 'database:\n  conninfo: ""\n%s' "${CHATLEDGER_BENCH_EXTRA:-}" >"$cfg"
"$build/migrator/chatledger-migrate" --config "$cfg" schema >/dev/null
"$build/migrator/chatledger-migrate" --config "$cfg" run >/dev/null
psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE bench_syncd LOGIN; GRANT chatledger_daemon TO bench_syncd"
syncd_cfg=$work/syncd.yaml
printf 'database:\n  conninfo: "user=bench_syncd"\n%s' "${CHATLEDGER_BENCH_EXTRA:-}" >"$syncd_cfg"
ticks=$(getconf CLK_TCK)

# phase KEY: prints "CPU-ms-per-append p50-ms p99-ms"
phase() {
    "$build/daemon/chatledger-syncd" --config "$syncd_cfg" 2>>"$work/syncd.log" &
    daemon_pid=$!
    sleep 1
    local cpu0
    cpu0=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
    printf "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('%s', 'bench', 'probe');\n" "$1" >"$work/append.sql"
    "$pgbin/pgbench" -n -f "$work/append.sql" -c 1 -R "$rate" -T "$seconds" >"$work/$1.out" 2>&1 || { cat "$work/$1.out" >&2; exit 1; }
    for _ in $(seq 300); do [ "$(psql -tAc "SELECT count(*) FROM chatledger.sync_queue")" = 0 ] && break; sleep 0.1; done
    local cpu1 appends
    cpu1=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
    appends=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/$1.out")
    sleep 2.5  # one heartbeat
    local lag
    lag=$(psql -tAF' ' -c "SELECT round(lag_p50_ms::numeric, 1), round(lag_p99_ms::numeric, 1) FROM chatledger.syncd_instances")
    kill "$daemon_pid"; wait "$daemon_pid" || true; daemon_pid=""
    psql -qc "DELETE FROM chatledger.syncd_instances"
    echo "$(echo "($cpu1 - $cpu0) * 1000 / $ticks / $appends" | bc -l) $lag"
}

echo "cost per append at $rate appends/s for $seconds s: $short-message conversation, then $long"
read -r short_cpu short_p50 short_p99 <<<"$(phase short)"
read -r long_cpu long_p50 long_p99 <<<"$(phase long)"
in_step=$(psql -tAc "SELECT bool_and(json_array_length(chat_history::json) = (SELECT count(*) FROM chatledger.chat_messages m WHERE m.zoho_id = l.zoho_id)) FROM live_chat l")
size=$(psql -tAc "SELECT pg_size_pretty(octet_length(chat_history)::bigint) FROM live_chat WHERE zoho_id = 'long'")

printf '\nconfiguration            %s\n' "${CHATLEDGER_BENCH_EXTRA:+default plus: $(echo "$CHATLEDGER_BENCH_EXTRA" | tr '\n' ' ')}${CHATLEDGER_BENCH_EXTRA:-default}"
printf '%6s messages         CPU %.2f ms per append, lag p50 %s ms, p99 %s ms\n' "$short" "$short_cpu" "$short_p50" "$short_p99"
printf '%6s messages (%s) CPU %.2f ms per append, lag p50 %s ms, p99 %s ms  (target p99 <= 250)\n' "$long" "$size" "$long_cpu" "$long_p50" "$long_p99"
printf 'columns in step: %s\n' "$in_step"
printf 'ratio long/short CPU     %.1f  (target <= 5)\n' "$(echo "$long_cpu / $short_cpu" | bc -l)"

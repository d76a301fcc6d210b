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
. "$root/bench/lib.sh"
bench_setup

# Messages as a dashboard writes them (about 130 bytes each: 20,000 make some 2.7 MB of JSON).
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history)
SELECT k, 'Employee ' || k, (SELECT json_agg(json_build_object('sender', 'agent ' || (i % 7),
       'message', 'message number ' || i || ' of a long and winding conversation',
       'timestamp', to_char(timestamp '2025-01-01' + i * interval '1 min',
                            'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text
       FROM generate_series(1, n) i)
FROM (VALUES ('long', $long), ('short', $short)) AS v(k, n);
SQL
bench_migrate
ticks=$(getconf CLK_TCK)

# phase KEY: writes "CPU-ms-per-append p50-ms p99-ms" to $work/KEY.phase. In this shell, not a
# command substitution, so that a failure ends the run and the exit trap stops this daemon.
phase() {
    bench_start_daemon
    local cpu0
    cpu0=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
    printf "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('%s', 'bench', 'probe');\n" "$1" >"$work/append.sql"
    "$pgbin/pgbench" -U bench_app -n -f "$work/append.sql" -c 1 -R "$rate" -T "$seconds" >"$work/$1.out" 2>&1 || { cat "$work/$1.out" >&2; exit 1; }
    bench_wait_drained 300 || true
    local cpu1 appends
    cpu1=$(awk '{print $14 + $15}' "/proc/$daemon_pid/stat")
    appends=$(sed -n 's/^number of transactions actually processed: \([0-9]*\).*/\1/p' "$work/$1.out")
    local lag
    lag=$(bench_lag)
    bench_stop_daemon
    psql -qc "DELETE FROM chatledger.syncd_instances"
    echo "$(echo "($cpu1 - $cpu0) * 1000 / $ticks / $appends" | bc -l) $lag" >"$work/$1.phase"
}

echo "cost per append at $rate appends/s for $seconds s: $short-message conversation, then $long"
phase short
phase long
read -r short_cpu short_p50 short_p99 <"$work/short.phase"
read -r long_cpu long_p50 long_p99 <"$work/long.phase"
in_step=$(psql -tAc "SELECT bool_and(json_array_length(chat_history::json) = (SELECT count(*) FROM chatledger.chat_messages m WHERE m.zoho_id = l.zoho_id)) FROM crm.live_chat l")
size=$(psql -tAc "SELECT pg_size_pretty(octet_length(chat_history)::bigint) FROM crm.live_chat WHERE zoho_id = 'long'")

echo
bench_configuration
printf '%6s messages         CPU %.2f ms per append, lag p50 %s ms, p99 %s ms\n' "$short" "$short_cpu" "$short_p50" "$short_p99"
printf '%6s messages (%s) CPU %.2f ms per append, lag p50 %s ms, p99 %s ms  (target p99 <= 250)\n' "$long" "$size" "$long_cpu" "$long_p50" "$long_p99"
printf 'columns in step: %s\n' "$in_step"
printf 'ratio long/short CPU     %.1f  (target <= 5)\n' "$(echo "$long_cpu / $short_cpu" | bc -l)"

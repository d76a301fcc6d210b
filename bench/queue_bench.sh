#!/usr/bin/env bash
# The sync queue under a pinned xmin horizon, in one run on a throwaway cluster with
# the default configuration: sync lag on untouched conversations before, then APPENDS appends
# worked off by chatledger-syncd while a session of our own sits idle in transaction, then the
# lag again, with the queue's dead rows and size, and the ratio after/before.
# Usage: bench/queue_bench.sh [APPENDS] [BATCH] [CONVERSATIONS]   (default 1200000 20000 1000)
# The lag probes append PROBE_RATE per second (default 200) for PROBE_SECONDS (default 25) to
# CONVERSATIONS conversations (1000) the bulk never touches: enough events to fill the daemon's 4096-event window.
set -Eeuo pipefail
trap 'echo "queue_bench: line $LINENO: $BASH_COMMAND failed" >&2' ERR

root=$(cd "$(dirname "$0")/.." && pwd)
appends=${1:-1200000}
batch=${2:-20000}
conversations=${3:-1000}
probe_rate=${PROBE_RATE:-200}
probe_seconds=${PROBE_SECONDS:-25}
work=$(mktemp -d /tmp/chatledger-queue-bench.XXXXXX)
. "$root/bench/lib.sh"
bench_setup

idle_pid=""
stop_idle() {
    if [ -n "$idle_pid" ]; then
        kill "$idle_pid" 2>/dev/null || true
        wait "$idle_pid" 2>/dev/null || true
    fi
}
trap 'stop_idle; bench_cleanup' EXIT

psql -q -v ON_ERROR_STOP=1 -c "INSERT INTO crm.live_chat (zoho_id, full_name, chat_history)
SELECT p || i, 'Employee ' || i, '[]' FROM generate_series(1, $conversations) i, unnest(ARRAY['c', 'p']) p"
bench_migrate
bench_start_daemon

# The queue's size with indexes and TOAST, and its dead rows, over its partitions if it has any.
queue_figures() {
    sleep 1  # the daemon's statistics reach the server within a second of going idle
    psql -tAF' ' -c "SELECT coalesce(sum(n_dead_tup), 0), pg_size_pretty(coalesce(sum(pg_total_relation_size(relid)), 0)) FROM pg_stat_user_tables WHERE relid = 'chatledger.sync_queue'::regclass OR relid IN (SELECT inhrelid FROM pg_inherits WHERE inhparent = 'chatledger.sync_queue'::regclass)"
}
# Writes "p50 p99" to $work/probe: in this shell, so that a failing probe ends the run (inside a
# command substitution its exit went unnoticed).
probe() {
    bench_appends p "$conversations" "$probe_rate" "$probe_seconds"
    bench_wait_drained 600 || { echo "the queue did not drain after the probe" >&2; exit 1; }
    bench_lag >"$work/probe"
}

echo "1. before: lag probe, $probe_rate appends/s for $probe_seconds s"
probe
read -r p50_before p99_before <"$work/probe"
read -r dead_before size_before <<<"$(queue_figures)"

echo "2. a session idle in transaction, then $appends appends in batches of $batch over $conversations conversations"
mkfifo "$work/idle.in"
psql -q -X <"$work/idle.in" >/dev/null &
idle_pid=$!
exec 3>"$work/idle.in"
echo "SET application_name = 'queue_bench idle'; BEGIN; SELECT txid_current();" >&3
for _ in $(seq 50); do
    [ "$(psql -tAc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'queue_bench idle' AND state = 'idle in transaction'")" = 1 ] && break
    sleep 0.1
done
start=$(date +%s)
done_appends=0
while [ "$done_appends" -lt "$appends" ]; do
    psql -q -v ON_ERROR_STOP=1 -U bench_app -c "INSERT INTO chatledger.chat_messages (zoho_id, author, body) SELECT 'c' || (i % $conversations + 1), 'bulk', 'bulk ' || i FROM generate_series($done_appends + 1, $done_appends + $batch) i"
    done_appends=$((done_appends + batch))
    bench_wait_drained 3000 || { echo "the queue did not drain after $done_appends appends" >&2; exit 1; }
done
elapsed=$(($(date +%s) - start))
[ "$(psql -tAc "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'queue_bench idle' AND state = 'idle in transaction'")" = 1 ] ||
    { echo "the idle session ended early" >&2; exit 1; }

echo "3. after: lag probe with the session still open"
probe
read -r p50_after p99_after <"$work/probe"
read -r dead_after size_after <<<"$(queue_figures)"
# Nothing below may end the run early: a write interrupted by the idle session's exit once did,
# silently, under set -e.
set +e
trap - ERR
exec 3>&-
stop_idle
missing=$(bench_not_in_step)

target=$(echo "t = 2 * $p99_before; if (t < 50) t = 50; t" | bc -l)
printf '\nconfiguration     default; %s appends worked off in %s s under a session idle in transaction\n' "$appends" "$elapsed"
printf '%-16s %12s %12s %12s %12s\n' "" "dead rows" "queue size" "lag p50 ms" "lag p99 ms"
printf '%-16s %12s %12s %12s %12s\n' before "$dead_before" "$size_before" "$p50_before" "$p99_before"
printf '%-16s %12s %12s %12s %12s\n' after "$dead_after" "$size_after" "$p50_after" "$p99_after"
printf 'conversations not in step: %s\n' "$missing"
printf 'ratio after/before   p50 %.2f  p99 %.2f  (target: p99 after <= %.0f ms, max(50 ms, 2x before))\n' \
    "$(echo "$p50_after / $p50_before" | bc -l)" "$(echo "$p99_after / $p99_before" | bc -l)" "$target"

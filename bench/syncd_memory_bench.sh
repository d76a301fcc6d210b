#!/usr/bin/env bash
# chatledger-syncd peak memory against the largest legacy value (issue 12: at most 4x it plus
# 100 MB): one conversation of MB megabytes of JSON, migrated, then an application append and
# `syncd --once`, which renders it whole; and a backlog of WRITES captured legacy writes of it.
# Usage: bench/syncd_memory_bench.sh [MB] [WRITES]   (default 50 4)
# Runs with the default configuration; prints the peak resident set of each pass (time -v).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-50}
writes=${2:-4}
work=$(mktemp -d /tmp/chatledger-memory-bench.XXXXXX)
. "$root/bench/lib.sh"
bench_setup

# Elements of about 500 bytes, as many as make MB megabytes.
n=$((mb * 2000))
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history)
SELECT 'big', 'Big', (SELECT json_agg(json_build_object('sender', 'agent ' || (i % 7),
       'message', 'message ' || i || ' ' || repeat('lorem ipsum ', 38),
       'timestamp', '2025-01-01T00:00:00.000Z'))::text FROM generate_series(1, $n) i);
SQL
bench_migrate ""
size=$(psql -tAc "SELECT octet_length(chat_history) FROM crm.live_chat")

peak() {  # the maximum resident set size of the command, in MB
    /usr/bin/time -v "$@" 2>"$work/time.out" >/dev/null || { cat "$work/time.out" >&2; exit 1; }
    sed -n 's/.*Maximum resident set size (kbytes): \([0-9]*\)/\1/p' "$work/time.out" | awk '{printf "%.0f", $1 / 1024}'
}

psql -q -U bench_app -c "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('big', 'bench', 'one more')"
once=$(peak "$build/daemon/chatledger-syncd" --config "$syncd_cfg" --once)
# A backlog of legacy writes of the whole value, each captured with its snapshot.
for i in $(seq "$writes"); do
    psql -q -U bench_legacy -c "UPDATE crm.live_chat SET chat_history = left(chat_history, -1) || ',\"write $i\"]'"
done
backlog=$(peak "$build/daemon/chatledger-syncd" --config "$syncd_cfg" --once)
in_step=$(psql -tAc "SELECT json_array_length(chat_history::json) = (SELECT count(*) FROM chatledger.chat_messages) FROM crm.live_chat")

limit=$(echo "4 * $size / 1048576 + 100" | bc)
printf '\nlegacy value             %s MB (%s elements)\n' "$((size / 1048576))" "$n"
printf 'syncd --once peak        %s MB  (target <= %s MB)\n' "$once" "$limit"
printf 'with %s queued writes    %s MB  (target <= %s MB)\n' "$writes" "$backlog" "$limit"
printf 'column in step: %s\n' "$in_step"

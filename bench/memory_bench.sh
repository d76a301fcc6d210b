#!/usr/bin/env bash
# Peak memory of chatledger-migrate plan, run and verify against the largest legacy value: a few
# ordinary conversations and one whose history is MB megabytes. Prints max RSS per command, its
# ratio to that value and the budget (4x the value plus 100 MB, docs/operations.md). Usage:
#   bench/memory_bench.sh [MB] [SHAPE]   (default 50 messages; SHAPE messages | one_message)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
mb=${1:-50}
shape=${2:-messages}
work=$(mktemp -d /tmp/chatledger-membench.XXXXXX)
. "$root/bench/lib.sh"
bench_setup
migrate=$build/migrator/chatledger-migrate

# The large value: ~150-byte messages, or one message whose body is the whole value.
if [ "$shape" = one_message ]; then
    large="'[{\"sender\":\"agent\",\"message\":\"' || repeat('x', $mb * 1048576 - 60) || '\",\"timestamp\":\"2025-01-01T00:00:00.000Z\"}]'"
else
    large="(SELECT '[' || string_agg(format('{\"sender\":\"agent%s\",\"message\":\"message %s of the large conversation, with some ordinary chat text\",\"timestamp\":\"2025-01-01T00:00:00.000Z\"}', j % 5, j), ',') || ']' FROM generate_series(1, ($mb * 1048576 / 140)::int) j)"
fi
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history, comments, comments_entered_by)
SELECT 'Z' || lpad(i::text, 4, '0'), 'Employee ' || i,
       '[{"sender":"agent","message":"hello ' || i || '","timestamp":"2025-01-01T00:00:00.000Z"}]',
       'hello ' || i, 'agent'
FROM generate_series(1, 20) i;
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history) VALUES ('Z5000', 'Large', $large);
SQL
bytes=$(psql -tAc "SELECT max(octet_length(chat_history)) FROM crm.live_chat")
bench_schema ""

budget_kb=$(( (4 * bytes + 100 * 1048576) / 1024 ))
printf 'largest legacy value: %d bytes (%s); budget 4x + 100 MB = %d MB\n' \
    "$bytes" "$shape" $((budget_kb / 1024))
printf '%-8s %12s %16s %10s\n' command "max RSS MB" "RSS / value" "in budget"
for command in plan run verify; do
    /usr/bin/time -v -o "$work/time.$command" "$migrate" --config "$cfg" "$command" \
        >"$work/out.$command" 2>&1 || { cat "$work/out.$command"; exit 1; }
    kb=$(awk -F': ' '/Maximum resident set size/ {print $2}' "$work/time.$command")
    printf '%-8s %12d %16.2f %10s\n' "$command" $((kb / 1024)) \
        "$(echo "$kb * 1024 / $bytes" | bc -l)" "$([ "$kb" -le "$budget_kb" ] && echo yes || echo NO)"
done

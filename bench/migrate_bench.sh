#!/usr/bin/env bash
# Migration speed: chatledger-migrate run against two baselines measured in the same run on the
# same data: a plain COPY of the flattened rows into an identical empty table, and the
# one-statement SQL migration; then `verify` against `run`. Prints the ratios and peak RSS. Usage:
#   bench/migrate_bench.sh [CONVERSATIONS] [MESSAGES_PER_CONVERSATION]   (default 100000 20)
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
conversations=${1:-100000}
per=${2:-20}
work=$(mktemp -d /tmp/chatledger-bench.XXXXXX)
. "$root/bench/lib.sh"
bench_build
migrate=$build/migrator/chatledger-migrate

bench_cluster
psql -q -c "ALTER SYSTEM SET max_wal_size = '4GB'" -c "ALTER SYSTEM SET shared_buffers = '1GB'" \
     -c "ALTER SYSTEM SET checkpoint_timeout = '30min'"
runuser -u postgres -- /usr/lib/postgresql/15/bin/pg_ctl -D "$work/pg/data" -w restart -m fast >/dev/null
# Deployed as docs/operations.md says (bench/lib.sh); the superuser only takes the CHECKPOINTs
# between measurements.
bench_deploy
checkpoint() { psql -q -U "$bench_superuser" -c CHECKPOINT; }

now() { date +%s.%N; }
elapsed() { echo "$2 - $1" | bc; }

echo "generating $conversations conversations x $per messages"
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history)
SELECT 'Z' || lpad(i::text, 7, '0'), 'Employee ' || i,
       '[' || string_agg(format('{"sender":"agent%s","message":"message %s of conversation %s with some ordinary chat text","timestamp":"%s"}',
                                j % 5, j, i, to_char(timestamp '2025-01-01' + (i * 37 + j) * interval '1 minute',
                                                     'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')), ',' ORDER BY j) || ']'
FROM generate_series(1, $conversations) i, generate_series(1, $per) j
GROUP BY i;
VACUUM ANALYZE crm.live_chat;
SQL
bench_schema "$(printf 'migrate:\n  workers: %s\n' "${CHATLEDGER_BENCH_WORKERS:-2}")"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA bench;
-- The baselines' tables are scratch: autovacuum on their millions of new rows would run during
-- `run` and `verify` and be counted against them (it did, for most of a 10,000,000-message run).
CREATE TABLE bench.copy_target (LIKE chatledger.chat_messages INCLUDING ALL) WITH (autovacuum_enabled = off);
CREATE TABLE bench.sql_target (LIKE chatledger.chat_messages INCLUDING ALL) WITH (autovacuum_enabled = off);
SQL
psql -q -c "\\copy (SELECT l.zoho_id, e->>'sender', e->>'message', (e->>'timestamp')::timestamptz, e, 'migration' FROM crm.live_chat l, json_array_elements(l.chat_history::json) WITH ORDINALITY AS t(e, n) ORDER BY l.zoho_id, n) TO '$work/flat.copy'"
messages=$(psql -tAc "SELECT count(*) FROM crm.live_chat l, json_array_elements(l.chat_history::json)")
checkpoint

t0=$(now)
psql -q -c "\\copy bench.copy_target (zoho_id, author, body, sent_at, payload, source) FROM '$work/flat.copy'"
t1=$(now)
copy_s=$(elapsed "$t0" "$t1")
checkpoint

t0=$(now)
psql -q -c "INSERT INTO bench.sql_target (zoho_id, author, body, sent_at, payload, source)
            SELECT l.zoho_id, e->>'sender', e->>'message', (e->>'timestamp')::timestamptz, e, 'migration'
            FROM crm.live_chat l, json_array_elements(l.chat_history::json) WITH ORDINALITY AS t(e, n)
            ORDER BY l.zoho_id, n"
t1=$(now)
sql_s=$(elapsed "$t0" "$t1")
checkpoint

t0=$(now)
/usr/bin/time -f "%M %U %S" -o "$work/rss" "$migrate" --config "$cfg" run >"$work/run.out"
t1=$(now)
run_s=$(elapsed "$t0" "$t1")
read -r rss_kb cpu_user cpu_sys <"$work/rss"
rss_mb=$(( rss_kb / 1024 ))
migrated=$(psql -tAc "SELECT count(*) FROM chatledger.chat_messages")
[ "$migrated" = "$messages" ] || { echo "run migrated $migrated of $messages messages" >&2; exit 1; }

# verify reads both sides whole, message by message: against run's time, and its memory.
t0=$(now)
/usr/bin/time -f "%M" -o "$work/rss_verify" "$migrate" --config "$cfg" verify >/dev/null
t1=$(now)
verify_s=$(elapsed "$t0" "$t1")
verify_rss_mb=$(( $(cat "$work/rss_verify") / 1024 ))

# Memory on one huge conversation: 100,000 messages in a single legacy value.
psql -q -v ON_ERROR_STOP=1 <<'SQL'
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history)
SELECT 'ZBIG', 'Big talker', '[' || string_agg(format('{"sender":"agent%s","message":"message %s of the one huge conversation","timestamp":"2025-06-01T00:00:00.000Z"}', j % 5, j), ',' ORDER BY j) || ']'
FROM generate_series(1, 100000) j;
SQL
/usr/bin/time -f "%M" -o "$work/rss_big" "$migrate" --config "$cfg" run >/dev/null
big_rss_mb=$(( $(cat "$work/rss_big") / 1024 ))
big=$(psql -tAc "SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = 'ZBIG'")
[ "$big" = 100000 ] || { echo "the huge conversation migrated $big of 100000 messages" >&2; exit 1; }

printf '\nmessages                %s in %s conversations\n' "$messages" "$conversations"
printf 'COPY baseline           %.2f s\n' "$copy_s"
printf 'SQL statement baseline  %.2f s\n' "$sql_s"
printf "chatledger-migrate run  %.2f s, peak RSS %s MB, client CPU %s s user %s s sys\n" "$run_s" "$rss_mb" "$cpu_user" "$cpu_sys"
printf 'chatledger-migrate verify %.2f s, peak RSS %s MB\n' "$verify_s" "$verify_rss_mb"
printf 'one 100,000-message conversation: peak RSS %s MB (target < 200)\n' "$big_rss_mb"
printf 'ratio run/COPY          %.2f  (target <= 0.85)\n' "$(echo "$run_s / $copy_s" | bc -l)"
printf 'ratio run/SQL           %.2f  (target <= 0.70)\n' "$(echo "$run_s / $sql_s" | bc -l)"
printf 'ratio verify/run        %.2f  (target <= 1.5)\n' "$(echo "$verify_s / $run_s" | bc -l)"

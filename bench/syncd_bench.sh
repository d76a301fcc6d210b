#!/usr/bin/env bash
# chatledger-syncd speed, in one run on a generated legacy table:
#  1. sync lag (commit to legacy column) under a steady append rate over many conversations;
#  2. rewrites caused by a burst of 100 appends to one conversation;
#  3. append throughput with the daemon running against the old write path (SERIALIZABLE,
#     SELECT ... FOR UPDATE, before/after backup rows, retries) on 10 hot conversations.
# Usage: bench/syncd_bench.sh [SECONDS] [RATE] [CONVERSATIONS]   (default 30 500 1000)
# Runs with the default configuration; CHATLEDGER_BENCH_EXTRA=$'backup:\n  mode: drift_only\n'
# (any YAML lines) compares another configuration.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-30}
rate=${2:-500}
conversations=${3:-1000}
work=$(mktemp -d /tmp/chatledger-syncd-bench.XXXXXX)
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
# Deployed as docs/operations.md says: the superuser creates the database and the DBA login
# (CREATEROLE, no superuser) and nothing else. The DBA owns the legacy side in crm, runs schema
# and run and creates one login per role: the daemon's, the applications' (the new write path)
# and the legacy writers' (the old one).
psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE bench_dba LOGIN CREATEROLE" -c "CREATE DATABASE bench" \
    -c "GRANT CREATE ON DATABASE bench TO bench_dba"
export PGUSER=bench_dba PGDATABASE=bench

psql -q -v ON_ERROR_STOP=1 <<SQL
CREATE SCHEMA crm;
CREATE TABLE crm.live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history text,
                            comments text, comments_entered_by text);
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history)
SELECT 'c' || i, 'Employee ' || i,
       '[{"sender":"seed","message":"hello ' || i || '","timestamp":"2025-01-01T00:00:00.000Z"}]'
FROM generate_series(1, $conversations) i;
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history) SELECT 'h' || i, 'Hot ' || i, '[]' FROM generate_series(1, 10) i;
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history) VALUES ('burst', 'Burst', '[]');
-- The old system, untouched by chatledger: its own table and backup table, its own writers.
CREATE TABLE crm.old_live_chat (LIKE crm.live_chat INCLUDING ALL);
INSERT INTO crm.old_live_chat SELECT * FROM crm.live_chat WHERE zoho_id LIKE 'h%';
CREATE TABLE crm.old_backup (id serial PRIMARY KEY, zoho_id text, full_name text,
    backup_timestamp timestamptz DEFAULT now(), operation_type text, chat_history_backup text,
    comments_backup text, comments_entered_by_backup text, operation_user text);
CREATE ROLE bench_legacy LOGIN;
GRANT USAGE ON SCHEMA crm TO bench_legacy;
GRANT SELECT, UPDATE ON crm.old_live_chat TO bench_legacy;
GRANT SELECT, INSERT ON crm.old_backup TO bench_legacy;
GRANT USAGE ON SEQUENCE crm.old_backup_id_seq TO bench_legacy;
SQL
# The default configuration, as users get it (backup.mode every_rewrite, logging at info): only
# the connection and the legacy names differ. CHATLEDGER_BENCH_EXTRA adds YAML lines to compare
# other modes.
config() {
    printf 'database:\n  conninfo: "dbname=bench user=%s"\nlegacy:\n  table: crm.live_chat\nbackup:\n  table: crm.chat_history_backup\n%s' \
        "$1" "${CHATLEDGER_BENCH_EXTRA:-}"
}
cfg=$work/chatledger.yaml
config bench_dba >"$cfg"
"$build/migrator/chatledger-migrate" --config "$cfg" schema >/dev/null
"$build/migrator/chatledger-migrate" --config "$cfg" run >/dev/null
# The daemon logs in as deployed: a login granted chatledger_daemon only (it refuses a superuser).
psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE bench_syncd LOGIN; GRANT chatledger_daemon TO bench_syncd" \
    -c "CREATE ROLE bench_app LOGIN; GRANT chatledger_writer TO bench_app"
syncd_cfg=$work/syncd.yaml
config bench_syncd >"$syncd_cfg"
"$build/daemon/chatledger-syncd" --config "$syncd_cfg" 2>"$work/syncd.log" &
daemon_pid=$!
sleep 1

echo "1. lag: $rate appends/s over $conversations conversations for $seconds s"
cat >"$work/append.sql" <<SQL
\set c random(1, $conversations)
INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('c' || :c, 'bench', 'lag probe');
SQL
"$pgbin/pgbench" -U bench_app -n -f "$work/append.sql" -c 4 -j 2 -R "$rate" -T "$seconds" >"$work/lag.out" 2>&1 || { cat "$work/lag.out"; exit 1; }
for _ in $(seq 100); do [ "$(psql -tAc "SELECT count(*) FROM chatledger.sync_queue")" = 0 ] && break; sleep 0.1; done
sleep 2.5  # one heartbeat
read -r p50 p99 <<<"$(psql -tAF' ' -c "SELECT round(lag_p50_ms::numeric, 1), round(lag_p99_ms::numeric, 1) FROM chatledger.syncd_instances")"
missing=$(psql -tAc "SELECT count(*) FROM crm.live_chat l WHERE zoho_id LIKE 'c%' AND json_array_length(chat_history::json) <> (SELECT count(*) FROM chatledger.chat_messages m WHERE m.zoho_id = l.zoho_id)")

echo "2. burst: 100 appends to one conversation"
before=$(psql -tAc "SELECT rewrites FROM chatledger.syncd_instances")
for i in $(seq 1 100); do echo "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('burst', 'b', 'burst $i');"; done | psql -q -U bench_app
for _ in $(seq 100); do [ "$(psql -tAc "SELECT count(*) FROM chatledger.sync_queue")" = 0 ] && break; sleep 0.1; done
sleep 2.5
after=$(psql -tAc "SELECT rewrites FROM chatledger.syncd_instances")
burst_rewrites=$((after - before))
burst_len=$(psql -tAc "SELECT json_array_length(chat_history::json) FROM crm.live_chat WHERE zoho_id = 'burst'")

echo "3. throughput: 16 clients on 10 hot conversations, 10 s each"
cat >"$work/old.sql" <<'SQL'
\set c random(1, 10)
BEGIN ISOLATION LEVEL SERIALIZABLE;
SELECT chat_history FROM crm.old_live_chat WHERE zoho_id = 'h' || :c FOR UPDATE;
INSERT INTO crm.old_backup (zoho_id, full_name, operation_type, chat_history_backup, comments_backup, comments_entered_by_backup, operation_user)
SELECT zoho_id, full_name, 'before_update', chat_history, comments, comments_entered_by, 'dashboard' FROM crm.old_live_chat WHERE zoho_id = 'h' || :c;
UPDATE crm.old_live_chat SET chat_history = CASE WHEN chat_history = '[]' THEN '[' ELSE left(chat_history, -1) || ',' END
       || '{"sender":"bench","message":"old path","timestamp":"2025-01-01T00:00:00.000Z"}]',
       comments = 'old path', comments_entered_by = 'bench' WHERE zoho_id = 'h' || :c;
INSERT INTO crm.old_backup (zoho_id, full_name, operation_type, chat_history_backup, comments_backup, comments_entered_by_backup, operation_user)
SELECT zoho_id, full_name, 'after_update', chat_history, comments, comments_entered_by, 'dashboard' FROM crm.old_live_chat WHERE zoho_id = 'h' || :c;
COMMIT;
SQL
cat >"$work/new.sql" <<'SQL'
\set c random(1, 10)
INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('h' || :c, 'bench', 'new path');
SQL
"$pgbin/pgbench" -U bench_legacy -n -f "$work/old.sql" -c 16 -j 2 -T 10 --max-tries 10 >"$work/old.out" 2>&1 || true
"$pgbin/pgbench" -U bench_app -n -f "$work/new.sql" -c 16 -j 2 -T 10 --max-tries 10 >"$work/new.out" 2>&1 || true
tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -1; }
failed() { sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$1" | head -1; }
old_tps=$(tps "$work/old.out"); new_tps=$(tps "$work/new.out")
for _ in $(seq 300); do [ "$(psql -tAc "SELECT count(*) FROM chatledger.sync_queue")" = 0 ] && break; sleep 0.1; done
hot_ok=$(psql -tAc "SELECT bool_and(json_array_length(chat_history::json) = (SELECT count(*) FROM chatledger.chat_messages m WHERE m.zoho_id = l.zoho_id)) FROM crm.live_chat l WHERE zoho_id LIKE 'h%'")

printf '\nconfiguration            %s\n' "${CHATLEDGER_BENCH_EXTRA:+default plus: $(echo "$CHATLEDGER_BENCH_EXTRA" | tr '\n' ' ')}${CHATLEDGER_BENCH_EXTRA:-default (backup.mode every_rewrite, logging info)}"
printf 'sync lag p50             %s ms  (target <= 25)\n' "$p50"
printf 'sync lag p99             %s ms  (target <= 100)\n' "$p99"
printf 'conversations not in step after the lag run: %s\n' "$missing"
printf 'burst of 100 appends     %s rewrites (target <= 10), column holds %s messages\n' "$burst_rewrites" "$burst_len"
printf 'old write path           %s tps, %s failed transactions\n' "$old_tps" "$(failed "$work/old.out")"
printf 'ledger append + syncd    %s tps, %s failed transactions, hot columns in step: %s\n' "$new_tps" "$(failed "$work/new.out")" "$hot_ok"
printf 'ratio new/old            %.1f  (target >= 10)\n' "$(echo "$new_tps / $old_tps" | bc -l)"

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
. "$root/bench/lib.sh"
bench_setup

# The DBA's conversations; beside them the old system, untouched by chatledger: its own table
# and backup table, written by the legacy writers' login.
psql -q -v ON_ERROR_STOP=1 <<SQL
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history)
SELECT 'c' || i, 'Employee ' || i,
       '[{"sender":"seed","message":"hello ' || i || '","timestamp":"2025-01-01T00:00:00.000Z"}]'
FROM generate_series(1, $conversations) i;
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history) SELECT 'h' || i, 'Hot ' || i, '[]' FROM generate_series(1, 10) i;
INSERT INTO crm.live_chat (zoho_id, full_name, chat_history) VALUES ('burst', 'Burst', '[]');
CREATE TABLE crm.old_live_chat (LIKE crm.live_chat INCLUDING ALL);
INSERT INTO crm.old_live_chat SELECT * FROM crm.live_chat WHERE zoho_id LIKE 'h%';
CREATE TABLE crm.old_backup (id serial PRIMARY KEY, zoho_id text, full_name text,
    backup_timestamp timestamptz DEFAULT now(), operation_type text, chat_history_backup text,
    comments_backup text, comments_entered_by_backup text, operation_user text);
GRANT SELECT, UPDATE ON crm.old_live_chat TO bench_legacy;
GRANT SELECT, INSERT ON crm.old_backup TO bench_legacy;
GRANT USAGE ON SEQUENCE crm.old_backup_id_seq TO bench_legacy;
SQL
bench_migrate
bench_start_daemon

echo "1. lag: $rate appends/s over $conversations conversations for $seconds s"
bench_appends c "$conversations" "$rate" "$seconds"
bench_wait_drained || true
read -r p50 p99 <<<"$(bench_lag)"
missing=$(bench_not_in_step 'c%')

echo "2. burst: 100 appends to one conversation"
before=$(psql -tAc "SELECT rewrites FROM chatledger.syncd_instances")
for i in $(seq 1 100); do echo "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('burst', 'b', 'burst $i');"; done | psql -q -U bench_app
bench_wait_drained || true
sleep 2.5  # one heartbeat
after=$(psql -tAc "SELECT rewrites FROM chatledger.syncd_instances")
burst_rewrites=$((after - before))
burst_len=$(psql -tAc "SELECT json_array_length(chat_history::json) FROM crm.live_chat WHERE zoho_id = 'burst'")

echo "3. throughput: 16 clients on 10 hot conversations, 10 s each, twice, alternating"
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
# Twice each, alternating: the machine's load moves a single 10 s figure by a quarter, and a
# pair measured side by side moves less. The ratio is of the sums.
tps() { sed -n 's/^tps = \([0-9.]*\).*/\1/p' "$1" | head -1; }
failed() { sed -n 's/^number of failed transactions: \([0-9]*\).*/\1/p' "$1" | head -1; }
old_tps=0; new_tps=0; old_failed=0; new_failed=0; pairs=""
for round in 1 2; do
    # The old path copies the whole value three times a write, so it slows as its rows grow:
    # each of its runs starts from the same empty rows (the ledger's side only ever grows).
    psql -q -c "UPDATE crm.old_live_chat SET chat_history = '[]', comments = NULL, comments_entered_by = NULL" \
        -c "TRUNCATE crm.old_backup" -c "VACUUM crm.old_live_chat"
    "$pgbin/pgbench" -U bench_legacy -n -f "$work/old.sql" -c 16 -j 2 -T 10 --max-tries 10 >"$work/old.out" 2>&1 || true
    "$pgbin/pgbench" -U bench_app -n -f "$work/new.sql" -c 16 -j 2 -T 10 --max-tries 10 >"$work/new.out" 2>&1 || true
    o=$(tps "$work/old.out"); n=$(tps "$work/new.out")
    old_tps=$(echo "$old_tps + $o" | bc -l); new_tps=$(echo "$new_tps + $n" | bc -l)
    f=$(failed "$work/old.out"); old_failed=$((old_failed + ${f:-0}))
    f=$(failed "$work/new.out"); new_failed=$((new_failed + ${f:-0}))
    pairs="$pairs$(printf ' %.1f' "$(echo "$n / $o" | bc -l)")"
done
old_tps=$(echo "$old_tps / 2" | bc -l); new_tps=$(echo "$new_tps / 2" | bc -l)
bench_wait_drained 300 || true
hot_ok=$(psql -tAc "SELECT bool_and(json_array_length(chat_history::json) = (SELECT count(*) FROM chatledger.chat_messages m WHERE m.zoho_id = l.zoho_id)) FROM crm.live_chat l WHERE zoho_id LIKE 'h%'")

echo
bench_configuration 'backup.mode every_rewrite, logging info'
printf 'sync lag p50             %s ms  (target <= 25)\n' "$p50"
printf 'sync lag p99             %s ms  (target <= 100)\n' "$p99"
printf 'conversations not in step after the lag run: %s\n' "$missing"
printf 'burst of 100 appends     %s rewrites (target <= 10), column holds %s messages\n' "$burst_rewrites" "$burst_len"
printf 'old write path           %.0f tps (mean of two 10 s runs), %s failed transactions\n' "$old_tps" "$old_failed"
printf 'ledger append + syncd    %.0f tps (mean of two 10 s runs), %s failed transactions, hot columns in step: %s\n' "$new_tps" "$new_failed" "$hot_ok"
printf 'ratio new/old            %.1f  (target >= 10; each pair:%s)\n' "$(echo "$new_tps / $old_tps" | bc -l)" "$pairs"

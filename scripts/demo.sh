#!/usr/bin/env bash
# The chatledger demo on a fresh Debian 12 machine: builds in .demo/, starts a throwaway PostgreSQL
# in a temp dir, generates a legacy table, migrates it and lets the daemon heal racing writers.
# --keep leaves the cluster running and prints the psql line to explore it.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1
demo=$root/.demo
build=$demo/build

current="start"
say() { current=$*; printf '\n\033[1m== %s\033[0m\n' "$*"; }
fail() { echo "demo: $*" >&2; exit 1; }
trap 'echo "demo: FAILED during \"$current\": \"$BASH_COMMAND\" exited $? (line $LINENO)" >&2' ERR

say "installing dependencies"
"$root/scripts/install-deps.sh"

say "building (Release) in $build"
mkdir -p "$demo"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHATLEDGER_BUILD_TESTS=OFF \
    >"$demo/build.log" 2>&1 || { tail -n 30 "$demo/build.log"; fail "cmake could not configure; the whole log is $demo/build.log"; }
cmake --build "$build" -j "$(nproc)" >>"$demo/build.log" 2>&1 ||
    { tail -n 30 "$demo/build.log"; fail "the build failed; the whole log is $demo/build.log"; }
migrate=$build/migrator/chatledger-migrate
syncd=$build/daemon/chatledger-syncd

# The server runs as `postgres` when we are root, and that user may not reach a clone in a
# private home (root's is mode 0700): its data and socket go under /tmp, which it can always reach.
pgdir=$(mktemp -d /tmp/chatledger-demo-pg.XXXXXX)
say "starting a throwaway PostgreSQL in $pgdir"
daemon_pid=""
cleanup() {
    [ -n "$daemon_pid" ] && kill "$daemon_pid" 2>/dev/null && wait "$daemon_pid" 2>/dev/null
    [ "$keep" -eq 1 ] || "$root/scripts/pg-cluster.sh" stop "$pgdir"
}
trap cleanup EXIT
# eval "$(pg-cluster.sh start ...)" would run an empty string after a failed start and the demo
# would stop later at an unrelated psql: keep the status and the error text instead.
if ! pg_env=$("$root/scripts/pg-cluster.sh" start "$pgdir" 2>"$demo/pg-cluster.log"); then
    cat "$demo/pg-cluster.log" >&2
    fail "the throwaway PostgreSQL did not start: $(tail -n 1 "$demo/pg-cluster.log") (whole output above and in $demo/pg-cluster.log)"
fi
eval "$pg_env"
export PGHOST PGPORT PGUSER PGDATABASE
superuser=$PGUSER

# Deployed as docs/operations.md says: the cluster's superuser creates the database and its DBA
# login, and nothing else; the DBA (CREATEROLE, no superuser) owns the CRM's schema and runs
# schema, run, verify and recover; the daemon and the legacy writers each log in as their own.
say "the superuser's part: database crm_app and its DBA login crm_dba (CREATEROLE, no superuser)"
psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE crm_dba LOGIN CREATEROLE" -c "CREATE DATABASE crm_app" \
    -c "GRANT CREATE ON DATABASE crm_app TO crm_dba"
export PGUSER=crm_dba PGDATABASE=crm_app

say "as crm_dba: the legacy table crm.live_chat, 3,000 employees, varied histories, a few corrupt values"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE SCHEMA crm;
CREATE TABLE crm.live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history text,
                            comments text, comments_entered_by text);
INSERT INTO crm.live_chat
SELECT 'Z' || lpad(i::text, 5, '0'), 'Employee ' || i,
       CASE WHEN i % 97 = 0 THEN NULL WHEN i % 89 = 0 THEN '[]' ELSE
       (SELECT json_agg(json_build_object('sender', 'agent' || (j % 4), 'message', 'note ' || j || ' for employee ' || i,
                                          'timestamp', to_char(timestamp '2026-01-01' + (i + j * 7) * interval '1 hour',
                                                               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text
        FROM generate_series(1, 1 + i % 40) j) END,
       'note ' || (1 + i % 40) || ' for employee ' || i, 'agent' || ((1 + i % 40) % 4)
FROM generate_series(1, 3000) i;
UPDATE crm.live_chat SET chat_history = '{"half": "an object, not an array"' WHERE zoho_id IN ('Z00007', 'Z00700');
UPDATE crm.live_chat SET chat_history = replace(chat_history, '},{', '},  {') WHERE zoho_id = 'Z00011';
-- The old system's backups still hold messages it later lost in an overwrite.
CREATE TABLE crm.chat_history_backup (id serial PRIMARY KEY, zoho_id text, full_name text,
    backup_timestamp timestamptz DEFAULT now(), operation_type text, chat_history_backup text,
    comments_backup text, comments_entered_by_backup text, operation_user text);
INSERT INTO crm.chat_history_backup (zoho_id, full_name, operation_type, chat_history_backup, operation_user)
SELECT zoho_id, full_name, 'before_update',
       left(chat_history, -1) || ',{"sender":"agent9","message":"the comment the old system lost","timestamp":"2026-03-01T09:00:00.000Z"}]',
       'dashboard'
FROM crm.live_chat WHERE zoho_id IN ('Z00042', 'Z00043', 'Z00044');
-- The dashboard's own login: its privileges on the legacy table, nothing of the ledger.
CREATE ROLE crm_dashboard LOGIN;
GRANT USAGE ON SCHEMA crm TO crm_dashboard;
GRANT SELECT, INSERT, UPDATE ON crm.live_chat TO crm_dashboard;
SQL

cfg=$demo/chatledger.yaml
metrics_port=$((20000 + RANDOM % 20000))
cat >"$cfg" <<YAML
database:
  conninfo: "dbname=crm_app user=crm_dba"
legacy:
  table: crm.live_chat
backup:
  table: crm.chat_history_backup
daemon:
  poll_interval_ms: 200
  metrics_listen: "127.0.0.1:$metrics_port"
YAML

say "chatledger-migrate plan (dry run, before anything exists), as crm_dba"
"$migrate" --config "$cfg" plan
say "chatledger-migrate schema"
"$migrate" --config "$cfg" schema
say "chatledger-migrate run"
"$migrate" --config "$cfg" run
say "chatledger-migrate verify"
"$migrate" --config "$cfg" verify | tail -n 3
say "chatledger-migrate recover"
"$migrate" --config "$cfg" recover

say "the ledger refuses to change a message, even for a superuser"
psql -q -U "$superuser" -c "UPDATE chatledger.chat_messages SET body = 'rewritten'" 2>&1 | sed 's/^/    /' || true

say "starting chatledger-syncd as a login crm_dba creates, granted chatledger_daemon only (it refuses a superuser)"
psql -q -v ON_ERROR_STOP=1 -c "CREATE ROLE chatledger_demo_syncd LOGIN" -c "GRANT chatledger_daemon TO chatledger_demo_syncd"
syncd_cfg=$demo/syncd.yaml
sed 's/^  conninfo: .*$/  conninfo: "dbname=crm_app user=chatledger_demo_syncd"/' "$cfg" >"$syncd_cfg"
"$syncd" --config "$syncd_cfg" 2>"$demo/syncd.log" &
daemon_pid=$!
# READY comes once it listens; "caught up" once the queue the migration left is worked off.
for _ in $(seq 200); do grep -q "caught up" "$demo/syncd.log" && break; sleep 0.1; done
grep -q "caught up" "$demo/syncd.log" || { cat "$demo/syncd.log"; fail "the daemon did not catch up with the queue within 20 s"; }

key=Z00042
show_conversation() {
    psql -tAc "SELECT json_array_length(chat_history::json) || ' messages in chat_history; comments = ' || quote_literal(comments) || ', entered by ' || comments_entered_by FROM crm.live_chat WHERE zoho_id = '$key'" | sed 's/^/    /'
    echo "    the last $1:"
    psql -tAF ' | ' -c "SELECT n, e->>'sender', e->>'message' FROM (SELECT e, n FROM crm.live_chat, json_array_elements(chat_history::json) WITH ORDINALITY AS t(e, n) WHERE zoho_id = '$key' ORDER BY n DESC LIMIT $1) s ORDER BY n" | sed 's/^/      /'
}
say "conversation $key before the race (its recovered message rendered by the daemon)"
show_conversation 4

say "two naive legacy writers race on $key as crm_dashboard, as the old dashboard did (read, wait, write back)"
writer() {
    local name=$1
    for i in $(seq 1 15); do
        local h
        h=$(psql -U crm_dashboard -tAc "SELECT chat_history FROM crm.live_chat WHERE zoho_id = '$key'")
        sleep 0.0$((RANDOM % 5))
        h="${h%]},{\"sender\":\"$name\",\"message\":\"$name says $i\",\"timestamp\":\"2026-06-01T10:00:00.000Z\"}]"
        # psql expands :'h' only in statements it reads, not in -c.
        psql -U crm_dashboard -q -v ON_ERROR_STOP=1 -v h="$h" -v c="$name says $i" <<<"UPDATE crm.live_chat SET chat_history = :'h', comments = :'c', comments_entered_by = '$name' WHERE zoho_id = '$key'"
    done
}
writer alice & a=$!
writer bob & b=$!
wait $a $b

for _ in $(seq 100); do
    [ "$(psql -tAc "SELECT (SELECT count(*) FROM chatledger.sync_queue) + (SELECT count(*) FROM chatledger.uncollected_appends)")" = 0 ] && break
    sleep 0.2
done
sleep 0.5

say "after the race: every message both writers committed is in the ledger and in the column"
psql -c "SELECT (SELECT count(*) FROM chatledger.chat_messages WHERE zoho_id = '$key' AND body ~ '^(alice|bob) says') AS in_ledger,
                (SELECT count(*) FROM json_array_elements((SELECT chat_history::json FROM crm.live_chat WHERE zoho_id = '$key')) e
                  WHERE e->>'message' ~ '^(alice|bob) says') AS in_legacy_column,
                30 AS committed_by_writers"
grep -E "healed drift" "$demo/syncd.log" | tail -n 3 | sed 's/^/    /' || true

say "conversation $key after the race"
show_conversation 6

say "the daemon's Prometheus endpoint, http://127.0.0.1:$metrics_port/metrics (excerpt)"
# bash's /dev/tcp: no HTTP client needed on a fresh machine.
if exec 3<>"/dev/tcp/127.0.0.1/$metrics_port"; then
    printf 'GET /metrics HTTP/1.0\r\n\r\n' >&3
    grep -E '^chatledger_syncd_(rewrites|drifts_healed|messages_captured)_total|^chatledger_syncd_sync_lag_seconds\{' <&3 |
        sed 's/^/    /' || true
    exec 3<&-
else
    echo "    (the endpoint did not answer; see $demo/syncd.log)"
fi

say "chatledger-migrate verify and status"
"$migrate" --config "$cfg" verify | tail -n 2
"$migrate" --config "$cfg" status

kill "$daemon_pid"
wait "$daemon_pid" || true
daemon_pid=""
if [ "$keep" -eq 1 ]; then
    echo
    echo "the cluster is still running: psql -h $PGHOST -p $PGPORT -U crm_dba crm_app (the superuser: -U $superuser)"
    echo "stop it with: scripts/pg-cluster.sh stop $pgdir"
fi

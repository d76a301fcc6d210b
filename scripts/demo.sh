#!/usr/bin/env bash
# The chatledger demo on a fresh Debian 12 machine: builds, starts a throwaway PostgreSQL in
# .demo/, creates a sample legacy table and shows what is built so far. --keep leaves it running.
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
keep=0
[ "${1:-}" = "--keep" ] && keep=1
demo=$root/.demo
build=$demo/build

say() { printf '\n\033[1m== %s\033[0m\n' "$*"; }

say "installing dependencies"
"$root/scripts/install-deps.sh"

say "building"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHATLEDGER_BUILD_TESTS=OFF >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
migrate=$build/migrator/chatledger-migrate

say "starting a throwaway PostgreSQL in $demo/pg"
"$root/scripts/pg-cluster.sh" stop "$demo/pg"
eval "$("$root/scripts/pg-cluster.sh" start "$demo/pg")"
export PGHOST PGPORT PGUSER PGDATABASE
if [ "$keep" -eq 0 ]; then trap '"$root/scripts/pg-cluster.sh" stop "$demo/pg"' EXIT; fi

say "creating a sample legacy table (live_chat) with 1,000 employees"
psql -q -v ON_ERROR_STOP=1 <<'SQL'
CREATE TABLE live_chat (zoho_id text PRIMARY KEY, full_name text, chat_history text,
                        comments text, comments_entered_by text);
INSERT INTO live_chat
SELECT 'Z' || lpad(i::text, 5, '0'), 'Employee ' || i,
       (SELECT json_agg(json_build_object('sender', 'agent' || (j % 3), 'message', 'note ' || j,
                                          'timestamp', to_char(timestamp '2026-01-01' + j * interval '1 hour',
                                                               'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')))::text
        FROM generate_series(1, 1 + i % 20) j),
       'note ' || (1 + i % 20), 'agent' || ((1 + i % 20) % 3)
FROM generate_series(1, 1000) i;
UPDATE live_chat SET chat_history = '{not json' WHERE zoho_id = 'Z00007';
SQL

cfg=$demo/chatledger.yaml
printf 'database:\n  conninfo: ""\n' >"$cfg"

say "chatledger-migrate schema --dry-run (first lines)"
"$migrate" --config "$cfg" --dry-run schema | head -n 12

say "chatledger-migrate schema, twice"
"$migrate" --config "$cfg" schema
"$migrate" --config "$cfg" schema

say "the ledger refuses to change a message, even for a superuser"
psql -q -c "INSERT INTO chatledger.chat_messages (zoho_id, author, body) VALUES ('Z00001', 'ann', 'hello')"
psql -q -c "UPDATE chatledger.chat_messages SET body = 'rewritten'" 2>&1 | sed 's/^/    /' || true

say "a legacy write is captured in the sync queue"
psql -q -c "UPDATE live_chat SET comments = 'late comment', comments_entered_by = 'bob' WHERE zoho_id = 'Z00002'"
psql -c "SELECT id, zoho_id, kind, comments, comments_entered_by FROM chatledger.sync_queue ORDER BY id"

say "chatledger-migrate status"
"$migrate" --config "$cfg" status

cat <<'TXT'

Still to come (see the issues): plan, run, verify and recover in chatledger-migrate, and the
chatledger-syncd daemon healing a racing legacy writer.
TXT
if [ "$keep" -eq 1 ]; then
    echo "the cluster is still running: psql -h $PGHOST -p $PGPORT -U $PGUSER postgres"
    echo "stop it with: scripts/pg-cluster.sh stop $demo/pg"
fi

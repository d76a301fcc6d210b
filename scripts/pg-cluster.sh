#!/usr/bin/env bash
# Starts or stops a throwaway PostgreSQL 15 cluster in a directory: unix socket only, fsync off.
# Used by test.sh, demo.sh and the benchmarks; runs the server as `postgres` when started as root.
#
#   scripts/pg-cluster.sh start DIR   prints the export lines for PGHOST, PGPORT, PGUSER
#   scripts/pg-cluster.sh stop DIR    stops the server and removes DIR
set -euo pipefail

bindir=${PG_BINDIR:-/usr/lib/postgresql/15/bin}
cmd=${1:?usage: pg-cluster.sh start|stop DIR}
dir=${2:?usage: pg-cluster.sh start|stop DIR}
# Absolute, because the server commands below run from / (see as_owner).
dir=$(realpath -m -- "$dir")

# From /: `postgres` may not be able to enter the caller's working directory (a private home).
as_owner() {
    if [ "$(id -u)" -eq 0 ]; then (cd / && runuser -u postgres -- "$@"); else "$@"; fi
}

case "$cmd" in
start)
    [ -x "$bindir/initdb" ] || { echo "pg-cluster: $bindir/initdb not found HINT: run scripts/install-deps.sh" >&2; exit 1; }
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres: "$dir"
        as_owner test -w "$dir" ||
            { echo "pg-cluster: user postgres cannot reach $dir HINT: use a directory under /tmp, or make its parent directories world-searchable (chmod o+x)" >&2; exit 1; }
    fi
    user=$([ "$(id -u)" -eq 0 ] && echo postgres || id -un)
    as_owner "$bindir/initdb" -D "$dir/data" -U "$user" --auth=trust --encoding=UTF8 --locale=C.UTF-8 >"$dir/initdb.log" 2>&1 \
        || { cat "$dir/initdb.log" >&2; echo "pg-cluster: initdb failed in $dir/data: $(tail -n 1 "$dir/initdb.log") HINT: the whole log is above" >&2; exit 1; }
    port=${PGTEST_PORT:-$((20000 + RANDOM % 20000))}
    as_owner "$bindir/pg_ctl" -D "$dir/data" -l "$dir/server.log" -w -t 60 start \
        -o "-k $dir -p $port -c listen_addresses='' -c fsync=off -c full_page_writes=off -c max_connections=200" >/dev/null \
        || { cat "$dir/server.log" >&2; echo "pg-cluster: the server in $dir/data did not start: $(tail -n 1 "$dir/server.log" 2>/dev/null) HINT: the whole log is above" >&2; exit 1; }
    echo "export PGHOST=$dir PGPORT=$port PGUSER=$user PGDATABASE=postgres"
    ;;
stop)
    if [ -f "$dir/data/postmaster.pid" ]; then
        as_owner "$bindir/pg_ctl" -D "$dir/data" -m immediate -w stop >/dev/null 2>&1 || true
    fi
    rm -rf "$dir"
    ;;
*)
    echo "pg-cluster: unknown command $cmd (start or stop)" >&2
    exit 2
    ;;
esac

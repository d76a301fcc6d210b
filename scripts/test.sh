#!/usr/bin/env bash
# Runs every chatledger test against a real throwaway PostgreSQL: installs the dependencies,
# builds with AddressSanitizer and UndefinedBehaviorSanitizer, runs ctest (labels unit and pg).
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
build=${CHATLEDGER_TEST_BUILD:-$root/build-test}
jobs=$(nproc)

current="start"
step() { current=$*; printf '\n== %s\n' "$*"; }
# One clear last line when anything fails: which step, and the command that failed.
trap 'echo "test.sh: FAILED during \"$current\": \"$BASH_COMMAND\" exited $? (line $LINENO)" >&2' ERR

step "installing dependencies"
"$root/scripts/install-deps.sh"

step "building with ASan and UBSan in $build"
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCHATLEDGER_SANITIZE=ON -DCHATLEDGER_WERROR=ON >/dev/null
cmake --build "$build" -j "$jobs"

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

step "fuzzing smoke run (libFuzzer, 10 s per target)"
CHATLEDGER_FUZZ_BUILD=${CHATLEDGER_FUZZ_BUILD:-$root/build-fuzz} "$root/scripts/fuzz.sh" 10

step "starting a throwaway PostgreSQL 15"
cluster=$(mktemp -d /tmp/chatledger-test-pg.XXXXXX)
cleanup() {
    local rc=$?
    # A failed run shows the server's side too: CI keeps only what was printed.
    if [ "$rc" -ne 0 ] && [ -f "$cluster/server.log" ]; then
        echo "== the last 40 lines of the server log ($cluster/server.log)"
        tail -n 40 "$cluster/server.log"
    fi
    "$root/scripts/pg-cluster.sh" stop "$cluster"
}
trap cleanup EXIT
# A plain assignment keeps pg-cluster.sh's exit status for set -e; inside eval "$(...)" a failed
# start was lost and the tests failed later for no visible reason.
pg_env=$("$root/scripts/pg-cluster.sh" start "$cluster")
eval "$pg_env"
export PGHOST PGPORT PGUSER PGDATABASE
echo "server on $PGHOST port $PGPORT"

step "unit and database tests"
(cd "$build" && ctest -L 'unit|pg' --output-on-failure -j "$jobs")

step "fault and race run (tests/chaos, 45 s; chaos --minutes N for a soak)"
"$build/tests/chaos/chaos" --seconds "${CHATLEDGER_CHAOS_SECONDS:-45}"

echo
echo "test.sh: all tests passed"

#!/usr/bin/env bash
# Builds the libFuzzer targets with clang (ASan+UBSan) and runs each for SECONDS (default 60)
# on a copy of its seed corpus; a crash leaves its input in the build directory and fails.
#   scripts/fuzz.sh [SECONDS]
set -euo pipefail

root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
build=${CHATLEDGER_FUZZ_BUILD:-$root/build-fuzz}

command -v clang++ >/dev/null || { echo "fuzz: clang++ not found HINT: run scripts/install-deps.sh" >&2; exit 1; }
CC=clang CXX=clang++ cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Debug -DCHATLEDGER_FUZZ=ON \
    -DCHATLEDGER_BUILD_TESTS=OFF -DCHATLEDGER_SANITIZE=ON >/dev/null
cmake --build "$build" -j "$(nproc)" --target json_fuzz identity_fuzz timestamp_fuzz config_fuzz >/dev/null
for target in json identity timestamp config; do
    corpus=$build/corpus/$target
    mkdir -p "$corpus"
    cp -n "$root/tests/fuzz/corpus/$target/"* "$corpus/" 2>/dev/null || true
    echo "fuzz: $target for ${seconds}s"
    (cd "$build" && "./tests/fuzz/${target}_fuzz" -max_total_time="$seconds" -max_len=65536 \
        -print_final_stats=0 "$corpus" >"$build/$target.log" 2>&1) ||
        { tail -n 40 "$build/$target.log"; echo "fuzz: $target found a failure; the input is in $build" >&2; exit 1; }
    grep -E '^Done [0-9]+ runs' "$build/$target.log" | sed 's/^/fuzz: /' || true
done

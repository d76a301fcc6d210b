#!/usr/bin/env bash
# Builds the Debian package (cpack -G DEB) in BUILD_DIR (default build-deb) and prints its path.
#   scripts/package.sh [BUILD_DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=${1:-$root/build-deb}
cmake -S "$root" -B "$build" -DCMAKE_BUILD_TYPE=Release -DCHATLEDGER_BUILD_TESTS=OFF \
    -DCHATLEDGER_PACKAGE=ON -DCMAKE_INSTALL_PREFIX=/usr >/dev/null
cmake --build "$build" -j "$(nproc)" >/dev/null
(cd "$build" && cpack -G DEB >/dev/null)
ls "$build"/chatledger_*.deb

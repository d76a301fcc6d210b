#!/usr/bin/env bash
# Checks the shipped unit file: `systemd-analyze verify` prints nothing and the offline security
# exposure is at most 2.0. The unit's ExecStart (a template's placeholder or an installed
# path) is pointed at the freshly built executable.
# (--man=no: the man page named in Documentation= arrives with the packaging work.)
set -euo pipefail
unit=$1
binary=$2
command -v systemd-analyze >/dev/null || { echo "systemd-analyze is missing (apt-get install systemd)"; exit 1; }
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
sed "s|^ExecStart=[^ ]*|ExecStart=$binary|" "$unit" >"$dir/chatledger-syncd.service"
cd "$dir"
out=$(systemd-analyze verify --man=no chatledger-syncd.service 2>&1) || { echo "$out"; exit 1; }
if [ -n "$out" ]; then
    echo "systemd-analyze verify printed:"
    echo "$out"
    exit 1
fi
exposure=$(systemd-analyze security --offline=yes chatledger-syncd.service 2>&1 |
    sed -n 's/.*Overall exposure level for chatledger-syncd.service: \([0-9.]*\).*/\1/p')
[ -n "$exposure" ] || { echo "no exposure level in systemd-analyze security output"; exit 1; }
echo "exposure $exposure"
awk -v e="$exposure" 'BEGIN { exit !(e <= 2.0) }' || { echo "exposure $exposure is above 2.0"; exit 1; }

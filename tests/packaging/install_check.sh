#!/usr/bin/env bash
# Installs the build as `cmake --install B --prefix /usr/local` would (under DESTDIR) and checks
# that the unit's ExecStart names the binary at that prefix and the docs name the same unit path.
set -euo pipefail
root=$1
build=$2
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
DESTDIR=$scratch cmake --install "$build" --prefix /usr/local >/dev/null
unit=$scratch/usr/local/lib/systemd/system/chatledger-syncd.service
[ -s "$unit" ] || { echo "no unit at /usr/local/lib/systemd/system"; exit 1; }
exec_start=$(sed -n 's/^ExecStart=\([^ ]*\).*/\1/p' "$unit")
[ "$exec_start" = /usr/local/bin/chatledger-syncd ] ||
    { echo "the unit's ExecStart names $exec_start, not /usr/local/bin/chatledger-syncd"; exit 1; }
[ -x "$scratch$exec_start" ] || { echo "nothing installed at $exec_start"; exit 1; }
for f in reference.md migration-runbook.md operations.md; do
    [ -s "$scratch/usr/local/share/doc/chatledger/$f" ] || { echo "docs: $f not installed"; exit 1; }
done
# The package's unit path, named alike by the man page and the operator's guide.
for doc in "$root/docs/man/chatledger-syncd.h2m" "$root/docs/operations.md"; do
    for path in /usr/lib/systemd/system/chatledger-syncd.service \
                /usr/local/lib/systemd/system/chatledger-syncd.service; do
        grep -q "$path" "$doc" || { echo "$doc does not name $path"; exit 1; }
    done
done
echo "install ok: ExecStart=$exec_start"

#!/usr/bin/env bash
# Builds the .deb, unpacks it into a scratch root with dpkg -x and checks what an operator
# gets: both executables run, the conffile, the unit, the man pages and the schema SQL. Then
# the plain `cmake --install --prefix P` of the same build, as the README promises it.
set -euo pipefail
root=$1
build=$2
deb=$("$root/scripts/package.sh" "$build" | tail -n 1)
scratch=$(mktemp -d)
trap 'rm -rf "$scratch"' EXIT
dpkg -x "$deb" "$scratch"
"$scratch/usr/bin/chatledger-migrate" --version | grep -q '^chatledger-migrate [0-9]'
"$scratch/usr/bin/chatledger-syncd" --version | grep -q '^chatledger-syncd [0-9]'
for f in etc/chatledger/chatledger.yaml usr/lib/systemd/system/chatledger-syncd.service \
         usr/share/man/man1/chatledger-migrate.1 usr/share/man/man8/chatledger-syncd.8 \
         usr/share/chatledger/schema/0001_ledger.sql usr/share/doc/chatledger/README.md; do
    [ -s "$scratch/$f" ] || { echo "missing from the package: /$f"; exit 1; }
done
dpkg-deb -e "$deb" "$scratch/DEBIAN"
grep -qx /etc/chatledger/chatledger.yaml "$scratch/DEBIAN/conffiles" || { echo "the config is not a conffile"; exit 1; }
grep -q '^Depends:.*libpq5' "$scratch/DEBIAN/control" || { echo "no libpq5 dependency"; exit 1; }
echo "package ok: $(basename "$deb")"

prefix=$scratch/prefix
cmake --install "$build" --prefix "$prefix" >/dev/null
"$prefix/bin/chatledger-migrate" --version | grep -q '^chatledger-migrate [0-9]'
"$prefix/bin/chatledger-syncd" --version | grep -q '^chatledger-syncd [0-9]'
for f in share/chatledger/schema/0001_ledger.sql share/chatledger/chatledger.example.yaml \
         lib/systemd/system/chatledger-syncd.service; do
    [ -s "$prefix/$f" ] || { echo "missing from cmake --install --prefix: $f"; exit 1; }
done
echo "cmake --install ok"

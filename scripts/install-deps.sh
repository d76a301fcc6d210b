#!/usr/bin/env bash
# Installs every build, test and run dependency of chatledger from Debian 12 packages.
# Idempotent: packages already installed are not fetched again; run as root (or with sudo).
set -euo pipefail

packages=(
    build-essential cmake pkg-config
    libpq-dev libssl-dev libyaml-cpp-dev libboost-program-options-dev libspdlog-dev
    libgtest-dev libgmock-dev clang libclang-rt-14-dev
    postgresql-15 postgresql-client-15 systemd help2man dpkg-dev
    pgbouncer  # the daemon test behind a transaction pooler (tests/daemon/pooler_pgtest.cpp)
)

missing=()
for p in "${packages[@]}"; do
    dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -eq 0 ]; then
    echo "install-deps: all ${#packages[@]} packages already installed"
    exit 0
fi

sudo=""
if [ "$(id -u)" -ne 0 ]; then
    command -v sudo >/dev/null || { echo "install-deps: need root to install: ${missing[*]}" >&2; exit 1; }
    sudo="sudo"
fi
echo "install-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-deps: done"

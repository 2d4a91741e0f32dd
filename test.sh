#!/usr/bin/env bash
# Runs every test from a fresh clone: installs what is missing (npm packages for the real Socket.IO peers and
# playwright-core, redis-server, haproxy, chromium, packer, systemd, iproute2), restores .NET packages, builds Release, runs the
# unit and end-to-end suites.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\n=== %s\n' "$*"; }

# Debian packages the suites start as real peers: installed only when missing.
install_missing() { # command package why
  if ! command -v "$1" >/dev/null 2>&1; then
    log "installing $2 (Debian package)"
    if command -v apt-get >/dev/null 2>&1; then
      (DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null 2>&1 ||
        (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq "$2" >/dev/null)) ||
        echo "warning: could not install $2; $3 will fail" >&2
    fi
  fi
}
install_missing redis-server redis-server "Redis suites"
install_missing haproxy haproxy "the PROXY protocol test behind HAProxy"

# The machine image's checks (tests/Gateway.Tests/Ami): Debian's packer validates the Packer template, Debian's
# systemd provides systemd-analyze (verify, security) and the system units the gateway's unit names.
install_missing packer packer "the ami tests"
install_missing systemd-analyze systemd "the ami tests"
install_missing chromium chromium "the browser tests"
install_missing ss iproute2 "the listen-queue test"

if [ -f tests/node/package.json ]; then
  if [ ! -d tests/node/node_modules ] || [ tests/node/package-lock.json -nt tests/node/node_modules ]; then
    log "installing npm packages (socket.io 4.8 server and client, playwright-core)"
    npm ci --prefix tests/node --no-audit --no-fund --loglevel=error
  fi
fi

log "restore + build (Release)"
dotnet restore Gateway.sln --verbosity quiet
dotnet build Gateway.sln -c Release --no-restore --verbosity quiet -nologo

log "tests"
results=$(mktemp)
trap 'rm -f "$results"' EXIT
dotnet test Gateway.sln -c Release --no-build --verbosity quiet -nologo --logger "console;verbosity=minimal" "$@" | tee "$results"
# One closing line for every suite together.
awk '/(Passed|Failed)! +- +Failed:/ { gsub(",", ""); for (i = 1; i <= NF; i++) { if ($i == "Failed:") f += $(i+1); if ($i == "Passed:") p += $(i+1) } }
     END { printf "%d passed, %d failed\n", p, f }' "$results"

if [ -x bench/check ]; then
  log "benchmark regression gate"
  bench/check
fi

#!/usr/bin/env bash
# Runs every test from a fresh clone: installs what is missing (npm packages for the real Socket.IO peers and
# playwright-core, redis-server, chromium), restores .NET packages, builds Release, runs the unit and end-to-end suites.
set -euo pipefail
cd "$(dirname "$0")"

log() { printf '\n=== %s\n' "$*"; }

if ! command -v redis-server >/dev/null 2>&1; then
  log "installing redis-server (Debian package)"
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq redis-server >/dev/null) ||
      echo "warning: could not install redis-server; Redis suites will fail" >&2
  fi
fi

if [ ! -x /usr/bin/chromium ]; then
  log "installing chromium (Debian package, for the browser tests)"
  if command -v apt-get >/dev/null 2>&1; then
    (apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null) ||
      echo "warning: could not install chromium; browser tests will fail" >&2
  fi
fi

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

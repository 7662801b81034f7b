#!/usr/bin/env bash
# Debian/Ubuntu packages the tests need and npm cannot give: systemd-analyze (verify + offline
# security rating of systemd/callscreen.service) and the sqlite3 command-line shell (what an admin
# runs on the live database; test/ops/store-health.test.ts proves the daemon survives it).
# Safe to run repeatedly; used by test/ops and CI.
set -euo pipefail
missing=()
command -v systemd-analyze >/dev/null 2>&1 || missing+=(systemd)
command -v sqlite3 >/dev/null 2>&1 || missing+=(sqlite3)
if [ ${#missing[@]} -eq 0 ]; then
  echo "systemd-analyze and sqlite3 present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
command -v systemd-analyze >/dev/null
command -v sqlite3 >/dev/null
echo "installed ${missing[*]}"

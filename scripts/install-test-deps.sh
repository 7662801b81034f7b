#!/usr/bin/env bash
# Debian/Ubuntu packages the ops tests need: systemd-analyze (verify + offline security rating of
# systemd/callscreen.service). Safe to run repeatedly; used by test/ops and CI.
set -euo pipefail
if command -v systemd-analyze >/dev/null 2>&1; then
  echo "systemd-analyze present"
  exit 0
fi
SUDO=""
[ "$(id -u)" -ne 0 ] && SUDO="sudo"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends systemd >/dev/null
command -v systemd-analyze >/dev/null
echo "installed systemd (systemd-analyze)"

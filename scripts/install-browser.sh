#!/usr/bin/env bash
# Installs the browser the panel's end-to-end tests drive (test/e2e/panel.test.ts): Debian's
# chromium at /usr/bin/chromium. Does nothing when it is already there. Non-interactive (CI runs
# as root with no stdin); runs `apt-get update` only when the package is not known to apt yet.
set -euo pipefail
export DEBIAN_FRONTEND=noninteractive

if [ -x /usr/bin/chromium ]; then
  echo "chromium already installed: $(/usr/bin/chromium --version 2>/dev/null || echo /usr/bin/chromium)"
  exit 0
fi

SUDO=""
if [ "$(id -u)" -ne 0 ]; then
  if command -v sudo >/dev/null 2>&1; then SUDO="sudo -n"; else
    echo "install-browser: need root (or sudo) to apt-get install chromium" >&2; exit 1
  fi
fi

# An apt cache that has never been filled knows no candidate for chromium.
if ! apt-cache policy chromium 2>/dev/null | grep -q 'Candidate: [0-9]'; then
  $SUDO apt-get update -q </dev/null
fi
$SUDO apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core </dev/null
/usr/bin/chromium --version

#!/bin/sh
# callscreen CLI from the Debian package: always the Node runtime shipped with it (Debian 12's
# nodejs is 18, older than callscreen needs) and /etc/callscreen/callscreen.toml unless told otherwise.
CALLSCREEN_CONFIG="${CALLSCREEN_CONFIG:-/etc/callscreen/callscreen.toml}"
export CALLSCREEN_CONFIG
exec /usr/lib/callscreen/bin/node /usr/lib/callscreen/dist/daemon/cli/bin.js "$@"

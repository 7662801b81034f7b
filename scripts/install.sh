#!/usr/bin/env bash
# Installs callscreen as a systemd service. Idempotent: run it again to upgrade; the config file
# and the database are never overwritten.
#
#   sudo scripts/install.sh                 install or upgrade, enable and (re)start the service
#   sudo scripts/install.sh --uninstall     remove program, unit and CLI wrapper (keeps config + data)
#   sudo scripts/install.sh --uninstall --purge   also remove /etc/callscreen and /var/lib/callscreen
#   scripts/install.sh --destdir /tmp/stage --prefix /opt/callscreen   stage into a tree (tests, packaging)
#
# With DESTDIR (or --destdir) no user is created, nothing is chowned and systemctl is not run.
set -euo pipefail

PREFIX=/opt/callscreen
DESTDIR="${DESTDIR:-}"
UNINSTALL=0
PURGE=0
BUILD=auto
SRC="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
ETC=/etc/callscreen
DATA=/var/lib/callscreen
UNIT_DIR=/etc/systemd/system
BIN_LINK=/usr/local/bin/callscreen
USER_NAME=callscreen

usage() { sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; }
while [ $# -gt 0 ]; do
  case "$1" in
    --prefix) PREFIX="$2"; shift 2 ;;
    --prefix=*) PREFIX="${1#*=}"; shift ;;
    --destdir) DESTDIR="$2"; shift 2 ;;
    --destdir=*) DESTDIR="${1#*=}"; shift ;;
    --uninstall) UNINSTALL=1; shift ;;
    --purge) PURGE=1; shift ;;
    --no-build) BUILD=no; shift ;;
    -h|--help) usage; exit 0 ;;
    *) echo "install.sh: unknown option $1" >&2; usage >&2; exit 64 ;;
  esac
done
DESTDIR="${DESTDIR%/}"

say() { echo "callscreen install: $*"; }
staged() { [ -n "$DESTDIR" ]; }
have_systemd() { ! staged && [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }
as_owner() { # as_owner OWNER:GROUP PATH — chown only on a real install
  if ! staged; then chown "$1" "$2"; fi
}

if [ "$(id -u)" -ne 0 ] && ! staged; then
  echo "install.sh: run as root (or stage with --destdir DIR)" >&2
  exit 77
fi

if [ "$UNINSTALL" -eq 1 ]; then
  if have_systemd && systemctl list-unit-files callscreen.service >/dev/null 2>&1; then
    systemctl disable --now callscreen.service 2>/dev/null || true
  fi
  rm -f "$DESTDIR$UNIT_DIR/callscreen.service" "$DESTDIR$BIN_LINK"
  have_systemd && systemctl daemon-reload || true
  rm -rf "$DESTDIR$PREFIX"
  say "removed $PREFIX, $UNIT_DIR/callscreen.service and $BIN_LINK"
  if [ "$PURGE" -eq 1 ]; then
    rm -rf "$DESTDIR$ETC" "$DESTDIR$DATA"
    if ! staged && getent passwd "$USER_NAME" >/dev/null; then userdel "$USER_NAME" 2>/dev/null || true; fi
    say "purged $ETC, $DATA and the $USER_NAME user"
  else
    say "kept $ETC (config) and $DATA (database); --purge removes them"
  fi
  exit 0
fi

command -v node >/dev/null 2>&1 || { echo "install.sh: node (>= 20.17) is required" >&2; exit 69; }

# 1. The built program.
if [ "$BUILD" = auto ] && [ ! -f "$SRC/dist/daemon/main.js" ]; then BUILD=yes; fi
if [ "$BUILD" = yes ]; then
  say "building (npm run build)"
  (cd "$SRC" && npm run build --silent)
fi
[ -f "$SRC/dist/daemon/main.js" ] || { echo "install.sh: $SRC/dist is missing; run npm run build" >&2; exit 66; }

# 2. The system user (a real install only).
if ! staged; then
  if getent passwd "$USER_NAME" >/dev/null; then
    say "user $USER_NAME exists"
  else
    useradd --system --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin --user-group "$USER_NAME"
    say "created system user $USER_NAME"
  fi
fi

# 3. Program files: staged next to the old tree, then swapped in, so a failed copy leaves the
#    running version intact.
target="$DESTDIR$PREFIX"
mkdir -p "$(dirname "$target")"
tmp="$target.new.$$"
rm -rf "$tmp"
mkdir -p "$tmp"
cp -a "$SRC/dist" "$SRC/package.json" "$tmp/"
[ -f "$SRC/package-lock.json" ] && cp -a "$SRC/package-lock.json" "$tmp/"
mkdir -p "$tmp/config" "$tmp/docs"
cp -a "$SRC/config/callscreen.example.toml" "$tmp/config/"
cp -a "$SRC"/docs/*.md "$tmp/docs/" 2>/dev/null || true
# Production dependencies only: copy what is installed and prune dev ones (works offline).
cp -a "$SRC/node_modules" "$tmp/"
(cd "$tmp" && npm prune --omit=dev --no-audit --no-fund --silent >/dev/null)
chmod -R u=rwX,go=rX "$tmp"
if [ -d "$target" ]; then
  rm -rf "$target.old"
  mv "$target" "$target.old"
  mv "$tmp" "$target"
  rm -rf "$target.old"
  say "upgraded $PREFIX"
else
  mv "$tmp" "$target"
  say "installed $PREFIX"
fi

# 4. CLI wrapper on PATH.
mkdir -p "$DESTDIR$(dirname "$BIN_LINK")"
cat > "$DESTDIR$BIN_LINK" <<WRAP
#!/bin/sh
# callscreen CLI (installed by scripts/install.sh)
CALLSCREEN_CONFIG="\${CALLSCREEN_CONFIG:-$ETC/callscreen.toml}" exec node $PREFIX/dist/daemon/cli/bin.js "\$@"
WRAP
chmod 0755 "$DESTDIR$BIN_LINK"

# 5. Config: never overwritten; readable by the service group only (it holds the AMI secret).
mkdir -p "$DESTDIR$ETC"
chmod 0750 "$DESTDIR$ETC"
as_owner root:"$USER_NAME" "$DESTDIR$ETC"
if [ -f "$DESTDIR$ETC/callscreen.toml" ]; then
  say "kept existing $ETC/callscreen.toml"
else
  sed "s|^path = \"./var/callscreen.db\"|path = \"$DATA/callscreen.db\"|" "$SRC/config/callscreen.example.toml" > "$DESTDIR$ETC/callscreen.toml"
  say "wrote $ETC/callscreen.toml (edit it, then: systemctl reload callscreen)"
fi
chmod 0640 "$DESTDIR$ETC/callscreen.toml"
as_owner root:"$USER_NAME" "$DESTDIR$ETC/callscreen.toml"

# 6. Data directory (systemd's StateDirectory= also creates it; made here for the CLI before first start).
mkdir -p "$DESTDIR$DATA"
chmod 0750 "$DESTDIR$DATA"
as_owner "$USER_NAME:$USER_NAME" "$DESTDIR$DATA"

# 7. The unit, with this prefix.
mkdir -p "$DESTDIR$UNIT_DIR"
sed "s|/opt/callscreen|$PREFIX|g" "$SRC/systemd/callscreen.service" > "$DESTDIR$UNIT_DIR/callscreen.service"
chmod 0644 "$DESTDIR$UNIT_DIR/callscreen.service"
say "installed $UNIT_DIR/callscreen.service"

if have_systemd; then
  systemctl daemon-reload
  systemctl enable callscreen.service >/dev/null
  if systemctl is-active --quiet callscreen.service; then
    systemctl restart callscreen.service
    say "restarted callscreen.service"
  else
    systemctl start callscreen.service
    say "enabled and started callscreen.service"
  fi
else
  say "systemd not used here (DESTDIR set or systemd not running): enable with 'systemctl enable --now callscreen'"
fi

cat <<MSG

Next steps
  1. Edit $ETC/callscreen.toml ([ami] secret, [fastagi] listen…), then: systemctl reload callscreen
  2. Check everything:  callscreen doctor
  3. Add the hook to the PBX dialplan (Asterisk extensions.conf, or extensions_custom.conf on FreePBX),
     in the context your inbound trunk lands in, before the call is routed:
        same => n,Set(CALLSCREEN_ID=id2:\${BASE64_ENCODE(:\${PJSIP_HEADER(read,P-Asserted-Identity)})}:\${BASE64_ENCODE(:\${PJSIP_HEADER(read,Remote-Party-ID)})}:\${BASE64_ENCODE(:\${PJSIP_HEADER(read,Privacy)})}:\${BASE64_ENCODE(:\${PJSIP_HEADER(read,Attestation-Info)})}:\${BASE64_ENCODE(:\${PJSIP_HEADER(read,X-Attestation-Info)})}:\${BASE64_ENCODE(:\${PJSIP_HEADER(read,From)})})
        same => n,AGI(agi://127.0.0.1:4573/call-inbound,\${CALLSCREEN_ID})
     and for agents' outbound calls:
        same => n,AGI(agi://127.0.0.1:4573/call-outbound)
     (full snippets: $PREFIX/docs/asterisk-contract.md), then: asterisk -rx 'dialplan reload'
  Logs: journalctl -u callscreen -f      Metrics: http://127.0.0.1:8080/metrics
MSG

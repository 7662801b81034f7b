# callscreen maintainer-script functions: scripts/package-deb.sh puts this file at the top of each
# of preinst, postinst, prerm and postrm (a maintainer script cannot source files from its own
# package: during an upgrade preinst runs before those files are unpacked).
#
# Works with systemd running (a real server) and without (a chroot, a container): every service
# action goes through have_systemd. Without systemd, "the daemon" is the process running our node
# with the unit's ExecStart, started the way the unit starts it (user, environment, directory).

PKG_VERSION='@VERSION@'
LIB=/usr/lib/callscreen
# During an upgrade: the old program, kept as hard links (no copy) until the new one is ready.
PREV=/usr/lib/callscreen.previous
# After a rolled-back upgrade: the new program, set aside so the old one runs; a retry swaps back.
FAILED=/usr/lib/callscreen.failed
ETC=/etc/callscreen
CONF=$ETC/callscreen.toml
DATA=/var/lib/callscreen
BACKUPS=$DATA/backups
# KEY=value lines describing an upgrade in progress (OLD_VERSION, WAS_RUNNING, BACKUP).
STATE=$DATA/.upgrade-state
UNIT=/lib/systemd/system/callscreen.service
NOSYSTEMD_LOG=/var/log/callscreen/daemon.log
SVC_USER=callscreen
# Pre-upgrade backups kept in $BACKUPS (older ones deleted after a successful upgrade).
KEEP_BACKUPS=3
# Seconds a stopping daemon gets before SIGKILL without systemd (the unit's TimeoutStopSec).
STOP_TIMEOUT_S=15

say() { printf 'callscreen: %s\n' "$*"; }
warn() { printf 'callscreen: %s\n' "$*" >&2; }

have_systemd() { [ -d /run/systemd/system ] && command -v systemctl >/dev/null 2>&1; }

# Run a command as the service user with the unit's environment, in its working directory.
as_service() {
  local envs
  envs="$(sed -n 's/^Environment=//p' "$UNIT" 2>/dev/null | tr '\n' ' ')"
  # shellcheck disable=SC2086
  (cd "$DATA" && umask 0027 && exec setpriv --reuid="$SVC_USER" --regid="$SVC_USER" --init-groups \
    env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin HOME="$DATA" $envs "$@")
}

# cli TREE ARGS…: the callscreen CLI of the program in TREE (the new one, or the kept old one).
cli() { local tree="$1"; shift; as_service "$tree/bin/node" "$tree/dist/daemon/cli/bin.js" "$@"; }

# helper TREE COMMAND [ARGS…]: scripts/deb/maint-helper.ts of the program in TREE.
helper() {
  local tree="$1" cmd="$2"; shift 2
  [ -f "$tree/dist/scripts/deb/maint-helper.js" ] || return 0
  as_service "$tree/bin/node" "$tree/dist/scripts/deb/maint-helper.js" "$cmd" --config "$CONF" "$@"
}

# Daemon processes without systemd: our bundled node (from any of our trees) running `daemon`.
daemon_pids() {
  local p exe
  for p in /proc/[0-9]*; do
    exe="$(readlink "$p/exe" 2>/dev/null)" || continue
    case "$exe" in
      "$LIB/bin/node"*|"$PREV/bin/node"*|"$FAILED/bin/node"*) ;;
      *) continue ;;
    esac
    tr '\0' ' ' <"$p/cmdline" 2>/dev/null | grep -q 'cli/bin.js daemon' && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

is_running() {
  if have_systemd; then systemctl is-active --quiet callscreen.service
  else [ -n "$(daemon_pids)" ]; fi
}

stop_daemon() {
  if have_systemd; then
    if command -v deb-systemd-invoke >/dev/null 2>&1; then deb-systemd-invoke stop callscreen.service >/dev/null || true
    else systemctl stop callscreen.service || true; fi
    return 0
  fi
  local pids waited=0
  pids="$(daemon_pids)"
  [ -n "$pids" ] || return 0
  # shellcheck disable=SC2086
  kill -TERM $pids 2>/dev/null || true
  while [ -n "$(daemon_pids)" ] && [ "$waited" -lt $((STOP_TIMEOUT_S * 10)) ]; do sleep 0.1; waited=$((waited + 1)); done
  pids="$(daemon_pids)"
  if [ -n "$pids" ]; then
    warn "the daemon did not stop within ${STOP_TIMEOUT_S}s of SIGTERM; killing it"
    # shellcheck disable=SC2086
    kill -KILL $pids 2>/dev/null || true
  fi
}

# Starts the daemon that was running before (an upgrade or a rollback). With systemd, systemctl
# itself: deb-systemd-invoke would skip a unit the admin disabled but ran by hand.
start_daemon() {
  if have_systemd; then
    systemctl start callscreen.service
    return
  fi
  # As the unit would: ExecStart as the service user with its environment and directory, in its
  # own session, every inherited descriptor closed (dpkg and apt hold pipes a daemon must not keep).
  local exec_start
  exec_start="$(sed -n 's/^ExecStart=//p' "$UNIT")"
  mkdir -p "$(dirname "$NOSYSTEMD_LOG")"
  chmod 0750 "$(dirname "$NOSYSTEMD_LOG")"
  (
    for fd in /proc/self/fd/*; do
      fd="${fd##*/}"
      [ "$fd" -gt 2 ] 2>/dev/null && eval "exec $fd>&-" 2>/dev/null
    done
    # shellcheck disable=SC2086
    as_service setsid $exec_start </dev/null >>"$NOSYSTEMD_LOG" 2>&1 &
  )
}

ensure_user() {
  if ! getent group "$SVC_USER" >/dev/null; then groupadd --system "$SVC_USER"; fi
  if ! getent passwd "$SVC_USER" >/dev/null; then
    useradd --system --gid "$SVC_USER" --home-dir "$DATA" --no-create-home --shell /usr/sbin/nologin \
      --comment 'callscreen daemon' "$SVC_USER"
    say "created system user $SVC_USER"
  fi
}

# Modes the unit and `callscreen doctor` expect; the config holds the AMI secret.
fix_permissions() {
  mkdir -p "$ETC" "$DATA" "$BACKUPS"
  chown root:"$SVC_USER" "$ETC"; chmod 0750 "$ETC"
  if [ -f "$CONF" ]; then chown root:"$SVC_USER" "$CONF"; chmod 0640 "$CONF"; fi
  chown "$SVC_USER:$SVC_USER" "$DATA" "$BACKUPS"; chmod 0750 "$DATA" "$BACKUPS"
}

state_get() { [ -f "$STATE" ] && sed -n "s/^$1=//p" "$STATE" | tail -n 1; return 0; }

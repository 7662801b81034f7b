#!/usr/bin/env bash
# bookworm-root: a clean Debian 12 root for testing the callscreen .deb the way an admin installs it.
#
#   scripts/deb/bookworm-root.sh base              build the cached base root once (prints its path)
#   scripts/deb/bookworm-root.sh fresh DIR         a throw-away copy of the base in DIR, /proc mounted
#   scripts/deb/bookworm-root.sh destroy DIR       stop what runs in DIR, unmount, delete it
#
# Same technique as scripts/pbx-sandbox: debootstrap --variant=minbase once into
# CALLSCREEN_DEB_BASE_DIR (default /var/tmp/callscreen-deb-bookworm); a marker file written at the
# very end tells a complete base from a half-built one; a flock serialises builders; no stdin.
# The base is never modified after it is built: every test run works on its own copy, so a purge
# can be compared with the pristine root.
#
# Environment: CALLSCREEN_DEB_BASE_DIR, CALLSCREEN_DEBIAN_MIRROR (default: the mirror the host's apt
# uses). Must run as root.
set -euo pipefail

BASE="${CALLSCREEN_DEB_BASE_DIR:-/var/tmp/callscreen-deb-bookworm}"
BASE="${BASE%/}"
MARKER="$BASE/.callscreen-deb-base-complete"
LOCKFILE="$BASE.lock"
BUILD_LOG="$BASE.build.log"
export DEBIAN_FRONTEND=noninteractive LC_ALL=C

log() { printf 'bookworm-root: %s\n' "$*" >&2; }
die() { log "error: $*"; exit 1; }

[[ "$(id -u)" -eq 0 ]] || die "must run as root (debootstrap, chroot and mount need it)"

safe_dir() {
  [[ "$1" == /* ]] || die "'$1' must be an absolute path"
  case "${1%/}" in
    ''|/|/bin|/boot|/dev|/etc|/home|/lib|/lib64|/opt|/proc|/root|/run|/sbin|/srv|/sys|/tmp|/usr|/var|/var/tmp)
      die "refusing to use '$1' as a root directory" ;;
  esac
}

mounts_under() {
  awk -v root="$1" '$2 == root || index($2, root "/") == 1 { print $2 }' /proc/mounts | sort -r
}

unmount_all() {
  local m
  while IFS= read -r m; do
    [[ -n "$m" ]] || continue
    umount "$m" 2>/dev/null || umount -l "$m" || log "warning: could not unmount $m"
  done < <(mounts_under "$1")
}

# The first plain Debian mirror the host's apt uses (not -security, not third-party).
host_mirror() {
  if [[ -n "${CALLSCREEN_DEBIAN_MIRROR:-}" ]]; then printf '%s\n' "$CALLSCREEN_DEBIAN_MIRROR"; return; fi
  local f m
  m="$(
    {
      for f in /etc/apt/sources.list.d/*.sources; do
        [[ -r "$f" ]] && awk 'tolower($1) == "uris:" { for (i = 2; i <= NF; i++) print $i }' "$f"
      done
      for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
        [[ -r "$f" ]] && sed -E 's/#.*//; s/\[[^]]*\]//g' "$f" | awk '$1 == "deb" { print $2 }'
      done
    } | grep -E '^(https?|ftp)://[^[:space:]]+/debian/?$' | head -n 1 || true
  )"
  [[ -n "$m" ]] || die "found no Debian mirror in /etc/apt sources; set CALLSCREEN_DEBIAN_MIRROR"
  printf '%s\n' "$m"
}

cmd_base() {
  safe_dir "$BASE"
  command -v debootstrap >/dev/null || die "debootstrap is not installed (apt-get install debootstrap)"
  mkdir -p "$(dirname "$LOCKFILE")"
  exec 9>"$LOCKFILE"
  flock -w 1800 9 || die "timed out waiting for $LOCKFILE"
  if [[ -f "$MARKER" ]]; then printf '%s\n' "$BASE"; return; fi
  unmount_all "$BASE"
  [[ -z "$(mounts_under "$BASE")" ]] || die "something is still mounted under $BASE"
  [[ -e "$BASE" ]] && { log "removing incomplete base $BASE"; rm -rf --one-file-system "$BASE"; }
  local mirror started=$SECONDS
  mirror="$(host_mirror)"
  log "building Debian bookworm minbase in $BASE from $mirror (log: $BUILD_LOG)"
  if ! debootstrap --variant=minbase bookworm "$BASE" "$mirror" </dev/null >"$BUILD_LOG" 2>&1; then
    tail -n 30 "$BUILD_LOG" >&2 || true
    unmount_all "$BASE"
    die "debootstrap failed (full log: $BUILD_LOG)"
  fi
  unmount_all "$BASE"
  # apt in the copies installs only the local .deb: its dependencies are all in minbase, so no
  # package lists are needed and no network is used after this point.
  printf 'bookworm minbase built %s from %s in %ss\n' "$(date -u +%FT%TZ)" "$mirror" "$((SECONDS - started))" >"$MARKER"
  log "built in $((SECONDS - started))s"
  printf '%s\n' "$BASE"
}

cmd_fresh() {
  local dir="${1:?usage: fresh DIR}"
  dir="${dir%/}"
  safe_dir "$dir"
  [[ -f "$MARKER" ]] || cmd_base >/dev/null
  [[ ! -e "$dir" ]] || die "$dir already exists"
  cp -a "$BASE" "$dir"
  rm -f "$dir/$(basename "$MARKER")"
  mount -t proc proc "$dir/proc"
  # No DNS inside: nothing here needs it, and a lookup with no network only hangs.
  printf 'nameserver 127.0.0.1\n' >"$dir/etc/resolv.conf"
  printf '127.0.0.1 localhost %s\n::1 localhost\n' "$(hostname)" >"$dir/etc/hosts"
  printf '%s\n' "$dir"
}

# Processes whose root directory is DIR.
processes_in() {
  local p r real
  real="$(readlink -f "$1")"
  for p in /proc/[0-9]*; do
    r="$(readlink "$p/root" 2>/dev/null)" || continue
    [[ "$r" == "$real" ]] && printf '%s\n' "${p#/proc/}"
  done
  return 0
}

cmd_destroy() {
  local dir="${1:?usage: destroy DIR}" pids sig deadline
  dir="${dir%/}"
  safe_dir "$dir"
  [[ "$dir" != "$BASE" ]] || die "refusing to destroy the cached base; delete $BASE by hand"
  [[ -d "$dir" ]] || return 0
  for sig in TERM KILL; do
    pids="$(processes_in "$dir")"
    [[ -n "$pids" ]] || break
    # shellcheck disable=SC2086
    kill -s "$sig" $pids 2>/dev/null || true
    deadline=$((SECONDS + 10))
    while [[ -n "$(processes_in "$dir")" ]] && ((SECONDS < deadline)); do sleep 0.2; done
  done
  unmount_all "$dir"
  [[ -z "$(mounts_under "$dir")" ]] || die "still mounted under $dir"
  rm -rf --one-file-system "$dir"
}

case "${1:-}" in
  base) cmd_base ;;
  fresh) shift; cmd_fresh "$@" ;;
  destroy) shift; cmd_destroy "$@" ;;
  *) sed -n '2,6p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
esac

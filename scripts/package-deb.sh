#!/usr/bin/env bash
# Builds the Debian package callscreen_<version>_amd64.deb with dpkg-deb (npm run package).
#
#   scripts/package-deb.sh [--version V] [--src DIR] [--out DIR] [--fast] [--keep-stage]
#
#   --version V   package version (default: package.json's "version")
#   --src DIR     the source tree to build (default: this checkout); a tree without node_modules
#                 (an older commit unpacked with git archive) borrows this checkout's
#   --out DIR     where the .deb goes (default: dist/ of this checkout); prints its path last
#   --fast        no compression (tests: xz of 120 MB costs minutes on a busy box; same contents)
#
# No network: TypeScript compiles with the checkout's compiler, and production dependencies are
# this checkout's node_modules pruned with `npm prune --omit=dev` in a copy (as scripts/install.sh).
# The Node runtime shipped is the one running this build (`node` on PATH): Debian 12's nodejs is
# 18, below our engines field (>= 20.17), so the package brings its own.
#
# Layout: /usr/lib/callscreen/{bin/node,dist,node_modules,package.json,VERSION}, /usr/bin/callscreen,
# /lib/systemd/system/callscreen.service, /etc/callscreen/callscreen.toml (conffile),
# /usr/share/doc/callscreen, /usr/share/callscreen/{asterisk,freeswitch}. Maintainer scripts are
# scripts/deb/maint-common.sh + scripts/deb/<name>.body.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
SRC="$HERE"
OUT="$HERE/dist"
VERSION=""
KEEP=0
COMPRESS=(-Zxz -z6)
while [ $# -gt 0 ]; do
  case "$1" in
    --version) VERSION="$2"; shift 2 ;;
    --src) SRC="$(cd "$2" && pwd)"; shift 2 ;;
    --out) OUT="$2"; shift 2 ;;
    --keep-stage) KEEP=1; shift ;;
    --fast) COMPRESS=(-Znone); shift ;;
    -h|--help) sed -n '2,11p' "$0" | sed 's/^# \{0,1\}//'; exit 0 ;;
    *) echo "package-deb: unknown option $1 (see --help)" >&2; exit 64 ;;
  esac
done

say() { echo "package-deb: $*" >&2; }
die() { echo "package-deb: error: $*" >&2; exit "${2:-1}"; }

command -v dpkg-deb >/dev/null || die "dpkg-deb is missing (apt-get install dpkg-dev or dpkg)" 69
NODE="$(node -p process.execPath)"
node_major="$("$NODE" -p 'process.versions.node.split(".")[0]')"
[ "$node_major" -ge 20 ] || die "the build's node is $("$NODE" --version); the package bundles it and needs >= 20.17" 69
[ -z "$VERSION" ] && VERSION="$("$NODE" -p "require('$SRC/package.json').version")"
[[ "$VERSION" =~ ^[0-9][A-Za-z0-9.+~-]*$ ]] || die "'$VERSION' is not a Debian version" 65
MODULES="$SRC/node_modules"
[ -d "$MODULES" ] || MODULES="$HERE/node_modules"
[ -d "$MODULES" ] || die "no node_modules in $SRC or $HERE: run npm ci first" 66
DEB_DIR="$HERE/scripts/deb"

WORK="$(mktemp -d "${TMPDIR:-/var/tmp}/callscreen-deb.XXXXXX")"
cleanup() { if [ "$KEEP" -eq 0 ]; then rm -rf "$WORK"; else say "stage kept in $WORK"; fi; }
trap cleanup EXIT
ROOT="$WORK/root"
LIB="$ROOT/usr/lib/callscreen"
mkdir -p "$LIB/bin" "$ROOT/usr/bin" "$ROOT/lib/systemd/system" "$ROOT/etc/callscreen" \
  "$ROOT/usr/share/doc/callscreen" "$ROOT/usr/share/callscreen" "$ROOT/DEBIAN"
started=$SECONDS

# 1. Compile into the stage (never into the checkout's dist/, which others use). The scripts/deb
#    helper is compiled with this checkout's copy so an older --src tree gets it too.
say "compiling $SRC"
BUILD="$WORK/build"
[ -e "$SRC/node_modules" ] || ln -s "$MODULES" "$SRC/node_modules"
"$NODE" "$HERE/node_modules/typescript/bin/tsc" -p "$SRC/tsconfig.build.json" --outDir "$BUILD" --sourceMap false \
  || die "TypeScript build of $SRC failed" 65
mkdir -p "$LIB/dist"
cp -a "$BUILD/daemon" "$LIB/dist/"
if [ ! -f "$BUILD/scripts/deb/maint-helper.js" ]; then
  # An older tree without the helper: compile ours against that tree's daemon/.
  mkdir -p "$SRC/scripts/deb"
  cp "$DEB_DIR/maint-helper.ts" "$SRC/scripts/deb/maint-helper.ts"
  "$NODE" "$HERE/node_modules/typescript/bin/tsc" -p "$SRC/tsconfig.build.json" --outDir "$BUILD" --sourceMap false \
    || die "TypeScript build of the maint helper against $SRC failed" 65
fi
mkdir -p "$LIB/dist/scripts/deb"
cp "$BUILD/scripts/deb/maint-helper.js" "$LIB/dist/scripts/deb/"
find "$LIB/dist" -name '*.map' -delete
cp "$SRC/package.json" "$LIB/"
[ -f "$SRC/package-lock.json" ] && cp "$SRC/package-lock.json" "$LIB/"
printf '%s\n' "$VERSION" >"$LIB/VERSION"

# 2. Production dependencies: a copy pruned offline, minus what never runs in production.
say "pruning a copy of node_modules to production dependencies"
cp -a "$MODULES" "$LIB/node_modules"
(cd "$LIB" && npm prune --omit=dev --no-audit --no-fund --silent >/dev/null) || die "npm prune failed" 70
rm -f "$LIB/package-lock.json"
# sqlite3's compile tree: only build/Release/node_sqlite3.node is loaded.
if [ -d "$LIB/node_modules/sqlite3/build" ]; then
  find "$LIB/node_modules/sqlite3/build" -mindepth 1 -maxdepth 1 ! -name Release -exec rm -rf {} +
  find "$LIB/node_modules/sqlite3/build/Release" -mindepth 1 ! -name 'node_sqlite3.node' -exec rm -rf {} +
fi
rm -rf "$LIB/node_modules/sqlite3/deps" "$LIB/node_modules/sqlite3/src" "$LIB/node_modules/.package-lock.json"
# Build-time only (sqlite3 loads its compiled module through `bindings`): the compiler driver, the
# prebuilt-binary fetcher and C++ headers never run on the server.
rm -rf "$LIB/node_modules/node-gyp" "$LIB/node_modules/prebuild-install" "$LIB/node_modules/node-addon-api"
# Never loaded at run time: tests, examples, benchmarks, sources maps, type declarations, helper
# scripts in other languages, VCS files.
find "$LIB/node_modules" -mindepth 2 -type d \( -name test -o -name tests -o -name __tests__ -o -name example \
  -o -name examples -o -name benchmark -o -name benchmarks -o -name bench -o -name integration -o -name .github \
  -o -name .git -o -name docs -o -name man -o -name .husky \) -prune -exec rm -rf {} +
find "$LIB/node_modules" -type f \( -name '*.map' -o -name '*.d.ts' -o -name '*.d.mts' -o -name '*.d.cts' \
  -o -name '*.ts' -o -name '*.md' ! -iname 'LICEN[CS]E*' -o -name '*.markdown' -o -name '*.sh' -o -name '*.bat' \
  -o -name '*.cmd' -o -name '*.py' -o -name '*.gyp' -o -name '*.gypi' -o -name '*.cc' -o -name '*.h' \
  -o -name '.git*' -o -name '.npmignore' -o -name '.eslint*' -o -name '.prettier*' -o -name '.travis.yml' \
  -o -name '.editorconfig' -o -name '.taprc' -o -name '.nycrc*' -o -name 'Makefile' -o -name '*.html' \) -delete
find "$LIB/node_modules" -name '*.node' -exec strip --strip-unneeded {} +
# Nothing in node_modules is run directly (the bundled node runs every script), so no file is
# executable: scripts with `#!/usr/bin/env node` must not look like programs needing nodejs.
find "$LIB/node_modules" -type d -exec chmod 0755 {} +
find "$LIB/node_modules" -type f -exec chmod 0644 {} +

# 3. The Node runtime this build runs with, stripped of debug symbols.
say "bundling $NODE ($("$NODE" --version))"
cp "$NODE" "$LIB/bin/node"
strip --strip-unneeded "$LIB/bin/node"
chmod 0755 "$LIB/bin/node"

# 4. The CLI on PATH, the unit with the bundled node, the config (a conffile), docs.
install -m 0755 "$DEB_DIR/callscreen.sh" "$ROOT/usr/bin/callscreen"
sed -e 's|^ExecStart=/usr/bin/node /opt/callscreen/|ExecStart=/usr/lib/callscreen/bin/node /usr/lib/callscreen/|' \
    -e 's|^Documentation=.*|Documentation=file:///usr/share/doc/callscreen/operations.md|' \
    -e 's|^# Installed by scripts/install.sh\.|# Installed by the callscreen Debian package.|' \
    "$SRC/systemd/callscreen.service" >"$ROOT/lib/systemd/system/callscreen.service"
chmod 0644 "$ROOT/lib/systemd/system/callscreen.service"
grep -q '^ExecStart=/usr/lib/callscreen/bin/node /usr/lib/callscreen/dist/daemon/cli/bin.js daemon' \
  "$ROOT/lib/systemd/system/callscreen.service" || die "systemd/callscreen.service: ExecStart not in the expected form" 65
! grep -q '/opt/callscreen\|/usr/bin/node' "$ROOT/lib/systemd/system/callscreen.service" \
  || die "the packaged unit still names /opt/callscreen or /usr/bin/node" 65
sed 's|^path = "./var/callscreen.db"|path = "/var/lib/callscreen/callscreen.db"|' "$SRC/config/callscreen.example.toml" \
  >"$ROOT/etc/callscreen/callscreen.toml"
grep -q '^path = "/var/lib/callscreen/callscreen.db"' "$ROOT/etc/callscreen/callscreen.toml" \
  || die "config/callscreen.example.toml: store.path line not found" 65
chmod 0644 "$ROOT/etc/callscreen/callscreen.toml"
cp "$SRC"/docs/*.md "$ROOT/usr/share/doc/callscreen/"
cp "$SRC/README.md" "$ROOT/usr/share/doc/callscreen/"
cp "$SRC/config/callscreen.example.toml" "$ROOT/usr/share/doc/callscreen/"
cp -r "$SRC/config/asterisk" "$ROOT/usr/share/callscreen/asterisk"
[ -d "$SRC/config/freeswitch" ] && cp -r "$SRC/config/freeswitch" "$ROOT/usr/share/callscreen/freeswitch"
# callscreen's Asterisk module, as source and the script that builds it on the PBX against its own
# Asterisk (a build is for one Asterisk version; docs/asterisk-contract.md "The module"). A tree from
# before the module (the package test builds an older version with this script) has neither.
if [ -f "$SRC/daemon/pbx/asterisk/module/func_callscreen.c" ]; then
  mkdir -p "$ROOT/usr/share/callscreen/asterisk/module"
  cp "$SRC/daemon/pbx/asterisk/module/func_callscreen.c" "$ROOT/usr/share/callscreen/asterisk/module/"
  # Made executable below, after the blanket chmod of /usr/share.
  cp "$SRC/scripts/build-asterisk-module" "$ROOT/usr/share/callscreen/asterisk/module/build-asterisk-module"
fi
cp "$DEB_DIR/copyright" "$ROOT/usr/share/doc/callscreen/copyright"
{
  printf 'callscreen (%s) unstable; urgency=medium\n\n' "$VERSION"
  printf '  * Built from %s.\n\n' "$(git -C "$SRC" rev-parse --short HEAD 2>/dev/null || echo 'a source tree')"
  printf ' -- callscreen maintainers <maintainers@callscreen.example.com>  %s\n' "$(date -R)"
} | gzip -9n >"$ROOT/usr/share/doc/callscreen/changelog.gz"
# Node links its own zlib (and OpenSSL, libuv, ICU…) statically: the reason it is bundled at all.
mkdir -p "$ROOT/usr/share/lintian/overrides"
printf '%s\n' '# Node.js links zlib statically; the package bundles Node because Debian 12 has only Node 18.' \
  'callscreen: embedded-library zlib [usr/lib/callscreen/bin/node]' >"$ROOT/usr/share/lintian/overrides/callscreen"
# A man page from the CLI's own --help (docs/cli.md is the full reference).
mkdir -p "$ROOT/usr/share/man/man1"
help="$("$LIB/bin/node" "$LIB/dist/daemon/cli/bin.js" --help 2>&1 | sed -e 's/\\/\\\\/g' -e 's/^\./\\\&./')" \
  || die "callscreen --help failed in the stage" 70
{
  printf '.TH CALLSCREEN 1 "%s" "callscreen %s" "User Commands"\n' "$(date -u +%Y-%m-%d)" "$VERSION"
  printf '.SH NAME\ncallscreen \\- manage the callscreen call and SMS screening daemon\n'
  printf '.SH SYNOPSIS\n.B callscreen\n\\fICOMMAND\\fR [\\fIOPTIONS\\fR]\n'
  printf '.SH DESCRIPTION\nThe blocklist, organisations, users, backups and the daemon itself. Each command has\n'
  printf '.B \\-\\-help\n; the full reference is /usr/share/doc/callscreen/cli.md.\n'
  printf '.SH COMMANDS\n.nf\n%s\n.fi\n' "$help"
  printf '.SH FILES\n.TP\n/etc/callscreen/callscreen.toml\nthe configuration (CALLSCREEN_CONFIG overrides it)\n'
  printf '.TP\n/var/lib/callscreen/callscreen.db\nthe database; pre-upgrade backups in /var/lib/callscreen/backups\n'
  printf '.SH SEE ALSO\n/usr/share/doc/callscreen/operations.md\n'
} | gzip -9n >"$ROOT/usr/share/man/man1/callscreen.1.gz"
find "$ROOT/usr/share" -type f -exec chmod 0644 {} +
# The one program under /usr/share: the module's build script, run on the PBX.
if [ -f "$ROOT/usr/share/callscreen/asterisk/module/build-asterisk-module" ]; then
  chmod 0755 "$ROOT/usr/share/callscreen/asterisk/module/build-asterisk-module"
fi
chmod 0644 "$LIB/package.json" "$LIB/VERSION"
find "$ROOT/usr/share" -type d -exec chmod 0755 {} +

# 5. Control data.
for s in preinst postinst prerm postrm; do
  { printf '#!/bin/bash\n# callscreen %s (generated by scripts/package-deb.sh from scripts/deb/)\nset -e\n' "$s"
    sed "s|@VERSION@|$VERSION|g" "$DEB_DIR/maint-common.sh"
    cat "$DEB_DIR/$s.body"; } >"$ROOT/DEBIAN/$s"
  chmod 0755 "$ROOT/DEBIAN/$s"
  bash -n "$ROOT/DEBIAN/$s" || die "DEBIAN/$s: syntax error" 65
done
printf '/etc/callscreen/callscreen.toml\n' >"$ROOT/DEBIAN/conffiles"
size_kb="$(du -sk --exclude=DEBIAN "$ROOT" | cut -f1)"
sed -e "s|@VERSION@|$VERSION|" -e "s|@INSTALLED_SIZE@|$size_kb|" "$DEB_DIR/control.in" >"$ROOT/DEBIAN/control"
(cd "$ROOT" && find . -path ./DEBIAN -prune -o -type f -printf '%P\0' | LC_ALL=C sort -z | xargs -0 md5sum) >"$ROOT/DEBIAN/md5sums"
chmod 0644 "$ROOT/DEBIAN/control" "$ROOT/DEBIAN/conffiles" "$ROOT/DEBIAN/md5sums"
find "$ROOT" -type d -exec chmod 0755 {} +

mkdir -p "$OUT"
deb="$OUT/callscreen_${VERSION}_amd64.deb"
say "packing (${COMPRESS[*]})"
dpkg-deb --root-owner-group "${COMPRESS[@]}" --build "$ROOT" "$deb" >/dev/null
bytes="$(stat -c %s "$deb")"
say "$(basename "$deb"): $((bytes / 1024 / 1024)) MB ($bytes bytes), installed $((size_kb / 1024)) MB, built in $((SECONDS - started)) s"
printf '%s\n' "$deb"

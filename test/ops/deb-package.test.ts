/**
 * The Debian package as an admin meets it (issue #19): `npm run package`'s .deb installed with
 * apt-get into a clean Debian 12 root (scripts/deb/bookworm-root.sh: debootstrap once, cached under
 * /var/tmp, each run on its own copy), the daemon started the way the unit starts it, the README's
 * quick start and a FastAGI call against it; then upgrade from a package of an older schema, a
 * failing migration rolled back (then fixed and retried with dpkg --configure), remove + install,
 * purge; lintian on the package.
 *
 * No systemd runs in the chroot, so the maintainer scripts take their no-systemd path (the daemon
 * found by its process, started as the unit would). Needs root; on a cached base about 4–5 min,
 * most of it compiling and pruning for the two packages (the older one is cached by commit).
 */
import t, { type Test } from 'tap';
import { spawn, spawnSync, type SpawnSyncReturns } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { agiCall, callEnv } from '../support/faults-agi.js';
import { until } from '../support/harness.js';

const root = join(import.meta.dirname, '../..');
const inCi = process.env.CI === 'true';
const CACHE = process.env.CALLSCREEN_DEB_CACHE ?? '/var/tmp/callscreen-deb-cache';
const CHROOT = `/var/tmp/callscreen-deb-test-${process.pid}`;
/** Generous: a busy shared 2-core box compiling, pruning and unpacking 120 MB (ms). */
const BUILD_TIMEOUT_MS = 15 * 60_000;
const APT_TIMEOUT_MS = 5 * 60_000;
const READY_TIMEOUT_MS = 90_000;

function lintianMissing(): string | null {
  if (spawnSync('sh', ['-c', 'command -v lintian']).status === 0) return null;
  spawnSync(
    'apt-get',
    ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-qq', '--no-install-recommends', 'lintian'],
    { stdio: 'ignore', timeout: APT_TIMEOUT_MS },
  );
  return spawnSync('sh', ['-c', 'command -v lintian']).status === 0
    ? null
    : 'lintian is not installed and apt-get could not install it';
}

function why(): string | null {
  if (process.getuid?.() !== 0) return 'needs root (debootstrap, chroot, dpkg in a chroot)';
  for (const tool of ['debootstrap', 'dpkg-deb']) {
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status === 0) continue;
    // Root can install what is missing, as the PBX sandbox does.
    spawnSync('apt-get', ['-o', 'DPkg::Lock::Timeout=600', 'install', '-y', '-qq', '--no-install-recommends', tool], {
      stdio: 'ignore',
      timeout: APT_TIMEOUT_MS,
    });
    if (spawnSync('sh', ['-c', `command -v ${tool}`]).status !== 0)
      return `${tool} is not installed and apt-get could not install it`;
  }
  return null;
}

function sh(
  cmd: string,
  args: string[],
  opts: { timeout?: number; input?: string; cwd?: string } = {},
): SpawnSyncReturns<string> {
  return spawnSync(cmd, args, {
    encoding: 'utf8',
    timeout: opts.timeout ?? APT_TIMEOUT_MS,
    input: opts.input ?? '',
    cwd: opts.cwd ?? root,
    maxBuffer: 64 * 1024 * 1024,
  });
}

function must(r: SpawnSyncReturns<string>, what: string): string {
  if (r.status !== 0)
    throw new Error(
      `${what} failed (exit ${String(r.status)}${r.signal ? `, ${r.signal}` : ''}):\n${r.stdout}\n${r.stderr}`,
    );
  return r.stdout;
}

/** Inside the chroot, as root, no stdin (as apt in a script runs). */
const inRoot = (args: string[], timeout?: number): SpawnSyncReturns<string> =>
  sh(
    'chroot',
    [
      CHROOT,
      'env',
      '-i',
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      'DEBIAN_FRONTEND=noninteractive',
      'LC_ALL=C',
      'HOME=/root',
      'USER=root',
      ...args,
    ],
    timeout === undefined ? {} : { timeout },
  );

const apt = (...args: string[]): SpawnSyncReturns<string> =>
  inRoot([
    'apt-get',
    '-y',
    '-o',
    'Dpkg::Use-Pty=0',
    '-o',
    'Dpkg::Options::=--force-confdef',
    '-o',
    'Dpkg::Options::=--force-confold',
    ...args,
  ]);

/** An assertion message that carries the command's output only when it failed. */
const said = (r: SpawnSyncReturns<string>, what: string): string =>
  r.status === 0 ? what : `${what} (exit ${String(r.status)}):\n${r.stdout}${r.stderr}`;

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const a = s.address();
      s.close(() => resolve(typeof a === 'object' && a ? a.port : 0));
    });
  });
}

function buildPackage(args: string[], what: string): string {
  const r = sh(join(root, 'scripts/package-deb.sh'), [...args, '--fast'], { timeout: BUILD_TIMEOUT_MS });
  const out = must(r, what).trim().split('\n').at(-1) ?? '';
  if (!existsSync(out)) throw new Error(`${what}: no package at '${out}'\n${r.stderr}`);
  return out;
}

/**
 * The previous release's stand-in: walking main's own history (first parents only, so a helper
 * branch's half-way commit is never built), the newest commit whose migrations are 1..k with
 * k < this tree's — a schema a site could really have. A merge can leave main with a gap for a
 * moment (1, 2, 4…8 before 3 landed); such a commit is skipped, since no release ships a gap.
 */
function olderSchemaCommit(current: number): { commit: string; versions: number } | null {
  const touched = sh('git', ['log', '--first-parent', '--format=%H', '--', 'daemon/store/migrations.ts'])
    .stdout.trim()
    .split('\n')
    .filter(Boolean);
  for (const c of touched) {
    const parent = sh('git', ['rev-parse', '--verify', '--quiet', `${c}^`]).stdout.trim();
    if (!parent) continue;
    const text = sh('git', ['show', `${parent}:daemon/store/migrations.ts`]);
    if (text.status !== 0) continue;
    const versions = [...text.stdout.matchAll(/^\s+version: (\d+),/gm)].map((m) => Number(m[1]));
    const contiguous = versions.length > 0 && versions.every((v, i) => v === i + 1);
    if (contiguous && versions.length < current) return { commit: parent, versions: versions.length };
  }
  return null;
}

/** Repack a .deb under another version, optionally with its compiled migrations patched. */
function repack(deb: string, version: string, dir: string, patchMigrations?: (js: string) => string): string {
  const stage = join(dir, `repack-${version}`);
  rmSync(stage, { recursive: true, force: true });
  must(sh('dpkg-deb', ['-R', deb, stage]), 'dpkg-deb -R');
  const control = join(stage, 'DEBIAN/control');
  writeFileSync(control, readFileSync(control, 'utf8').replace(/^Version: .*$/m, `Version: ${version}`));
  for (const s of ['preinst', 'postinst', 'prerm', 'postrm']) {
    const f = join(stage, 'DEBIAN', s);
    writeFileSync(f, readFileSync(f, 'utf8').replace(/^PKG_VERSION='.*'$/m, `PKG_VERSION='${version}'`));
  }
  writeFileSync(join(stage, 'usr/lib/callscreen/VERSION'), `${version}\n`);
  if (patchMigrations) {
    const m = join(stage, 'usr/lib/callscreen/dist/daemon/store/migrations.js');
    writeFileSync(m, patchMigrations(readFileSync(m, 'utf8')));
  }
  const out = join(dir, `callscreen_${version}_amd64.deb`);
  must(sh('dpkg-deb', ['--root-owner-group', '-Znone', '--build', stage, out]), 'dpkg-deb --build');
  rmSync(stage, { recursive: true, force: true });
  return out;
}

/** Appends a migration to the compiled MIGRATIONS array (the test's stand-in for a next release). */
function withMigration(js: string, sql: string): string {
  const at = js.indexOf('export const SCHEMA_VERSION');
  const close = js.lastIndexOf('];', at);
  if (at < 0 || close < 0) throw new Error('compiled migrations.js is not in the expected shape');
  const next = (js.slice(0, close).match(/version: (\d+),/g) ?? []).length + 1;
  return `${js.slice(0, close)}  { version: ${next}, description: 'deb-package test', sql: ${JSON.stringify(sql)} },\n${js.slice(close)}`;
}

interface Unit {
  user: string;
  env: string[];
  cwd: string;
  exec: string[];
}

function readUnit(): Unit {
  const text = readFileSync(join(CHROOT, 'lib/systemd/system/callscreen.service'), 'utf8');
  const one = (k: string): string => {
    const m = new RegExp(`^${k}=(.*)$`, 'm').exec(text);
    if (!m?.[1]) throw new Error(`unit has no ${k}=`);
    return m[1];
  };
  return {
    user: one('User'),
    env: [...text.matchAll(/^Environment=(.*)$/gm)].map((m) => m[1] ?? ''),
    cwd: one('WorkingDirectory'),
    exec: one('ExecStart').split(/\s+/),
  };
}

/** Starts the daemon as the unit does: its user, environment, directory, umask and ExecStart. */
function startAsUnit(unit: Unit, log: string): void {
  const script = `cd ${unit.cwd} && umask 0027 && exec ${unit.exec.join(' ')}`;
  const child = spawn(
    'chroot',
    [
      CHROOT,
      'setpriv',
      `--reuid=${unit.user}`,
      `--regid=${unit.user}`,
      '--init-groups',
      'env',
      '-i',
      'PATH=/usr/sbin:/usr/bin:/sbin:/bin',
      `HOME=${unit.cwd}`,
      ...unit.env,
      'sh',
      '-c',
      script,
    ],
    {
      detached: true,
      stdio: ['ignore', 'ignore', 'ignore'],
    },
  );
  child.unref();
  writeFileSync(log, `started pid ${String(child.pid)}\n`, { flag: 'a' });
}

async function ready(port: number): Promise<boolean> {
  try {
    const r = await fetch(`http://127.0.0.1:${port}/readyz`, { signal: AbortSignal.timeout(2000) });
    return r.status === 200;
  } catch {
    return false;
  }
}

/** Row counts of the tables an admin cares about, read with the package's own node and sqlite3. */
function counts(): Record<string, number> {
  const js = `
    const { createRequire } = require('node:module');
    const sqlite3 = createRequire('/usr/lib/callscreen/package.json')('sqlite3');
    const db = new sqlite3.Database('/var/lib/callscreen/callscreen.db', sqlite3.OPEN_READONLY);
    const tables = ['orgs', 'org_numbers', 'entries', 'users', 'audit_log', 'quarantine', 'screened'];
    const out = {};
    let n = tables.length;
    db.get('PRAGMA user_version', (e, r) => {
      out.schema = r.user_version;
      for (const tb of tables) db.get('SELECT count(*) AS c FROM ' + tb, (err, row) => {
        out[tb] = err ? -1 : row.c;
        if (--n === 0) { process.stdout.write(JSON.stringify(out)); db.close(); }
      });
    });`;
  return JSON.parse(must(inRoot(['/usr/lib/callscreen/bin/node', '-e', js]), 'row counts')) as Record<string, number>;
}

/** One inbound SMS over FastAGI, answering the variables the daemon asks for. */
async function agiSms(port: number, from: string, body: string): Promise<string[]> {
  const env = callEnv({
    agi_network_script: 'sms-inbound',
    agi_channel: 'Message/ast_msg_queue',
    agi_arg_1: 'pjsip:agent101',
  });
  const r = await agiCall(port, env, 10_000, {
    '${MESSAGE(from)}': `<sip:${from}@127.0.0.2>`,
    '${BASE64_ENCODE(${MESSAGE(body)})}': Buffer.from(body).toString('base64'),
  });
  return r.commands;
}

/** Every path in a root with its numeric owner and group, relative, sorted (for the purge comparison). */
function listing(dir: string): string[] {
  const r = sh('find', [dir, '-xdev', '-mindepth', '1', '-printf', '%P %U:%G\n'], { timeout: 120_000 });
  return r.stdout.split('\n').filter(Boolean).sort();
}

async function run(t: Test): Promise<void> {
  const t0 = Date.now();
  const work = join(CACHE, `run-${process.pid}`);
  mkdirSync(work, { recursive: true });
  t.teardown(() => {
    sh(join(root, 'scripts/deb/bookworm-root.sh'), ['destroy', CHROOT], { timeout: 120_000 });
    rmSync(work, { recursive: true, force: true });
  });
  const elapsed = (): string => `${Math.round((Date.now() - t0) / 1000)} s`;

  // 1. The packages: this tree; an older-schema commit (cached by commit); a failing migration.
  const base = sh(join(root, 'scripts/deb/bookworm-root.sh'), ['base'], { timeout: BUILD_TIMEOUT_MS });
  must(base, 'building the bookworm base');
  t.comment(`bookworm base ready at ${elapsed()}`);
  const version = (JSON.parse(readFileSync(join(root, 'package.json'), 'utf8')) as { version: string }).version;
  const current = buildPackage(['--out', work], 'npm run package');
  t.comment(`${current}: ${(statSync(current).size / 1e6).toFixed(1)} MB uncompressed (--fast), built by ${elapsed()}`);
  const currentSchema = (
    readFileSync(join(root, 'daemon/store/migrations.ts'), 'utf8').match(/^\s+version: \d+,/gm) ?? []
  ).length;
  const older = olderSchemaCommit(currentSchema);
  let previous: string;
  let previousSchema: number;
  const prevVersion = `${version}~prev1`;
  if (older && older.versions < currentSchema) {
    // Keyed by the commit and by the packaging scripts that built it.
    const recipe = createHash('sha256');
    for (const f of [
      'scripts/package-deb.sh',
      ...readdirSync(join(root, 'scripts/deb'))
        .sort()
        .map((n) => `scripts/deb/${n}`),
    ])
      recipe.update(readFileSync(join(root, f)));
    const cached = join(
      CACHE,
      `callscreen_${prevVersion}_${older.commit.slice(0, 12)}_${recipe.digest('hex').slice(0, 12)}.deb`,
    );
    for (const stale of readdirSync(CACHE).filter((n) => n.endsWith('.deb') && join(CACHE, n) !== cached))
      rmSync(join(CACHE, stale), { force: true });
    if (!existsSync(cached)) {
      const src = join(work, 'older-src');
      mkdirSync(src, { recursive: true });
      must(sh('sh', ['-c', `git archive ${older.commit} | tar -x -C ${src}`]), 'git archive');
      const built = buildPackage(['--src', src, '--version', prevVersion, '--out', work], `package of ${older.commit}`);
      must(sh('mv', [built, cached]), 'caching the older package');
    }
    previous = cached;
    previousSchema = older.versions;
    t.comment(
      `previous package: commit ${older.commit.slice(0, 12)}, schema v${previousSchema} (this tree: v${currentSchema}); ready at ${elapsed()}`,
    );
  } else {
    // No older schema to build from: the same tree relabelled, and a schema step added by the test.
    previous = repack(current, prevVersion, work);
    previousSchema = currentSchema;
    t.comment('no commit with an older schema: the previous package is this tree with a lower version');
  }
  // The next release, whose migration fails until the admin "fixes the cause" (a table it needs).
  const failing = repack(current, `${version}+next1`, work, (js) =>
    withMigration(js, 'CREATE TABLE deb_test_probe (x INTEGER); INSERT INTO deb_test_gate VALUES (1);'),
  );

  await t.test('lintian: no errors', { skip: lintianMissing() ?? false }, async (t) => {
    // --fast packages are uncompressed on purpose; the released one is xz (npm run package).
    const r = sh(
      'lintian',
      [
        '--tag-display-limit',
        '0',
        '--suppress-tags',
        'uses-no-compression-for-data-tarball,uses-no-compression-for-control-tarball',
        current,
      ],
      { timeout: 600_000 },
    );
    const lines = `${r.stdout}${r.stderr}`.split('\n');
    t.same(
      lines.filter((l) => l.startsWith('E:')),
      [],
      'no lintian errors',
    );
    const warnings = lines.filter((l) => l.startsWith('W:'));
    t.comment(
      `lintian warnings kept (${warnings.length}): ${[...new Set(warnings.map((w) => w.split(' ')[2]))].join(', ')}`,
    );
  });

  // 2. Fresh install of the previous release, config edited as an admin would.
  must(sh(join(root, 'scripts/deb/bookworm-root.sh'), ['fresh', CHROOT], { timeout: 300_000 }), 'fresh root');
  const before = listing(CHROOT);
  for (const f of [previous, current, failing]) must(sh('cp', [f, join(CHROOT, 'tmp')]), 'copy .deb');
  const inChroot = (f: string): string => `/tmp/${f.split('/').at(-1) ?? ''}`;
  const install1 = apt('install', inChroot(previous));
  t.equal(install1.status, 0, said(install1, 'apt-get install ./previous.deb'));
  t.match(install1.stdout, /Next steps/, 'postinst tells the admin what to do next');
  const pw = /^callscreen:x:(\d+):(\d+):.*:\/var\/lib\/callscreen:\/usr\/sbin\/nologin$/m.exec(
    inRoot(['getent', 'passwd', 'callscreen']).stdout,
  );
  t.ok(pw, 'system user callscreen, home /var/lib/callscreen, no login shell');
  const ids = { uid: pw?.[1] ?? 'none', gid: pw?.[2] ?? 'none' };
  const dataStat = statSync(join(CHROOT, 'var/lib/callscreen'));
  t.equal(dataStat.mode & 0o777, 0o750, '/var/lib/callscreen 0750');
  t.equal(
    inRoot([
      'stat',
      '-c',
      '%U:%G %a',
      '/var/lib/callscreen',
      '/var/lib/callscreen/callscreen.db',
      '/etc/callscreen',
      '/etc/callscreen/callscreen.toml',
    ]).stdout,
    'callscreen:callscreen 750\ncallscreen:callscreen 640\nroot:callscreen 750\nroot:callscreen 640\n',
    'owners and modes',
  );
  t.match(
    readFileSync(join(CHROOT, 'usr/bin/callscreen'), 'utf8'),
    /exec \/usr\/lib\/callscreen\/bin\/node /,
    'CLI uses the bundled node',
  );
  t.match(
    inRoot(['callscreen', '--version']).stdout + inRoot(['/usr/lib/callscreen/bin/node', '--version']).stdout,
    /v2\d\./,
    'bundled node runs in bookworm',
  );

  const agiPort = await freePort();
  const adminPort = await freePort();
  const conf = join(CHROOT, 'etc/callscreen/callscreen.toml');
  const edited = readFileSync(conf, 'utf8')
    .replace(/^listen = "127\.0\.0\.1:4573"$/m, `listen = "127.0.0.1:${agiPort}"`)
    .replace(/^listen = "127\.0\.0\.1:8080"$/m, `listen = "127.0.0.1:${adminPort}"`)
    .replace(/^\[fastagi\]$/m, '# edited by the admin: ports moved for this box\n[fastagi]');
  t.not(edited, readFileSync(conf, 'utf8'), 'config edited');
  writeFileSync(conf, edited);

  const unit = readUnit();
  t.same(
    unit.exec.slice(0, 2),
    ['/usr/lib/callscreen/bin/node', '/usr/lib/callscreen/dist/daemon/cli/bin.js'],
    'unit runs the bundled node',
  );
  const daemonLog = join(work, 'daemon.log');
  startAsUnit(unit, daemonLog);
  t.ok(await until(() => ready(adminPort), READY_TIMEOUT_MS, 250), 'daemon started as the unit does is ready');

  // 3. The README's quick start, as the admin (root) with the packaged CLI — the previous release's
  // README on the previous package (an admin of that release typed those); lines this tree's README
  // added are run on this package after the upgrade (step 4).
  const quickOf = (readme: string): string[] => [...readme.matchAll(/^npx (callscreen .*)$/gm)].map((m) => m[1] ?? '');
  const quickNow = quickOf(readFileSync(join(root, 'README.md'), 'utf8'));
  const olderReadme = older && previousSchema < currentSchema ? sh('git', ['show', `${older.commit}:README.md`]) : null;
  const quick = olderReadme?.status === 0 ? quickOf(olderReadme.stdout) : quickNow;
  const quickAdded = quickNow.filter((l) => !quick.includes(l));
  t.ok(quick.length >= 4, `README quick start has ${quick.length} commands`);
  for (const line of quick) {
    const r = inRoot(['sh', '-c', line]);
    t.equal(r.status, 0, said(r, line));
  }
  const user = inRoot(['callscreen', 'user', 'add', 'alice', '--role', 'supervisor', '--org', 'demo']);
  t.equal(user.status, 0, said(user, 'callscreen user add alice --role supervisor --org demo'));
  await until(
    async () =>
      (await agiCall(agiPort, callEnv({ agi_callerid: '+15551234567' }))).commands.some((c) =>
        /CALLSCREEN_ACTION "reject"/.test(c),
      ),
    10_000,
    200,
  );
  const call = await agiCall(
    agiPort,
    callEnv({ agi_callerid: '+15551234567', agi_dnid: '+15550100', agi_extension: '+15550100' }),
  );
  t.ok(
    call.commands.some((c) => c === 'SET VARIABLE CALLSCREEN_ACTION "reject"'),
    `FastAGI call from the blocked number rejected: ${call.commands.join(' | ')}`,
  );
  const sms = await agiSms(agiPort, '+15551234567', 'held for supervisors');
  t.ok(
    sms.some((c) => c === 'SET VARIABLE CALLSCREEN_ACTION "quarantine"'),
    `SMS from it quarantined: ${sms.join(' | ')}`,
  );
  await until(() => (counts().screened ?? 0) > 0, 10_000, 500);
  const rows0 = counts();
  t.equal(rows0.schema, previousSchema, `previous package made schema v${previousSchema}`);
  for (const k of ['orgs', 'org_numbers', 'entries', 'users', 'audit_log', 'quarantine'])
    t.ok((rows0[k] ?? 0) > 0, `${k}: ${String(rows0[k])} rows`);
  t.comment(`installed and exercised by ${elapsed()}`);

  // 4. Upgrade to this tree: data and the edited config kept, the daemon back and ready.
  const up = apt('install', inChroot(current));
  t.equal(up.status, 0, said(up, `apt-get install ./callscreen_${version}_amd64.deb (upgrade)`));
  t.match(
    up.stdout,
    /backed up \/var\/lib\/callscreen\/callscreen\.db to \/var\/lib\/callscreen\/backups\/pre-upgrade-/,
    'backup taken',
  );
  t.match(
    up.stdout,
    new RegExp(`upgraded from ${prevVersion.replace(/[.+~]/g, '\\$&')} to ${version}`),
    'says it upgraded',
  );
  t.equal(readFileSync(conf, 'utf8'), edited, 'edited config kept byte for byte');
  t.ok(await until(() => ready(adminPort), READY_TIMEOUT_MS, 250), 'daemon ready after the upgrade');
  const rows1 = counts();
  t.equal(rows1.schema, currentSchema, `migrated to schema v${currentSchema}`);
  for (const k of ['orgs', 'org_numbers', 'entries', 'users', 'audit_log', 'quarantine'])
    t.ok((rows1[k] ?? 0) >= (rows0[k] ?? 0), `${k} kept (${String(rows0[k])} → ${String(rows1[k])})`);
  t.equal(
    readFileSync(join(CHROOT, 'usr/lib/callscreen/VERSION'), 'utf8').trim(),
    version,
    'the new program is on disk',
  );
  t.notOk(existsSync(join(CHROOT, 'usr/lib/callscreen.previous')), 'the old program is gone once the new one is ready');
  // callscreen's Asterisk module, to be built on the PBX against its own Asterisk (docs/asterisk-contract.md).
  const moduleDir = join(CHROOT, 'usr/share/callscreen/asterisk/module');
  t.ok(existsSync(join(moduleDir, 'func_callscreen.c')), "the Asterisk module's source is shipped");
  t.equal(statSync(join(moduleDir, 'build-asterisk-module')).mode & 0o755, 0o755, 'with its build script, executable');
  const list = inRoot(['callscreen', 'list', '--org', 'demo', '--search', '555123']);
  t.match(list.stdout, /Robocaller/, 'the quick start entry is listed after the upgrade');
  for (const line of quickAdded) {
    const r = inRoot(['sh', '-c', line]);
    t.equal(r.status, 0, said(r, `${line} (a quick start line the previous release did not have)`));
  }
  t.comment(`upgraded by ${elapsed()}`);

  // 5. A release whose migration fails: rolled back to the backup with this version running.
  const bad = apt('install', inChroot(failing));
  t.not(bad.status, 0, 'apt-get reports the failed upgrade');
  t.match(bad.stderr, /FAILED: the database migration failed/, 'says what failed');
  t.match(
    bad.stderr,
    /database restored from \/var\/lib\/callscreen\/backups\/pre-upgrade-/,
    'says the database was restored',
  );
  t.match(bad.stderr, /dpkg --configure callscreen/, 'says how to retry');
  t.match(
    inRoot(['dpkg-query', '-W', '-f', '${Status}', 'callscreen']).stdout,
    /half-configured/,
    'dpkg knows the upgrade did not finish',
  );
  t.comment(
    `what the admin sees:\n${bad.stderr
      .split('\n')
      .filter((l) => l.startsWith('callscreen:'))
      .join('\n')}`,
  );
  t.equal(
    readFileSync(join(CHROOT, 'usr/lib/callscreen/VERSION'), 'utf8').trim(),
    version,
    'the old program is back on disk',
  );
  t.ok(await until(() => ready(adminPort), READY_TIMEOUT_MS, 250), 'and the old version is running and ready');
  const rows2 = counts();
  t.equal(rows2.schema, currentSchema, 'schema unchanged');
  for (const k of ['orgs', 'entries', 'users', 'audit_log', 'quarantine'])
    t.equal(rows2[k], rows1[k], `${k} intact after the rollback`);
  const call2 = await agiCall(agiPort, callEnv({ agi_callerid: '+15551234567' }));
  t.ok(call2.commands.includes('SET VARIABLE CALLSCREEN_ACTION "reject"'), 'still screening after the rollback');
  // One way on the message offers: reinstall the version that works.
  const back = apt('install', '--allow-downgrades', inChroot(current));
  t.equal(back.status, 0, said(back, 'apt-get install --allow-downgrades the working version'));
  t.match(
    inRoot(['dpkg-query', '-W', '-f', '${Status} ${Version}', 'callscreen']).stdout,
    `install ok installed ${version}`,
    'installed and configured again',
  );
  t.notOk(existsSync(join(CHROOT, 'usr/lib/callscreen.failed')), 'the failed program is cleared');
  // The other: fix the cause and let dpkg finish the upgrade.
  const bad2 = apt('install', inChroot(failing));
  t.not(bad2.status, 0, 'the next release fails again while the cause is there');
  const gate = `
    const { createRequire } = require('node:module');
    const sqlite3 = createRequire('/usr/lib/callscreen/package.json')('sqlite3');
    const db = new sqlite3.Database('/var/lib/callscreen/callscreen.db');
    db.exec('CREATE TABLE deb_test_gate (x INTEGER)', (e) => { if (e) { console.error(e); process.exit(1); } db.close(); });`;
  must(
    inRoot([
      'setpriv',
      '--reuid=callscreen',
      '--regid=callscreen',
      '--init-groups',
      '/usr/lib/callscreen/bin/node',
      '-e',
      gate,
    ]),
    'fixing the cause',
  );
  const retry = inRoot(['dpkg', '--configure', 'callscreen']);
  t.equal(retry.status, 0, said(retry, 'dpkg --configure callscreen after fixing the cause'));
  t.match(retry.stdout, /retrying the upgrade/, 'postinst says it retries');
  t.equal(
    readFileSync(join(CHROOT, 'usr/lib/callscreen/VERSION'), 'utf8').trim(),
    `${version}+next1`,
    'the next release is on disk',
  );
  t.match(
    inRoot(['dpkg-query', '-W', '-f', '${Status}', 'callscreen']).stdout,
    'install ok installed',
    'and configured',
  );
  t.ok(await until(() => ready(adminPort), READY_TIMEOUT_MS, 250), 'and running and ready');
  const rowsNext = counts();
  t.equal(rowsNext.schema, currentSchema + 1, `migrated to schema v${currentSchema + 1}`);
  for (const k of ['orgs', 'entries', 'users', 'audit_log', 'quarantine'])
    t.equal(rowsNext[k], rows1[k], `${k} kept through the retried upgrade`);
  t.notOk(
    existsSync(join(CHROOT, 'usr/lib/callscreen.failed')) || existsSync(join(CHROOT, 'usr/lib/callscreen.previous')),
    'no program copies left',
  );
  t.comment(`rollback, downgrade and retry proven by ${elapsed()}`);

  // 6. remove keeps data and config; install again finds them.
  const rm = apt('remove', 'callscreen');
  t.equal(rm.status, 0, said(rm, 'apt-get remove callscreen'));
  t.match(rm.stdout, /kept \/etc\/callscreen\/callscreen\.toml and \/var\/lib\/callscreen/, 'says what it kept');
  t.notOk(existsSync(join(CHROOT, 'usr/lib/callscreen')), 'program removed');
  t.ok(await until(async () => !(await ready(adminPort)), 20_000, 250), 'daemon stopped on remove');
  t.ok(existsSync(join(CHROOT, 'var/lib/callscreen/callscreen.db')), 'database kept');
  t.equal(readFileSync(conf, 'utf8'), edited, 'config kept');
  const again = apt('install', inChroot(failing));
  t.equal(again.status, 0, said(again, 'apt-get install again'));
  t.match(again.stdout, /found the kept database; backed up/, 'the kept database is backed up before it is opened');
  const rows3 = counts();
  for (const k of ['orgs', 'entries', 'users', 'audit_log', 'quarantine'])
    t.equal(rows3[k], rows1[k], `${k} found again`);
  t.equal(readFileSync(conf, 'utf8'), edited, 'config still the edited one');

  // 7. purge leaves nothing of ours.
  const purge = apt('purge', 'callscreen');
  t.equal(purge.status, 0, said(purge, 'apt-get purge callscreen'));
  t.notOk(inRoot(['getent', 'passwd', 'callscreen']).status === 0, 'user deleted');
  for (const f of [previous, current, failing]) rmSync(join(CHROOT, inChroot(f)), { force: true });
  const after = listing(CHROOT);
  const was = new Set(before);
  const left = after.filter((l) => !was.has(l));
  const ours = left.filter((l) => {
    const [uid, gid] = l.slice(l.lastIndexOf(' ') + 1).split(':');
    return /callscreen/.test(l) || uid === ids.uid || gid === ids.gid;
  });
  t.same(ours, [], 'no file or directory of ours, nothing owned by callscreen');
  const passwd = readFileSync(join(CHROOT, 'etc/passwd'), 'utf8') + readFileSync(join(CHROOT, 'etc/group'), 'utf8');
  t.notMatch(passwd, /callscreen/, 'no user or group left');
  t.comment(`after purge, paths that differ from the pristine root (dpkg/apt bookkeeping): ${left.length}`);
  for (const l of left.filter(
    (x) => !/^(var\/lib\/dpkg|var\/cache\/(apt|debconf)|var\/log\/(apt|dpkg)|var\/lib\/apt)/.test(x),
  ))
    t.comment(`  left: ${l}`);
  t.comment(`whole run ${elapsed()}`);
}

// Last: the suite body runs synchronously up to its first await, so every helper above must exist.
const skip = why();
if (skip && inCi) t.fail(`CI=true but the Debian package test cannot run: ${skip}`);
else
  t.test(
    'Debian package: install, quick start, FastAGI, upgrade, rollback, remove, purge',
    { timeout: 40 * 60_000, skip: skip ?? false },
    run,
  );

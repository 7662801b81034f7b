import t from 'tap';
import { execFileSync, spawnSync } from 'node:child_process';
import { existsSync, readFileSync, statSync, writeFileSync, copyFileSync } from 'node:fs';
import { join } from 'node:path';
import { tempDir } from '../support/harness.js';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { CONFIG_SCHEMA } from '../../daemon/config/schema.js';

const root = join(import.meta.dirname, '../..');
const unit = join(root, 'systemd/callscreen.service');
const example = join(root, 'config/callscreen.example.toml');

t.test('systemd unit passes systemd-analyze verify and rates <= 2.0 offline', async (t) => {
  execFileSync(join(root, 'scripts/install-test-deps.sh'), { stdio: 'ignore' });
  const dir = tempDir(t);
  const copy = join(dir, 'callscreen.service');
  copyFileSync(unit, copy);
  const verify = spawnSync('systemd-analyze', ['verify', copy], { encoding: 'utf8' });
  t.equal(verify.status, 0, `verify: ${verify.stderr}`);
  t.notMatch(verify.stderr, /callscreen\.service:\d+/, 'no warnings about our lines');
  const sec = spawnSync('systemd-analyze', ['security', '--offline=yes', '--threshold=20', copy], { encoding: 'utf8' });
  const m = /Overall exposure level for callscreen\.service: ([\d.]+)/.exec(sec.stdout);
  t.ok(m, 'rating printed');
  const score = Number(m?.[1]);
  t.ok(score <= 2.0, `exposure ${score} <= 2.0`);
  const text = readFileSync(unit, 'utf8');
  t.notMatch(text, /^MemoryDenyWriteExecute=/m, 'MemoryDenyWriteExecute not set (breaks the V8 JIT)');
  t.match(text, /^ExecReload=\/bin\/kill -HUP \$MAINPID$/m);
  t.match(text, /^Restart=on-failure$/m);
});

t.test('example config: parses, equals the defaults, lists every schema key', async (t) => {
  const loader = new ConfigLoader();
  const text = readFileSync(example, 'utf8');
  t.same(loader.fromText(text, 'example'), loader.fromText('', 'defaults'), 'same values as no file at all');
  const missing: string[] = [];
  for (const [section, def] of Object.entries(CONFIG_SCHEMA.properties)) {
    t.match(text, new RegExp(`^\\[${section}\\]$`, 'm'), `[${section}] present`);
    for (const key of Object.keys(def.properties)) {
      // each key is preceded by a comment line
      if (!new RegExp(`^# .+\\n${key} = `, 'm').test(text)) missing.push(`${section}.${key}`);
    }
  }
  t.same(missing, [], 'every key present with a comment');
});

t.test('install.sh into a DESTDIR: idempotent, config kept, uninstall and purge', async (t) => {
  const dest = tempDir(t, 'callscreen-install-');
  const run = (...args: string[]): string =>
    execFileSync(join(root, 'scripts/install.sh'), ['--destdir', dest, ...args], { encoding: 'utf8' });
  const first = run();
  t.match(first, /installed \/opt\/callscreen/);
  t.match(first, /AGI\(agi:\/\/127\.0\.0\.1:4573\/call-inbound/, 'prints the dialplan hook');
  t.match(first, /systemd not used here/);
  const p = (rel: string): string => join(dest, rel);
  t.ok(existsSync(p('opt/callscreen/dist/daemon/main.js')));
  t.ok(existsSync(p('opt/callscreen/node_modules/fastify/package.json')), 'production deps present');
  t.notOk(existsSync(p('opt/callscreen/node_modules/tap')), 'dev deps pruned');
  const conf = p('etc/callscreen/callscreen.toml');
  t.equal(statSync(conf).mode & 0o777, 0o640, 'config 0640');
  t.equal(statSync(p('etc/callscreen')).mode & 0o777, 0o750);
  t.equal(statSync(p('var/lib/callscreen')).mode & 0o777, 0o750);
  const cfg = new ConfigLoader().load(conf).config;
  t.equal(cfg.store.path, '/var/lib/callscreen/callscreen.db', 'installed config points at the state directory');
  t.match(
    readFileSync(p('etc/systemd/system/callscreen.service'), 'utf8'),
    /ExecStart=\/usr\/bin\/node \/opt\/callscreen\/dist/,
  );
  t.match(
    readFileSync(p('usr/local/bin/callscreen'), 'utf8'),
    /exec node \/opt\/callscreen\/dist\/daemon\/cli\/bin\.js/,
  );

  writeFileSync(conf, '[ami]\nsecret = "s3cret"\n');
  const second = run();
  t.match(second, /upgraded \/opt\/callscreen/);
  t.match(second, /kept existing \/etc\/callscreen\/callscreen\.toml/);
  t.equal(readFileSync(conf, 'utf8'), '[ami]\nsecret = "s3cret"\n', 'config never overwritten');

  const other = tempDir(t, 'callscreen-install-prefix-');
  execFileSync(join(root, 'scripts/install.sh'), ['--destdir', other, '--prefix', '/srv/cs'], { encoding: 'utf8' });
  t.match(
    readFileSync(join(other, 'etc/systemd/system/callscreen.service'), 'utf8'),
    /ExecStart=\/usr\/bin\/node \/srv\/cs\/dist/,
    '--prefix reaches the unit',
  );

  const un = run('--uninstall');
  t.match(un, /kept \/etc\/callscreen/);
  t.notOk(existsSync(p('opt/callscreen')));
  t.notOk(existsSync(p('etc/systemd/system/callscreen.service')));
  t.ok(existsSync(conf), 'config kept on uninstall');
  run('--uninstall', '--purge');
  t.notOk(existsSync(p('etc/callscreen')));
  t.notOk(existsSync(p('var/lib/callscreen')));
});

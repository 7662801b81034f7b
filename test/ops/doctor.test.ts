import t from 'tap';
import { chmodSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo, type Server } from 'node:net';
import { join } from 'node:path';
import { Command } from 'commander';
import { services, silentLogger, startDaemon, tempDir } from '../support/harness.js';
import { AdminServer } from '../../daemon/admin/admin-server.js';
import { unlinkSync, copyFileSync } from 'node:fs';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { runDoctor, type DoctorCheck } from '../../daemon/ops/doctor.js';
import { register } from '../../daemon/cli/commands/doctor.js';
import type { CliContext } from '../../daemon/cli/cli-context.js';
import type { Config } from '../../daemon/config/schema.js';

const byName = (checks: DoctorCheck[], name: string): DoctorCheck | undefined => checks.find((c) => c.name === name);

/** A minimal Asterisk manager: banner, Login against one secret, Command with the given dialplan text. */
async function fakeAmi(t: { teardown(fn: () => unknown): void }, dialplan: string): Promise<number> {
  const srv: Server = createServer((sock) => {
    sock.write('Asterisk Call Manager/9.0.0\r\n');
    let buf = '';
    let authed = false;
    sock.on('data', (d) => {
      buf += d.toString();
      let i;
      while ((i = buf.indexOf('\r\n\r\n')) >= 0) {
        const block = buf.slice(0, i);
        buf = buf.slice(i + 4);
        const f = Object.fromEntries(
          block.split('\r\n').map((l) => [l.slice(0, l.indexOf(':')), l.slice(l.indexOf(':') + 1).trim()]),
        );
        const id = f.ActionID ?? '';
        if (f.Action === 'Login') {
          authed = f.Secret === 'right';
          sock.write(
            authed
              ? `Response: Success\r\nActionID: ${id}\r\nMessage: Authentication accepted\r\n\r\n`
              : `Response: Error\r\nActionID: ${id}\r\nMessage: Authentication failed\r\n\r\n`,
          );
        } else if (f.Action === 'Command') {
          sock.write(
            authed
              ? `Response: Success\r\nActionID: ${id}\r\nMessage: Command output follows\r\n${dialplan
                  .split('\n')
                  .map((l) => `Output: ${l}`)
                  .join('\r\n')}\r\n\r\n`
              : `Response: Error\r\nActionID: ${id}\r\nMessage: Permission denied\r\n\r\n`,
          );
        } else if (f.Action === 'Logoff') {
          sock.end(`Response: Goodbye\r\nActionID: ${id}\r\n\r\n`);
        }
      }
    });
  });
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => srv.close(r)));
  return (srv.address() as AddressInfo).port;
}

const DIALPLAN_WITH_HOOK =
  "[ from-trunk ] (pbx_config)\n  '_X.' =>  1. Set(CALLSCREEN_PRIVACY=)\n    2. AGI(agi://127.0.0.1:4573/call-inbound,${CALLSCREEN_PRIVACY},${CALLSCREEN_PAI})\n-= 1 extension =-";
const DIALPLAN_WITHOUT = "[ from-trunk ] (pbx_config)\n  '_X.' =>  1. Dial(PJSIP/agent1)\n-= 1 extension =-";

t.test('passing: valid config, sound db, free ports, AMI login and the hook present', async (t) => {
  const s = await services(t);
  const dir = tempDir(t);
  const amiPort = await fakeAmi(t, DIALPLAN_WITH_HOOK);
  const file = join(dir, 'callscreen.toml');
  writeFileSync(
    file,
    `[store]\npath = ${JSON.stringify(s.dbPath)}\n[fastagi]\nlisten = "127.0.0.1:0"\n[admin]\nenabled = false\n[ami]\nenabled = true\nport = ${amiPort}\nsecret = "right"\n`,
  );
  chmodSync(file, 0o640);
  const config = new ConfigLoader().load(file).config;
  const checks = await runDoctor({ config, configSource: file, timeoutMs: 2000 });
  t.same(
    checks.filter((c) => !c.ok),
    [],
    'nothing fails',
  );
  t.same(
    checks.map((c) => c.name),
    [
      'config',
      'config permissions',
      'database permissions',
      'database integrity',
      'schema version',
      'disk space',
      'database writable',
      'daemon lock',
      'port fastagi.listen',
      'AMI login',
      'dialplan hook',
    ],
  );
  t.match(byName(checks, 'database integrity')?.detail, /quick_check: ok/);
});

t.test('failing: world-readable config, wrong AMI secret, missing hook, port taken, bad db', async (t) => {
  const dir = tempDir(t);
  const wrongPort = await fakeAmi(t, DIALPLAN_WITH_HOOK);
  const noHookPort = await fakeAmi(t, DIALPLAN_WITHOUT);
  const busy = createServer();
  await new Promise<void>((r) => busy.listen(0, '127.0.0.1', r));
  t.teardown(() => new Promise((r) => busy.close(r)));
  const busyPort = (busy.address() as AddressInfo).port;
  const dbPath = join(dir, 'not-a-db.db');
  writeFileSync(dbPath, 'hello, this is not SQLite');
  chmodSync(dbPath, 0o644);
  const file = join(dir, 'callscreen.toml');
  const write = (amiPort: number, secret: string): Config => {
    writeFileSync(
      file,
      `[store]\npath = ${JSON.stringify(dbPath)}\n[fastagi]\nlisten = "127.0.0.1:${busyPort}"\n[admin]\nenabled = false\n[ami]\nenabled = true\nport = ${amiPort}\nsecret = "${secret}"\n`,
    );
    chmodSync(file, 0o644);
    return new ConfigLoader().load(file).config;
  };
  const checks = await runDoctor({ config: write(wrongPort, 'wrong'), configSource: file, timeoutMs: 2000 });
  t.match(byName(checks, 'config permissions'), { ok: false, fix: /chmod 0640/ });
  t.match(byName(checks, 'database permissions'), { ok: false, fix: /chmod 0640/ });
  t.match(byName(checks, 'database integrity'), { ok: false });
  t.match(byName(checks, 'port fastagi.listen'), { ok: false, detail: /taken by another program/, fix: /ss -ltnp/ });
  t.match(byName(checks, 'AMI login'), { ok: false, detail: /Authentication failed/, fix: /manager\.conf/ });
  t.notOk(byName(checks, 'dialplan hook'), 'no hook check without a login');

  const noHook = await runDoctor({ config: write(noHookPort, 'right'), configSource: file, timeoutMs: 2000 });
  t.match(byName(noHook, 'AMI login'), { ok: true });
  t.match(byName(noHook, 'dialplan hook'), { ok: false, fix: /AGI\(agi:\/\/127\.0\.0\.1:\d+\/call-inbound/ });

  const down = await runDoctor({ config: write(1, 'right'), configSource: file, timeoutMs: 500 });
  t.match(byName(down, 'AMI login'), { ok: false, detail: /ECONNREFUSED/ });
});

t.test('the command prints ✓/✗ with fixes, --json, and fails when a check fails', async (t) => {
  const dir = tempDir(t);
  const out: string[] = [];
  const make = (configText: string | null): CliContext => {
    const file = join(dir, 'c.toml');
    if (configText !== null) writeFileSync(file, configText);
    return {
      io: { stdout: { write: () => true }, stderr: { write: () => true }, env: {} },
      config: () => new ConfigLoader().load(file).config,
      configSource: () => file,
      services: () => Promise.reject(new Error('doctor must not open services')),
      dbPath: () => undefined,
      logger: silentLogger,
      actor: () => ({ name: 't', source: 'cli', origin: 't' }),
      out: (l) => out.push(l),
      err: (l) => out.push(l),
      json: (v) => out.push(JSON.stringify(v)),
    };
  };
  const run = async (ctx: CliContext, ...args: string[]): Promise<unknown> => {
    const program = new Command().exitOverride();
    register(program, ctx);
    try {
      await program.parseAsync(['node', 'callscreen', 'doctor', ...args]);
      return null;
    } catch (err) {
      return err;
    }
  };
  const s = await services(t);
  chmodSync(join(dir), 0o755);
  const good = `[store]\npath = ${JSON.stringify(s.dbPath)}\n[fastagi]\nenabled = false\n[admin]\nenabled = false\n`;
  const ctx = make(good);
  chmodSync(join(dir, 'c.toml'), 0o600);
  t.equal(await run(ctx), null, 'no error when all pass');
  t.match(out.join('\n'), /✓ database integrity: PRAGMA quick_check: ok/);
  t.match(out.at(-1), /all checks passed/);
  out.length = 0;
  const bad = make('[fastagi]\nlisten = "nowhere"\n');
  const err = await run(bad, '--json');
  t.match(err, { code: 'CS_ERR_UNAVAILABLE' }, 'non-zero exit (69) when a check fails');
  const report = JSON.parse(out[0] ?? '{}') as { ok: boolean; checks: DoctorCheck[] };
  t.equal(report.ok, false);
  t.match(report.checks[0], { name: 'config', ok: false, detail: /fastagi\.listen \(line 2\)/ });
});

t.test('a running daemon that is not ready: doctor names each reason and what to do', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'cs.db');
  const probe = createServer();
  await new Promise<void>((r) => probe.listen(0, '127.0.0.1', r));
  const adminPort = (probe.address() as AddressInfo).port;
  await new Promise((r) => probe.close(r));
  const listeners = `[fastagi]\nenabled = false\n[admin]\nlisten = "127.0.0.1:${adminPort}"\n`;
  const toml = `[store]\npath = ${JSON.stringify(dbPath)}\n${listeners}`;
  const { ctx } = await startDaemon(t, dbPath, { toml: listeners, components: (c) => [new AdminServer(c)] });
  await ctx.feed.poll();
  const file = join(dir, 'callscreen.toml');
  writeFileSync(file, toml);
  chmodSync(file, 0o640);
  const config = new ConfigLoader().load(file).config;
  const ready = await runDoctor({ config, configSource: file, timeoutMs: 5000 });
  t.match(byName(ready, 'daemon readiness'), { ok: true, detail: /^ready/ });
  t.match(byName(ready, 'daemon lock'), { ok: true, detail: new RegExp(`held by the daemon pid ${process.pid}`) });
  // Replaced under the running daemon (a restore without stopping it).
  copyFileSync(dbPath, join(dir, 'new.db'));
  unlinkSync(dbPath);
  copyFileSync(join(dir, 'new.db'), dbPath);
  await ctx.feed.poll();
  const checks = await runDoctor({ config, configSource: file, timeoutMs: 5000 });
  const c = byName(checks, 'daemon readiness: database');
  t.match(c, {
    ok: false,
    detail: /^replaced: .*replaced under the running daemon/,
    fix: /systemctl restart callscreen/,
  });
  t.comment(`✗ ${String(c?.name)}: ${String(c?.detail)}\n    fix: ${String(c?.fix)}`);
});

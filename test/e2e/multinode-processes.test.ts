// Several nodes, one list (issue #15) with real processes: three `callscreen daemon` processes, each
// with its own SQLite replica and FastAGI port, against one real PostgreSQL (scripts/pg-sandbox).
// Calls are FastAGI sessions played by the shared fake Asterisk (test/support/faults-agi.ts).
import { spawn, type ChildProcess } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import t from 'tap';
import { runCli } from '../../daemon/cli/program.js';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { openServices } from '../../daemon/main.js';
import { agiCall, callEnv } from '../support/faults-agi.js';
import { cliActor, silentLogger, tempDir, until } from '../support/harness.js';
import { freePort, PgSandbox, skipReason } from '../support/pg-sandbox.js';

const skip = await skipReason();
const BIN = new URL('../../daemon/cli/bin.ts', import.meta.url).pathname;
/** A generous start-up ceiling for a daemon process on a loaded machine (ms), not a measurement. */
const READY_CEILING_MS = 180_000;
const DID = '+15550100';
const BLOCKED = '+15551234567';

interface Proc { child: ChildProcess; exited: Promise<number | null> }

function startDaemon(config: string): Promise<Proc> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, '--config', config, 'daemon'], { stdio: ['ignore', 'pipe', 'pipe'] });
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  let buf = '';
  let err = '';
  child.stderr.on('data', (c: Buffer) => (err += c.toString()).slice(-4000));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error('daemon not ready within the safety ceiling')), READY_CEILING_MS);
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line.includes('"callscreen ready"')) {
          clearTimeout(timer);
          resolve({ child, exited });
        }
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited early with ${String(code)}: ${err}`));
    });
  });
}

async function cli(config: string, ...argv: string[]): Promise<{ code: number; out: string; err: string }> {
  let out = '';
  let err = '';
  const code = await runCli(['--config', config, ...argv], {
    stdout: { write: (s: string) => (out += s) },
    stderr: { write: (s: string) => (err += s) },
    env: { USER: 'tester' },
  });
  return { code, out, err };
}

t.test('three daemon processes against one PostgreSQL', { skip: skip ?? false }, async (t) => {
  const sb = await PgSandbox.start();
  t.teardown(() => sb.stop());
  const dir = tempDir(t, 'callscreen-multinode-');
  const names = ['a', 'b', 'c'] as const;
  const ports: Record<string, number> = {};
  const configs: Record<string, string> = {};
  for (const n of names) {
    ports[n] = await freePort();
    configs[n] = join(dir, `${n}.toml`);
    writeFileSync(configs[n], [
      '[store]', `path = ${JSON.stringify(join(dir, `${n}.db`))}`, 'backend = "postgres"', `url = ${JSON.stringify(sb.url)}`,
      `node_name = "${n}"`, 'replica_poll_ms = 200', 'connect_timeout_ms = 1000',
      '[records]', 'flush_ms = 100',
      '[log]', 'level = "info"',
      '[fastagi]', `listen = "127.0.0.1:${ports[n]}"`,
      '[admin]', 'enabled = false',
    ].join('\n'));
  }
  // The list, made on node a's file before any daemon runs (it reaches PostgreSQL through the gate).
  const setup = await openServices(new ConfigLoader().load(configs.a!).config, silentLogger());
  await setup.orgs.add('acme', 'Acme', 'US', cliActor);
  await setup.orgs.addDids('acme', [DID], cliActor);
  await setup.blocklist.block('acme', { kind: 'exact', number: BLOCKED }, { mode: 'reject' }, cliActor);
  await setup.close();

  const procs: Record<string, Proc> = {};
  t.teardown(async () => {
    for (const p of Object.values(procs)) {
      p.child.kill('SIGTERM');
      await p.exited;
    }
  });
  for (const n of names) procs[n] = await startDaemon(configs[n]!);

  let calls = 0;
  const verdict = async (node: string, from: string): Promise<string> => {
    calls++;
    const r = await agiCall(ports[node]!, callEnv({ agi_callerid: from, agi_dnid: DID, agi_extension: DID }));
    const set = r.commands.find((c) => c.startsWith('SET VARIABLE CALLSCREEN_ACTION'));
    return /"(\w+)"/.exec(set ?? '')?.[1] ?? 'none';
  };

  await t.test('the list made before reaches every node; a block made on B reaches A and C', async (t) => {
    for (const n of names) t.equal(await verdict(n, BLOCKED), 'reject', `node ${n} rejects the blocked caller`);
    const r = await cli(configs.b!, 'block', '5559876543', '--org', 'acme');
    t.equal(r.code, 0, r.err);
    t.ok(await until(async () => (await verdict('a', '+15559876543')) === 'reject' && (await verdict('c', '+15559876543')) === 'reject', 10_000, 20), 'A and C reject it');
  });

  await t.test('PostgreSQL stopped under calls: every verdict right, writes refused; back: every call record shipped once', async (t) => {
    await sb.pause();
    const refused = await cli(configs.c!, 'block', '5550001111', '--org', 'acme');
    t.equal(refused.code, 69, 'exit 69 (unavailable)');
    t.match(refused.err, /CS_ERR_UNAVAILABLE: PostgreSQL store postgres:\/\/callscreen@127\.0\.0\.1:\d+\/callscreen is unreachable/);
    let wrong = 0;
    let failOpen = 0;
    const end = Date.now() + 5000;
    let i = 0;
    while (Date.now() < end) {
      const batch = await Promise.all(names.map(async (n) => {
        const blocked = i++ % 2 === 0;
        const from = blocked ? BLOCKED : `+1555${String(3000000 + i).padStart(7, '0')}`;
        const v = await verdict(n, from);
        return { blocked, v };
      }));
      for (const { blocked, v } of batch) {
        if (v !== (blocked ? 'reject' : 'allow')) wrong++;
        if (blocked && v === 'allow') failOpen++;
      }
    }
    t.equal(wrong, 0, `every verdict right while PostgreSQL was away (${i} calls)`);
    t.equal(failOpen, 0, 'no blocked caller let through');
    await sb.resume();
    const services = await openServices(new ConfigLoader().load(configs.a!).config, silentLogger());
    t.teardown(() => services.close());
    const count = async (): Promise<number> => Number((await services.shared!.pg.query<{ c: string }>('SELECT count(*) AS c FROM cs_screened'))[0]?.c ?? -1);
    t.ok(await until(async () => (await count().catch(() => -1)) === calls, 30_000, 200), `every call recorded in PostgreSQL (${calls})`);
    await sleep(1000);
    t.equal(await count(), calls, 'and none twice');
    const byNode = await services.shared!.pg.query<{ node: string; c: string }>('SELECT node, count(*) AS c FROM cs_screened GROUP BY node ORDER BY node');
    t.same(byNode.map((r) => r.node), ['a', 'b', 'c'], 'from every node, with its name');
    const ok = await cli(configs.c!, 'block', '5550001111', '--org', 'acme');
    t.equal(ok.code, 0, `writes work again: ${ok.err}`);
  });

  await t.test('a node SIGKILLed while changes are made catches up when restarted', async (t) => {
    procs.c!.child.kill('SIGKILL');
    await procs.c!.exited;
    delete procs.c;
    const n = Number(process.env.CS_MULTINODE_CHANGES ?? 1000);
    const s = await openServices(new ConfigLoader().load(configs.a!).config, silentLogger());
    for (let i = 0; i < n; i++) await s.blocklist.block('acme', { kind: 'exact', number: `+1555600${String(i).padStart(4, '0')}` }, {}, cliActor);
    await s.blocklist.unblock('acme', { kind: 'exact', number: '+15559876543' }, cliActor);
    await s.close();
    const t0 = performance.now();
    procs.c = await startDaemon(configs.c!);
    t.comment(`restart and catch-up of ${n + 1} changes: ${Math.round(performance.now() - t0)} ms`);
    t.equal(await verdict('c', '+15556000000'), 'reject', 'the first change');
    t.equal(await verdict('c', `+1555600${String(n - 1).padStart(4, '0')}`), 'reject', 'the last block');
    t.equal(await verdict('c', '+15559876543'), 'allow', 'the unblock');
    t.equal(await verdict('c', BLOCKED), 'reject', 'older blocks kept');
  });
});

// /readyz tells the truth: 503 with the reason while the disk is full, the file system read-only,
// the database deleted, replaced, corrupt or unreadable, or an enabled PBX link down; the daemon
// keeps screening from memory meanwhile and logs once per change of state, not once per probe.
// Disk full uses a real tmpfs (needs root to mount); permissions and a read-only file system are
// injected errno values (root passes every permission check; a file system with writers cannot be
// remounted read-only); deleted, replaced and corrupt are real, on any file system.
import t, { type Test } from 'tap';
import { execFileSync } from 'node:child_process';
import { copyFileSync, openSync, renameSync, unlinkSync, writeSync, closeSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import Fastify from 'fastify';
import net from 'node:net';
import { captureLogger, cliActor, startDaemon, tempDir, until } from '../support/harness.js';
import { buildSipEdge } from '../../daemon/pbx/sip-edge/sip-edge-component.js';
import { registerOpsRoutes } from '../../daemon/ops/ops-routes.js';
import { StoreHealth, realStoreFs, type StoreFs } from '../../daemon/ops/store-health.js';
import { READINESS_FIXES } from '../../daemon/ops/readiness.js';
import type { Component } from '../../daemon/component.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';

const CI = process.env.CI === 'true' || process.env.CI === '1';

async function setup(
  t: Test,
  dir: string,
  components: Component[] = [],
): Promise<{
  ctx: DaemonContext;
  readyz: () => Promise<{
    status: number;
    body: { ready: boolean; checks: Array<{ name: string; ok: boolean; reason?: string; detail: string }> };
  }>;
  lines: Array<Record<string, unknown>>;
  blocked: () => Promise<string>;
}> {
  const { logger, lines } = captureLogger('info');
  const { ctx } = await startDaemon(t, join(dir, 'cs.db'), { logger, components: () => components });
  await ctx.orgs.add('demo', 'Demo', 'US', cliActor);
  await ctx.blocklist.block('demo', { kind: 'exact', number: '+12025550100' }, { mode: 'reject' }, cliActor);
  await ctx.feed.poll();
  const app = Fastify();
  registerOpsRoutes(app, ctx);
  t.teardown(() => app.close());
  const readyz = async (): Promise<{
    status: number;
    body: { ready: boolean; checks: Array<{ name: string; ok: boolean; reason?: string; detail: string }> };
  }> => {
    // The feed is polled by hand (manual timers): keep it fresh so only the fault decides.
    await ctx.feed.poll().catch(() => undefined);
    const res = await app.inject({ method: 'GET', url: '/readyz' });
    return { status: res.statusCode, body: res.json() };
  };
  const blocked = async (): Promise<string> =>
    (
      await ctx.screener.screen({
        org: 'demo',
        channel: 'call',
        direction: 'inbound',
        from: '+12025550100',
        to: '+12025550999',
      })
    ).action;
  return { ctx, readyz, lines, blocked };
}

const notReadyLines = (lines: Array<Record<string, unknown>>, check: string): number =>
  lines.filter((l) => typeof l.msg === 'string' && l.msg.startsWith(`not ready: ${check} `)).length;
const okAgainLines = (lines: Array<Record<string, unknown>>, check: string): number =>
  lines.filter((l) => String(l.msg).startsWith(`${check} ok again`)).length;

t.test('deleted, then replaced, under the running daemon', async (t) => {
  const dir = tempDir(t);
  const { readyz, lines, blocked } = await setup(t, dir);
  t.equal((await readyz()).status, 200, 'ready at first');
  const db = join(dir, 'cs.db');
  copyFileSync(db, join(dir, 'copy.db'));
  unlinkSync(db);
  for (let i = 0; i < 3; i++) {
    const r = await readyz();
    t.equal(r.status, 503, `deleted: 503 (probe ${i + 1})`);
    t.match(
      r.body.checks.find((c) => c.name === 'database'),
      { ok: false, reason: 'deleted', detail: /was deleted under the running daemon/ },
    );
  }
  t.equal(await blocked(), 'reject', 'still screening from memory');
  t.equal(notReadyLines(lines, 'database'), 1, 'logged once for three probes');
  renameSync(join(dir, 'copy.db'), db);
  const r = await readyz();
  t.equal(r.status, 503);
  t.match(
    r.body.checks.find((c) => c.name === 'database'),
    { ok: false, reason: 'replaced', detail: /replaced under the running daemon \(inode \d+ → \d+\)/ },
  );
  t.equal(notReadyLines(lines, 'database'), 2, 'a new reason is a new state: logged once more');
  const warn = lines.find((l) => /not ready: database replaced/.test(String(l.msg)));
  t.equal(warn?.fix, READINESS_FIXES.replaced, 'the log line says what to do');
});

t.test('corrupt header', async (t) => {
  const dir = tempDir(t);
  const { readyz, lines } = await setup(t, dir);
  t.equal((await readyz()).status, 200);
  const fd = openSync(join(dir, 'cs.db'), 'r+');
  writeSync(fd, Buffer.from('this is not sqlite'), 0, 18, 0);
  closeSync(fd);
  const r = await readyz();
  t.equal(r.status, 503);
  t.match(
    r.body.checks.find((c) => c.name === 'database'),
    { ok: false, reason: 'corrupt', detail: /does not start with the SQLite header/ },
  );
  t.equal(notReadyLines(lines, 'database'), 1);
});

t.test(
  'unreadable, read-only, disk full: injected (root reads every file; a busy file system cannot be remounted read-only)',
  async (t) => {
    const dir = tempDir(t);
    let denied = false;
    const fs: StoreFs = {
      ...realStoreFs,
      access: async (p, m) => {
        if (denied) throw Object.assign(new Error('EACCES'), { code: 'EACCES' });
        return realStoreFs.access(p, m);
      },
    };
    const health = new StoreHealth(join(dir, 'x.db'), fs);
    await startDaemon(t, join(dir, 'x.db'));
    await health.remember();
    t.teardown(() => health.close());
    t.match(await health.check(), [
      { name: 'database', ok: true },
      { name: 'disk', ok: true },
    ]);
    denied = true;
    t.match(await health.check(), [
      {
        name: 'database',
        ok: false,
        reason: 'unreadable',
        detail: /not readable and writable by this user \(EACCES\)/,
      },
    ]);
    const rofs: StoreFs = {
      ...realStoreFs,
      access: async () => {
        throw Object.assign(new Error('EROFS'), { code: 'EROFS' });
      },
    };
    const h1 = new StoreHealth(join(dir, 'x.db'), rofs);
    await h1.remember();
    t.teardown(() => h1.close());
    t.match((await h1.check())[0], {
      name: 'database',
      ok: false,
      reason: 'read-only',
      detail: /file system is read-only/,
    });
    const lowDisk: StoreFs = { ...realStoreFs, freeBytes: async () => 4096 };
    const h2 = new StoreHealth(join(dir, 'x.db'), lowDisk);
    await h2.remember();
    t.teardown(() => h2.close());
    t.match((await h2.check())[1], { name: 'disk', ok: false, reason: 'disk-full', detail: /4096 bytes free/ });
  },
);

t.test('an enabled PBX link down (AMI login failing) makes /readyz 503 with the last error', async (t) => {
  const dir = tempDir(t);
  let up = false;
  const ami: Component = {
    name: 'ami',
    start: async () => {},
    stop: async () => {},
    health: () => ({
      ok: up,
      state: up ? 'connected' : 'backoff',
      required: false,
      detail: { lastError: 'login failed: Authentication failed' },
    }),
  };
  const watcher: Component = {
    name: 'ami-dial-watcher',
    start: async () => {},
    stop: async () => {},
    health: () => ({ ok: false, state: 'idle', required: false }),
  };
  const { readyz, lines, blocked } = await setup(t, dir, [ami, watcher]);
  const r = await readyz();
  t.equal(r.status, 503);
  t.match(
    r.body.checks.find((c) => c.name === 'ami'),
    { ok: false, reason: 'link-down', detail: 'backoff, last error: login failed: Authentication failed' },
  );
  t.notOk(
    r.body.checks.some((c) => c.name === 'ami-dial-watcher'),
    'a non-link optional component does not count',
  );
  t.equal(await blocked(), 'reject', 'screening goes on');
  await readyz();
  up = true;
  t.equal((await readyz()).status, 200);
  t.equal(notReadyLines(lines, 'ami'), 1);
  t.equal(okAgainLines(lines, 'ami'), 1);
});

/** A small tmpfs of our own (root only): a full disk and a read-only remount, for real. */
function mountTmpfs(t: { teardown(fn: () => unknown): void }, dir: string, sizeMb: number): string | null {
  const mnt = join(dir, 'mnt');
  mkdirSync(mnt);
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${sizeMb}m`, 'tmpfs', mnt], { stdio: 'pipe' });
  } catch (err) {
    return `cannot mount a tmpfs (${String(
      String((err as { stderr?: Buffer }).stderr ?? err)
        .trim()
        .split('\n')[0],
    )}): needs root`;
  }
  t.teardown(() => {
    try {
      execFileSync('umount', ['-l', mnt], { stdio: 'pipe' });
    } catch {
      /* already gone */
    }
  });
  return null;
}

const notRoot = process.getuid?.() === 0 ? false : 'mounting a tmpfs needs root';
t.test('disk full, on a real tmpfs', { skip: CI ? false : notRoot }, async (t) => {
  const dir = tempDir(t);
  const why = mountTmpfs(t, dir, 32);
  if (why !== null) {
    t.fail(why);
    return;
  }
  const mnt = join(dir, 'mnt');
  const { readyz, lines, blocked } = await setup(t, mnt);
  t.equal((await readyz()).status, 200, 'ready on the tmpfs');
  // Fill the file system to the last block.
  const filler = join(mnt, 'filler');
  const fd = openSync(filler, 'w');
  const chunk = Buffer.alloc(1 << 20, 1);
  try {
    for (;;) writeSync(fd, chunk);
  } catch (err) {
    t.equal((err as NodeJS.ErrnoException).code, 'ENOSPC', 'filled to ENOSPC');
  }
  try {
    for (;;) writeSync(fd, chunk, 0, 4096);
  } catch {
    // the last blocks
  }
  closeSync(fd);
  for (let i = 0; i < 3; i++) {
    const r = await readyz();
    t.equal(r.status, 503, 'full: 503');
    t.match(
      r.body.checks.find((c) => c.name === 'disk'),
      { ok: false, reason: 'disk-full' },
    );
  }
  t.equal(await blocked(), 'reject', 'screening from memory');
  t.equal(notReadyLines(lines, 'disk'), 1, 'logged once for three probes');
  unlinkSync(filler);
  t.equal((await readyz()).status, 200, 'ready again once space is back');
  t.equal(okAgainLines(lines, 'disk'), 1);

  // A read-only remount is refused by the kernel while the daemon holds the file open for writing
  // ("mount point is busy"): a live file system turns read-only only after I/O errors
  // (errors=remount-ro), so that case is the injected EROFS test above.
});

t.test(
  'real link clients with nobody to talk to: AMI, inbound Event Socket and the drachtio edge each make /readyz 503',
  async (t) => {
    const closed = async (): Promise<number> => {
      const s = net.createServer();
      await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
      const port = (s.address() as net.AddressInfo).port;
      await new Promise((r) => s.close(r));
      return port;
    };
    const cases: Array<[string, string, (c: DaemonContext) => Component[]]> = [
      [
        'ami',
        `[ami]\nenabled = true\nport = ${await closed()}\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n`,
        () => [],
      ],
      [
        'esl-inbound',
        `[esl_inbound]\nenabled = true\nport = ${await closed()}\npassword = "x"\nreconnect_min_ms = 50\nreconnect_max_ms = 200\n`,
        () => [],
      ],
      ['sip-edge', `[sip_edge]\nenabled = true\nport = ${await closed()}\nsecret = "x"\n`, (c) => [buildSipEdge(c)]],
    ];
    for (const [name, toml, components] of cases) {
      const dir = tempDir(t);
      const { logger, lines } = captureLogger('info');
      const { ctx, daemon } = await startDaemon(t, join(dir, 'cs.db'), { logger, toml, components });
      await ctx.feed.poll();
      // The client connects in the background: wait until it has tried (its own state says so).
      const link = (): { ok: boolean; state: string } | undefined =>
        ctx.ops.componentHealth().find((h) => h.component === name);
      t.ok(
        await until(
          () => link() !== undefined && link()?.state !== 'connecting' && link()?.state !== 'stopped',
          30_000,
          20,
        ),
        `${name}: tried to connect (${String(link()?.state)})`,
      );
      const r = await ctx.ops.readiness();
      t.notOk(r.ready, `${name} down: not ready`);
      const check = r.checks.find((c) => c.name === name);
      t.match(check, { ok: false, reason: 'link-down' }, `${name}: link-down`);
      t.comment(`${name}: ${String(check?.detail)}`);
      await ctx.ops.readiness();
      t.equal(notReadyLines(lines, name), 1, `${name}: logged once over two evaluations`);
      await daemon.stop();
    }
  },
);

// Lifecycle through the real process: a component that cannot start stops the others and the
// process exits non-zero naming the config key; one daemon per database (a lock, stale locks
// recognised by pid and start time). Waits decide by log lines and exits, never by elapsed time.
import t from 'tap';
import { existsSync, writeFileSync, readFileSync } from 'node:fs';
import net from 'node:net';
import { join } from 'node:path';
import { DaemonLock, lockPathFor, type LockSystem } from '../../daemon/ops/daemon-lock.js';
import { ERROR_CATALOGUE, CallscreenError } from '../../daemon/core/errors.js';
import { startDaemon, tempDir } from '../support/harness.js';
import { spawnCli } from './fixtures/daemon-process.js';

async function takenPort(t: { teardown(fn: () => unknown): void }): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0, exclusive: true }, r));
  t.teardown(() => new Promise<void>((r) => srv.close(() => r())));
  return (srv.address() as net.AddressInfo).port;
}

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen({ host: '127.0.0.1', port: 0 }, r));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

t.test('FastAGI port taken: the panel is stopped again, exit 71 naming fastagi.listen, lock released', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'cs.db');
  const port = await takenPort(t);
  const adminPort = await freePort();
  const file = join(dir, 'callscreen.toml');
  writeFileSync(
    file,
    `[store]\npath = ${JSON.stringify(dbPath)}\n[fastagi]\nlisten = "127.0.0.1:${port}"\n[admin]\nlisten = "127.0.0.1:${adminPort}"\n`,
  );
  const p = spawnCli(t, ['--config', file, 'daemon']);
  const { code } = await p.exited;
  const stderr = p.stderr();
  t.comment(`exit ${String(code)}; stderr: ${stderr.trim()}`);
  t.equal(code, ERROR_CATALOGUE.CS_ERR_LISTEN_FAILED.exit, 'exit code 71 (EX_OSERR), not a running half-daemon');
  t.match(stderr, `callscreen: CS_ERR_LISTEN_FAILED: fastagi.listen 127.0.0.1:${port}: address in use`);
  t.ok(
    p.lines.some((l) => l.component === 'admin' && l.msg === 'component started'),
    'the panel had started before FastAGI',
  );
  t.ok(
    p.lines.some((l) => /could not start; stopping what had started/.test(String(l.msg))),
    'the failure is logged',
  );
  t.notOk(existsSync(lockPathFor(dbPath)), 'the daemon lock is released');
  // Nothing listens on the panel's port any more (the process is gone; this proves it let go).
  const free = await new Promise<boolean>((resolve) => {
    const s = net.createServer();
    s.once('error', () => resolve(false));
    s.listen({ host: '127.0.0.1', port: adminPort, exclusive: true }, () => s.close(() => resolve(true)));
  });
  t.ok(free, 'admin.listen is free again');
});

t.test('admin port taken: exit 71 naming admin.listen', async (t) => {
  const dir = tempDir(t);
  const port = await takenPort(t);
  const file = join(dir, 'callscreen.toml');
  writeFileSync(
    file,
    `[store]\npath = ${JSON.stringify(join(dir, 'cs.db'))}\n[fastagi]\nenabled = false\n[admin]\nlisten = "127.0.0.1:${port}"\n`,
  );
  const p = spawnCli(t, ['--config', file, 'daemon']);
  const { code } = await p.exited;
  t.equal(code, 71);
  t.match(p.stderr(), `CS_ERR_LISTEN_FAILED: admin.listen 127.0.0.1:${port}: address in use`);
});

t.test(
  'one daemon per database: the second is refused naming the database and the first pid; a killed one leaves a stale lock that is taken over',
  async (t) => {
    const dir = tempDir(t);
    const dbPath = join(dir, 'cs.db');
    const file = join(dir, 'callscreen.toml');
    writeFileSync(
      file,
      `[store]\npath = ${JSON.stringify(dbPath)}\n[fastagi]\nenabled = false\n[admin]\nenabled = false\n`,
    );
    const first = spawnCli(t, ['--config', file, 'daemon']);
    await first.waitFor(/callscreen ready/);
    const owner = JSON.parse(readFileSync(lockPathFor(dbPath), 'utf8')) as { pid: number };
    t.equal(owner.pid, first.child.pid, 'the lock names the running daemon');

    const second = spawnCli(t, ['--config', file, 'daemon']);
    const { code } = await second.exited;
    t.comment(`second daemon: exit ${String(code)}; ${second.stderr().trim()}`);
    t.equal(code, ERROR_CATALOGUE.CS_ERR_ALREADY_RUNNING.exit, 'refused with exit 75');
    t.match(
      second.stderr(),
      new RegExp(
        `CS_ERR_ALREADY_RUNNING: another callscreen daemon \\(pid ${String(first.child.pid)} .*already serves ${dbPath.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&')}`,
      ),
    );
    t.equal(first.child.exitCode, null, 'the first keeps running');

    first.child.kill('SIGKILL');
    await first.exited;
    t.ok(existsSync(lockPathFor(dbPath)), 'SIGKILL left the lock file behind');
    const third = spawnCli(t, ['--config', file, 'daemon']);
    const stale = await third.waitFor(/removed a stale daemon lock/);
    t.match(stale, { owner: { pid: first.child.pid } }, 'the stale owner is named');
    await third.waitFor(/callscreen ready/);
    third.child.kill('SIGTERM');
    const end = await third.exited;
    t.equal(end.code, 0, 'stops cleanly');
    t.notOk(existsSync(lockPathFor(dbPath)), 'and removes its lock');
  },
);

t.test('DaemonLock: a live owner refuses, a dead one or a reused pid is stale', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'cs.db');
  const procs = new Map<number, number>([
    [100, 5000],
    [200, 7000],
  ]);
  const sys = (pid: number): LockSystem => ({
    pid,
    host: 'h',
    now: () => new Date(0),
    alive: (p) => procs.has(p),
    startTicks: (p) => procs.get(p) ?? null,
  });
  const a = new DaemonLock(dbPath, sys(100));
  a.acquire();
  const err = (() => {
    try {
      new DaemonLock(dbPath, sys(200)).acquire();
      return null;
    } catch (e) {
      return e as CallscreenError;
    }
  })();
  t.equal(err?.code, 'CS_ERR_ALREADY_RUNNING');
  t.match(err?.message, /pid 100 on h/);
  // pid 100 died and the kernel gave the number to an unrelated process started later.
  procs.set(100, 9999);
  const stale: unknown[] = [];
  const b = new DaemonLock(dbPath, sys(200));
  b.acquire((o) => stale.push(o));
  t.match(stale, [{ pid: 100, startTicks: 5000 }], 'reused pid: stale');
  a.release();
  t.ok(existsSync(lockPathFor(dbPath)), 'a lock that is no longer ours is not removed by its former holder');
  procs.delete(200);
  writeFileSync(lockPathFor(dbPath), 'garbage');
  const c = new DaemonLock(dbPath, sys(300));
  c.acquire();
  t.match(JSON.parse(readFileSync(lockPathFor(dbPath), 'utf8')), { pid: 300 }, 'an unreadable lock is replaced');
  c.release();
  t.notOk(existsSync(lockPathFor(dbPath)));
});

t.test('in-process: a second Daemon on the same file is refused; after stop it may start', async (t) => {
  const dbPath = join(tempDir(t), 'cs.db');
  const first = await startDaemon(t, dbPath);
  await t.rejects(startDaemon(t, dbPath), { code: 'CS_ERR_ALREADY_RUNNING' });
  await first.daemon.stop();
  const again = await startDaemon(t, dbPath);
  t.ok(again.ctx.index, 'started after the first stopped');
});

t.test('a component failing to start: the ones started before it are stopped, the lock released', async (t) => {
  const dbPath = join(tempDir(t), 'cs.db');
  const events: string[] = [];
  const comp = (
    name: string,
    fail?: NodeJS.ErrnoException,
  ): { name: string; start(): Promise<void>; stop(): Promise<void> } => ({
    name,
    start: async () => {
      events.push(`start ${name}`);
      if (fail) throw fail;
    },
    stop: async () => {
      events.push(`stop ${name}`);
    },
  });
  const inUse = Object.assign(new Error('listen EADDRINUSE: address already in use 127.0.0.1:8084'), {
    code: 'EADDRINUSE',
    syscall: 'listen',
  });
  await t.rejects(
    startDaemon(t, dbPath, { components: () => [comp('admin'), comp('esl-server', inUse), comp('fastagi')] }),
    {
      code: 'CS_ERR_LISTEN_FAILED',
      message:
        'esl.listen 127.0.0.1:8084: address in use (another program, or another callscreen daemon, listens there)',
      details: { key: 'esl.listen', errno: 'EADDRINUSE' },
    },
  );
  t.same(
    events,
    ['start admin', 'start esl-server', 'stop esl-server', 'stop admin'],
    'started ones stopped in reverse; later ones never started',
  );
  t.notOk(existsSync(lockPathFor(dbPath)), 'lock released');
  await t.rejects(startDaemon(t, dbPath, { components: () => [comp('ami', Object.assign(new Error('boom'), {}))] }), {
    code: 'CS_ERR_INTERNAL',
    message: 'component ami failed to start: boom',
  });
});

t.test('the panel cannot read its TLS certificate: the error names admin.tls_cert and the file', async (t) => {
  const dir = tempDir(t);
  const dbPath = join(dir, 'cs.db');
  const cert = join(dir, 'missing-cert.pem');
  writeFileSync(join(dir, 'key.pem'), 'not a key');
  const { AdminServer } = await import('../../daemon/admin/admin-server.js');
  await t.rejects(
    startDaemon(t, dbPath, {
      toml: `[admin]\nlisten = "127.0.0.1:0"\ntls_cert = ${JSON.stringify(cert)}\ntls_key = ${JSON.stringify(join(dir, 'key.pem'))}\n`,
      components: (c) => [new AdminServer(c)],
    }),
    {
      code: 'CS_ERR_FILE_NOT_FOUND',
      message: `admin.tls_cert ${cert}: no such file`,
      details: { key: 'admin.tls_cert' },
    },
  );
  t.notOk(existsSync(lockPathFor(dbPath)), 'lock released');
});

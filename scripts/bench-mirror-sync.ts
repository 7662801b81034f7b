/**
 * `npm run bench:mirror-sync`: how long the AstDB mirror's first full sync takes through the real
 * Asterisk 22 sandbox, for each `astdb_caller_forms` setting in one run, and the longest an AstDB read
 * waited meanwhile.
 *
 * The daemon runs in this process (SQLite store with BENCH_N blocked numbers of region US); for each
 * setting it is started, the time from start to the mirror's `live` line (its own `ms`, from the
 * first DBDel to the heartbeat) is read, and it is stopped. Meanwhile a second AMI session sends
 * `DBGet callscreen/alive` back to back and keeps the longest round trip: AstDB reads, the dialplan's
 * `DB_EXISTS()` included, take the same AstDB lock as the sync's `DBPut`s, so this is what a call's
 * mirror step could wait (plus the manager's own queueing, so an upper bound).
 *
 * Also the CPU each side spent during the sync, as cores busy (CPU seconds ÷ wall seconds): the daemon
 * (this process, prober included — a few % of it) and Asterisk (its /proc stat; the prober's DBGets
 * included — run with BENCH_PROBE=0 for the sync alone). A side near 1.0 is the one the sync waits for.
 *
 *   BENCH_N      blocked numbers (default 100,000)
 *   BENCH_FORMS  settings to compare, `;`-separated (default `e164;e164,national,trunk`)
 *   BENCH_PROBE  0: no DBGet prober (default 1)
 *   BENCH_WINDOW `[ami] astdb_window`, DBPuts in flight (default: the config's default, 256)
 *
 * Needs root (the sandbox chroot); takes the sandbox lock.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { Daemon, openServices } from '../daemon/main.js';
import * as sandbox from '../test/support/pbx-sandbox.js';
import { asteriskPid, cpuTicks, TICK_MS } from './proc-cpu.js';

const N = Number(process.env.BENCH_N ?? 100_000);
const FORMS = (process.env.BENCH_FORMS ?? 'e164;e164,national,trunk').split(';').map((f) => f.split(','));
const AMI = { port: 5038, username: 'callscreen', secret: 'callscreen-sandbox' } as const;
const PROBE = process.env.BENCH_PROBE !== '0';
const DIDS = ['+15559300000'];
const blocked = (i: number): string => `+1555${String(2_000_000 + i).padStart(7, '0')}`;
const log = (s: string): void => void process.stdout.write(`${s}\n`);

/** Sends DBGet back to back on its own AMI session until stopped; returns the longest wait (ms). */
function prober(): { stop(): Promise<{ maxMs: number; count: number }> } {
  const socket = net.connect(AMI.port, '127.0.0.1');
  let buf = '';
  let maxMs = 0;
  let count = 0;
  let stopping = false;
  let sentAt = 0;
  let done: ((v: { maxMs: number; count: number }) => void) | null = null;
  const ask = (): void => {
    if (stopping) {
      socket.end();
      done?.({ maxMs, count });
      return;
    }
    sentAt = performance.now();
    socket.write('Action: DBGet\r\nFamily: callscreen\r\nKey: alive\r\n\r\n');
  };
  let loggedIn = false;
  socket.on('data', (d: Buffer) => {
    buf += d.toString('utf8');
    for (;;) {
      const end = buf.indexOf('\r\n\r\n');
      if (end < 0) break;
      const msg = buf.slice(0, end);
      buf = buf.slice(end + 4);
      if (!loggedIn) {
        if (msg.includes('Response: Success')) {
          loggedIn = true;
          ask();
        }
        continue;
      }
      // A found key ends with the DBGetComplete event, a missing one with Response: Error.
      if (msg.includes('Event: DBGetComplete') || msg.includes('Response: Error')) {
        const ms = performance.now() - sentAt;
        count++;
        if (ms > maxMs) maxMs = ms;
        ask();
      }
    }
  });
  socket.once('connect', () =>
    socket.write(`Action: Login\r\nUsername: ${AMI.username}\r\nSecret: ${AMI.secret}\r\nEvents: off\r\n\r\n`),
  );
  return {
    stop: () =>
      new Promise((resolve) => {
        stopping = true;
        done = resolve;
      }),
  };
}

async function main(): Promise<void> {
  const work = mkdtempSync(join(tmpdir(), 'callscreen-bench-sync-'));
  const dbPath = join(work, 'bench.db');
  try {
    const s = await openServices(
      new ConfigLoader().fromText(`[store]\npath = ${JSON.stringify(dbPath)}\n[log]\nlevel = "silent"\n`, 'bench.toml'),
      pino({ level: 'silent' }),
    );
    const actor = { name: 'bench', source: 'cli', origin: 'bench' } as const;
    await s.orgs.add('bench', 'Bench', 'US', actor);
    await s.orgs.addDids('bench', DIDS, actor);
    const csv = join(work, 'blocked.csv');
    writeFileSync(
      csv,
      ['number,mode,name,reason', ...Array.from({ length: N }, (_, i) => `${blocked(i)},reject,,bench`)].join('\n') +
        '\n',
    );
    await s.importer.importFile(csv, 'bench', { ...actor, source: 'import' });
    await s.close();
    log(`AstDB mirror first sync, ${N.toLocaleString('en-US')} blocked numbers (region US), shared 2-core machine`);
    log('waiting for the PBX sandbox lock');
    await sandbox.acquireLock();
    await sandbox.start({ amiPort: AMI.port, amiSecret: AMI.secret });
    log(
      '| astdb_caller_forms | keys | sync s | longest DBGet wait during the sync (ms) | DBGets | daemon CPU (cores) | Asterisk CPU (cores) |',
    );
    log('| --- | ---: | ---: | ---: | ---: | ---: | ---: |');
    for (const forms of FORMS) {
      const lines: Array<Record<string, unknown>> = [];
      const logger = pino(
        { level: 'info' },
        { write: (l: string) => void lines.push(JSON.parse(l) as Record<string, unknown>) },
      );
      const toml = [
        '[store]',
        `path = ${JSON.stringify(dbPath)}`,
        '[fastagi]',
        'enabled = false',
        '[admin]',
        'enabled = false',
        '[ami]',
        'enabled = true',
        'host = "127.0.0.1"',
        `port = ${AMI.port}`,
        `username = "${AMI.username}"`,
        `secret = "${AMI.secret}"`,
        'astdb_mirror = true',
        `astdb_caller_forms = ${JSON.stringify(forms)}`,
        ...(process.env.BENCH_WINDOW ? [`astdb_window = ${Number(process.env.BENCH_WINDOW)}`] : []),
      ].join('\n');
      // Measured as a first sync each time: with the previous run's marker (callscreen/gen) left in
      // AstDB, a setting with the same caller forms would replay the change log instead.
      await sandbox.rx('database del callscreen gen').catch(() => '');
      const daemon = new Daemon(new ConfigLoader().fromText(toml, 'bench.toml'), logger);
      const probe = PROBE ? prober() : null;
      const apid = asteriskPid();
      const a0 = cpuTicks(apid);
      const d0 = process.cpuUsage();
      await daemon.start();
      const live = (): Record<string, unknown> | undefined =>
        lines.find((l) => l.component === 'astdb-mirror' && l.to === 'live');
      const t0 = performance.now();
      while (!live() && performance.now() - t0 < 600_000) await new Promise((r) => setTimeout(r, 100));
      const wallMs = performance.now() - t0;
      const d = process.cpuUsage(d0);
      const daemonCores = (d.user + d.system) / 1000 / wallMs;
      const asteriskCores = ((cpuTicks(apid) - a0) * TICK_MS) / wallMs;
      const { maxMs, count } = probe ? await probe.stop() : { maxMs: Number.NaN, count: 0 };
      const ms = Number(live()?.ms ?? NaN);
      const puts =
        (await sandbox.rx('database query "SELECT count(*) FROM astdb WHERE key LIKE \'/callscreen/n/%\'"')).match(
          /\d+/,
        )?.[0] ?? '?';
      log(
        `| ${forms.join(', ')} | ${puts} | ${(ms / 1000).toFixed(1)} | ${maxMs.toFixed(1)} | ${count} | ${daemonCores.toFixed(2)} | ${asteriskCores.toFixed(2)} |`,
      );
      await daemon.stop();
    }
  } finally {
    await sandbox.stop().catch(() => undefined);
    await sandbox.releaseLock();
    rmSync(work, { recursive: true, force: true });
  }
}

await main();

import { spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import t from 'tap';
import { systemScheduler } from '../../daemon/core/clock.js';
import { ChangeFeed } from '../../daemon/store/change-feed.js';
import type { Database } from '../../daemon/store/database.js';
import { captureLogger, cliActor, services, silentLogger, startDaemon, tempDir } from '../support/harness.js';

const base = { org: 'demo', channel: 'call', direction: 'inbound', to: '+12125550100' } as const;
const require = createRequire(import.meta.url);

/**
 * Wraps `reader.prepare` so that the `nth` read (1-based) through a statement whose SQL `matches`
 * reads its rows, then waits for `release()` before answering. Statements prepared before the call
 * are not wrapped. `held` resolves when that read has been made; `reads()` counts matching reads.
 */
function holdRead(reader: Database, matches: (sql: string) => boolean, nth: number) {
  const r = reader as Database & { prepare: Database['prepare'] };
  const realPrepare = r.prepare.bind(r);
  let release!: () => void;
  const gate = new Promise<void>((res) => (release = res));
  let onHeld!: () => void;
  const held = new Promise<void>((res) => (onHeld = res));
  let reads = 0;
  r.prepare = async (sql: string) => {
    const stmt = await realPrepare(sql);
    if (!matches(sql)) return stmt;
    return {
      all: async <T>(params: Parameters<typeof stmt.all>[0]): Promise<T[]> => {
        const rows = await stmt.all<T>(params);
        if (++reads === nth) {
          onHeld();
          await gate;
        }
        return rows;
      },
    };
  };
  return { held, release, reads: () => reads };
}

/** Runs `sql` from a separate node process with its own sqlite3 connection, as any script could. */
function commitFromAnotherProcess(dir: string, dbPath: string, sql: string): Promise<void> {
  const script = join(dir, 'writer.cjs');
  writeFileSync(
    script,
    `
const sqlite3 = require(${JSON.stringify(require.resolve('sqlite3'))});
const db = new sqlite3.Database(process.argv[2]);
db.configure('busyTimeout', 5000);
db.exec(process.argv[3], (err) => { if (err) { console.error(err.message); process.exit(1); } db.close(() => process.exit(0)); });
`,
  );
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [script, dbPath, sql], { stdio: ['ignore', 'ignore', 'pipe'] });
    let stderr = '';
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    child.on('error', reject);
    child.on('exit', (code) =>
      code === 0 ? resolve() : reject(new Error(`writer exited ${String(code)}: ${stderr}`)),
    );
  });
}

t.test('a change committed by a second process reaches a running daemon’s verdicts', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { timers: systemScheduler });
  t.equal(
    (await ctx.screener.screen({ ...base, from: '+15551234567' })).action,
    'allow',
    'allowed and cached as not blocked',
  );
  await commitFromAnotherProcess(
    tempDir(t),
    s.dbPath,
    "INSERT INTO entries (org_id, list, kind, value, mode, created_by, created_at, source) VALUES (1, 'block', 'exact', '+15551234567', 'voicemail', 'script', 0, 'cli');",
  );
  // Propagation is asynchronous by design (the feed polls every 20 ms here): wait, bounded.
  const deadline = Date.now() + 5000;
  let action = 'allow';
  while (Date.now() < deadline) {
    action = (await ctx.screener.screen({ ...base, from: '+15551234567' })).action;
    if (action !== 'allow') break;
    await new Promise((r) => setTimeout(r, 10));
  }
  t.equal(action, 'voicemail', 'the daemon saw the other process’s commit within 5 s');
  t.equal((await ctx.screener.screen({ ...base, from: '+15557654321' })).action, 'allow', 'others unaffected');
});

t.test('only what changed is refreshed: other cached entries survive a change', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551111111' }, {}, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath);
  await ctx.screener.screen({ ...base, from: '+15551111111' });
  t.ok(ctx.screener.screenSync({ ...base, from: '+15551111111' }), 'cached');
  await s.blocklist.block('demo', { kind: 'exact', number: '+15552222222' }, {}, cliActor);
  await ctx.feed.poll();
  t.match(
    ctx.screener.screenSync({ ...base, from: '+15551111111' }),
    { action: 'reject' },
    'still answered from memory after an unrelated change',
  );
  t.match(
    ctx.screener.screenSync({ ...base, from: '+15552222222' }),
    { action: 'reject' },
    'the new one is in memory already',
  );
  await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1900' }, {}, cliActor);
  await ctx.feed.poll();
  t.match(ctx.screener.screenSync({ ...base, from: '+19005550000' }), { action: 'reject', rule: { kind: 'prefix' } });
  await s.orgs.updateSettings('demo', { outboundPolicy: 'deny' }, cliActor);
  await ctx.feed.poll();
  t.match(
    ctx.screener.screenSync({ org: 'demo', channel: 'call', direction: 'outbound', from: '201', to: '+15551111111' }),
    { action: 'deny' },
    'settings reloaded',
  );
});

t.test('a bulk import rebuilds the key set once instead of number by number', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const { logger, lines } = captureLogger('info');
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock, logger });
  const rows = ['number'];
  for (let i = 0; i < 5000; i++) rows.push(`+1555${String(1000000 + i)}`);
  await s.importer.importText(rows.join('\n'), 'demo', { name: 'importer', source: 'import', origin: 'test' });
  const before = ctx.index.org('demo')?.generation;
  await ctx.feed.poll();
  t.ok(
    lines.some((l) => l.msg === 'bulk change: key set rebuilt'),
    'took the bulk path',
  );
  t.not(ctx.index.org('demo')?.generation, before, 'new generation: old cache keys just age out');
  t.equal(ctx.index.stats().keys, 5000);
  t.equal((await ctx.screener.screen({ ...base, from: '+15551004999' })).action, 'reject');
  t.equal((await ctx.screener.screen({ ...base, from: '+15552000000' })).action, 'allow');
});

t.test('a change log pruned past the daemon’s position makes it reload everything', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const { logger, lines } = captureLogger('info');
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock, logger });
  t.equal((await ctx.screener.screen({ ...base, from: '+15551234567' })).action, 'allow');
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15557654321' }, {}, cliActor);
  // Housekeeping by another process removed everything up to and including the daemon's position
  // and the first new change; only the last row is left.
  const top = (await s.db.get<{ s: number }>('SELECT max(seq) AS s FROM changes'))!.s;
  await s.db.run('DELETE FROM changes WHERE seq < ?', [top]);
  await ctx.feed.poll();
  t.ok(
    lines.some((l) => /pruned past this daemon/.test(String(l.msg))),
    'noticed the gap',
  );
  t.equal(
    (await ctx.screener.screen({ ...base, from: '+15551234567' })).action,
    'reject',
    'the change whose log row was pruned is seen',
  );
  t.equal((await ctx.screener.screen({ ...base, from: '+15557654321' })).action, 'reject');
});

t.test('a fetch racing a change is not cached stale', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, { mode: 'reject' }, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  // Hold back the first entry fetch's answer (read before the change) until the change is applied.
  // The index reads a number's entries through a prepared statement: hold the one it prepares.
  const hold = holdRead(ctx.reader, (sql) => /FROM entries WHERE org_id = \?1 AND value = \?2/.test(sql), 1);
  const racing = ctx.screener.screen({ ...base, from: '+15551234567' });
  await hold.held;
  await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, { mode: 'voicemail' }, cliActor);
  await ctx.feed.poll();
  hold.release();
  t.equal((await racing).action, 'reject', 'the racing call got the answer of when it asked');
  t.match(
    ctx.screener.screenSync({ ...base, from: '+15551234567' }),
    { action: 'voicemail' },
    'the cache holds the newer entry, not the stale fetch',
  );
  t.equal((await ctx.screener.screen({ ...base, from: '+15551234567' })).action, 'voicemail');
});

t.test('a poll asked for after a commit sees it, even while an earlier poll is still running', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  // A feed of its own over the daemon's reader, whose `PRAGMA data_version` answers can be held back:
  // read 1 is init(); read 2, the first poll's, waits while the test commits and asks for a second poll.
  const hold = holdRead(ctx.reader, (sql) => sql === 'PRAGMA data_version', 2);
  const feed = new ChangeFeed(ctx.reader, ctx.index, silentLogger());
  await feed.init();
  const early = feed.poll();
  await hold.held;
  await s.blocklist.block('demo', { kind: 'exact', number: '+15559876543' }, { mode: 'voicemail' }, cliActor);
  const asked = feed.poll();
  const again = feed.poll();
  t.not(asked, early, 'the poll asked for after the commit is not the one already running');
  t.equal(again, asked, 'callers while one poll runs share the one next poll');
  hold.release();
  await early;
  await asked;
  t.match(
    ctx.screener.screenSync({ ...base, from: '+15559876543' }),
    { action: 'voicemail' },
    'the commit made before asking is in memory when the poll resolves',
  );
  t.equal(hold.reads(), 3, 'one more data_version read: the queued poll ran once');
  await feed.stop();
});

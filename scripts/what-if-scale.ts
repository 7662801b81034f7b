/**
 * How the what-if replay and the stale report scale (issue #16): a temporary database with
 * 1,000,000 call records of the last 30 days (200,000 distinct numbers, one in ten an agent's own
 * call) and 100,000 exact entries plus a few prefixes, then each question timed once. Prints
 * figures; never fails. On a shared machine the figures are noisy: compare orders of magnitude.
 *
 *   node --import tsx scripts/what-if-scale.ts        (WHATIF_RECORDS, WHATIF_ENTRIES to resize)
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { openServices } from '../daemon/main.js';

const RECORDS = Number(process.env.WHATIF_RECORDS ?? 1_000_000);
const ENTRIES = Number(process.env.WHATIF_ENTRIES ?? 100_000);
const DAY = 86_400_000;

async function main(): Promise<void> {
  const dir = process.env.WHATIF_DIR ?? mkdtempSync(join(tmpdir(), 'callscreen-whatif-'));
  try {
    const path = join(dir, 'scale.db');
    const config = new ConfigLoader().fromText(
      `[store]\npath = ${JSON.stringify(path)}\n[log]\nlevel = "silent"\n`,
      'scale.toml',
    );
    const s = await openServices(config, pino({ level: 'silent' }));
    const actor = { name: 'scale', source: 'cli', origin: 'scale' } as const;
    const org = await s.orgs.add('acme', 'Acme', 'US', actor);
    const now = Date.now();
    let t0 = performance.now();
    // Numbers +1555 0000000…0199999; every tenth record an agent's own call to that number.
    await s.db.run(
      `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ? - 1)
       INSERT INTO screened (at, org_id, channel, direction, from_raw, to_raw, number, action, adapter)
       SELECT ? - (i * 2591) % (30 * ?), ?, 'call', CASE WHEN i % 10 = 0 THEN 'outbound' ELSE 'inbound' END,
              '+1555' || printf('%07d', (i * 7) % 200000), '+12125550100', '+1555' || printf('%07d', (i * 7) % 200000), 'allow', 'scale'
       FROM c`,
      [RECORDS, now, DAY, org.id],
    );
    await s.db.run(
      `WITH RECURSIVE c(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM c WHERE i < ? - 1)
       INSERT INTO entries (org_id, list, kind, value, mode, created_by, created_at, source)
       SELECT ?, 'block', 'exact', '+1666' || printf('%07d', i), 'reject', 'scale', ? - 200 * ?, 'import' FROM c`,
      [ENTRIES, org.id, now, DAY],
    );
    await s.blocklist.block('acme', { kind: 'prefix', prefix: '+16660' }, { mode: 'reject' }, actor);
    await s.blocklist.block('acme', { kind: 'prefix', prefix: '+1666' }, { mode: 'reject' }, actor);
    console.log(
      `fixture: ${RECORDS} call records, ${ENTRIES} exact entries + 2 prefixes, in ${Math.round(performance.now() - t0)} ms`,
    );

    const time = async (label: string, fn: () => Promise<string>): Promise<void> => {
      const rss0 = process.memoryUsage().rss;
      t0 = performance.now();
      const what = await fn();
      console.log(
        `${label.padEnd(44)} ${String(Math.round(performance.now() - t0)).padStart(6)} ms  rss +${Math.round((process.memoryUsage().rss - rss0) / 1e6)} MB  ${what}`,
      );
    };
    await time('what-if: one number', async () => {
      const r = await s.whatIf.report('acme', { list: 'block', target: { kind: 'exact', number: '+15550000007' } });
      return `changed ${r.changed.calls} records, ${r.changed.numbers} numbers`;
    });
    await time('what-if: prefix +155500 (half the records)', async () => {
      const r = await s.whatIf.report('acme', { list: 'block', target: { kind: 'prefix', prefix: '+155500' } });
      return `changed ${r.changed.calls} records, ${r.changed.numbers} numbers, ${r.broad ? 'broad' : 'not broad'}`;
    });
    await time('what-if: prefix +1555 (every record)', async () => {
      const r = await s.whatIf.report('acme', { list: 'block', target: { kind: 'prefix', prefix: '+1555' } });
      return `changed ${r.changed.calls} records, ${r.changed.numbers} numbers, called back ${r.changed.calledBack}`;
    });
    await time('stale report (100k entries shadowed)', async () => {
      const r = await s.stale.report('acme', { days: 90 });
      return `expired ${r.counts.expired}, unused ${r.counts.unused}, shadowed ${r.counts.shadowed}`;
    });
    await s.close();
  } finally {
    if (process.env.WHATIF_DIR === undefined) rmSync(dir, { recursive: true, force: true });
  }
}

await main();

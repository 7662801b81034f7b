/**
 * The hot path's index, checked against the slow path it replaced: for every number, the verdict
 * from the key map's summary (`screenSync` with nothing cached) must equal the verdict from the
 * number's full entries read from SQLite (`screen`, which reads them) — same action, rule id,
 * rule kind, SIP code. Numbers with a block and an allow entry, on a blocked contact, with an
 * expiry, in voicemail mode, and around the key loader's page boundary (20,000 rows) are all
 * covered; then the same after changes applied by the change feed.
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t from 'tap';
import type { ScreenRequest } from '../../daemon/core/screen-request.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import { cliActor, services, startDaemon, tempDir } from '../support/harness.js';

type Test = Pick<typeof t, 'equal'>;

const BASE = 2_000_000_000;
const N = 21_000;
const num = (i: number): string => `+1${BASE + i}`;

async function compare(t: Test, ctx: DaemonContext, numbers: readonly string[], label: string): Promise<void> {
  for (const s of ctx.index.orgs()) s.cache.clear();
  const reqs: ScreenRequest[] = numbers.map((from) => ({
    org: 'demo',
    channel: 'call',
    direction: 'inbound',
    from,
    to: '+15550100',
  }));
  const fast = reqs.map((r) => ctx.screener.screenSync(r));
  const slow = await Promise.all(reqs.map((r) => ctx.screener.screen(r)));
  let differ = 0;
  const examples: string[] = [];
  for (let i = 0; i < reqs.length; i++) {
    const a = fast[i]!;
    const b = slow[i]!;
    const same =
      a.action === b.action &&
      a.sipCode === b.sipCode &&
      a.rule?.id === b.rule?.id &&
      a.rule?.kind === b.rule?.kind &&
      a.rule?.mode === b.rule?.mode;
    if (!same) {
      differ++;
      if (examples.length < 5)
        examples.push(`${String(numbers[i])}: ${a.action}/${String(a.rule?.id)} vs ${b.action}/${String(b.rule?.id)}`);
    }
  }
  t.equal(differ, 0, `${label}: summary and full entries agree on ${reqs.length} numbers ${examples.join('; ')}`);
}

t.test('verdicts from the key map equal verdicts from the full entries', async (t) => {
  const dir = tempDir(t);
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  const now = s.clock.now();
  const lines = ['number,list,mode,expires'];
  for (let i = 0; i < N; i++) {
    const expires = i % 7 === 0 ? new Date(now + 3_600_000).toISOString() : '';
    lines.push(`${num(i)},block,${i % 3 === 0 ? 'voicemail' : 'reject'},${expires}`);
  }
  // Allow entries on blocked numbers. In index order (value, list) a number's allow row comes just
  // before its block row; with one allowed number below 19,998, the loader's first page (20,000
  // rows) ends on the allow row of 19,998 and the next one starts with its block row.
  const allowed = [5, 19_998, 19_999, 20_000, 20_001, 20_002, 20_999];
  for (const i of allowed) lines.push(`${num(i)},allow,,`);
  const csv = join(dir, 'entries.csv');
  writeFileSync(csv, lines.join('\n') + '\n');
  await s.importer.importFile(csv, 'demo', cliActor);
  const contact = await s.contacts.add('demo', 'Pushy Vendor', [num(N + 1), num(N + 2), num(10)], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'contact', contactId: contact.id },
    { mode: 'voicemail', reason: 'vendor' },
    cliActor,
  );
  await s.blocklist.block(
    'demo',
    { kind: 'prefix', prefix: `+1${BASE + 30_000}`.slice(0, 9) },
    { mode: 'reject' },
    cliActor,
  );

  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const numbers = [
    ...Array.from({ length: N }, (_, i) => num(i)),
    num(N + 1),
    num(N + 2),
    num(N + 3),
    num(30_000),
    '+15550000000',
    'anonymous',
  ];
  const stats = ctx.index.stats();
  t.equal(stats.keys, N + 2, 'every listed number in the key map (the contact adds two new ones)');
  t.equal(
    stats.complex,
    allowed.length + 3,
    'numbers with two entries (19,998 across the page boundary too) or on the contact keep full entries',
  );
  await compare(t, ctx, numbers, 'loaded at start');
  t.equal(
    ctx.screener.screenSync({ org: 'demo', channel: 'call', direction: 'inbound', from: num(19_999), to: '+15550100' })
      .action,
    'allow',
    'the allow entry across the page boundary wins',
  );

  // Time passes: timed blocks expire in memory exactly as in SQLite.
  s.clock.set(now + 2 * 3_600_000);
  await compare(t, ctx, numbers.slice(0, 2_000), 'after the timed blocks expired');

  // Changes through the feed: an unblock, a new allow on a blocked number, a mode change by re-block.
  await s.blocklist.unblock('demo', { kind: 'exact', number: num(1) }, cliActor, 'test');
  await s.blocklist.allow('demo', { kind: 'exact', number: num(2) }, {}, cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: num(40_000) }, { mode: 'voicemail' }, cliActor);
  await ctx.feed.poll();
  await compare(t, ctx, [num(1), num(2), num(3), num(40_000), num(5)], 'after changes');
  t.equal(
    ctx.screener.screenSync({ org: 'demo', channel: 'call', direction: 'inbound', from: num(1), to: '+15550100' })
      .action,
    'allow',
    'unblocked',
  );
  t.equal(
    ctx.screener.screenSync({ org: 'demo', channel: 'call', direction: 'inbound', from: num(40_000), to: '+15550100' })
      .action,
    'voicemail',
    'newly blocked',
  );
});

t.test('an org being reloaded is never missing: calls made meanwhile find it (they would fail open)', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: num(1) }, { mode: 'reject' }, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const orgId = ctx.index.org('demo')!.org.id;
  for (const reload of [() => ctx.index.reloadOrg(orgId), () => ctx.index.reloadAll()]) {
    const reloading = { done: false };
    let looks = 0;
    let missing = 0;
    const p = reload().then(() => {
      reloading.done = true;
    });
    // Look between every turn of the event loop until the reload has finished.
    while (!reloading.done) {
      looks++;
      if (ctx.index.orgForDid('+15550100') === undefined || ctx.index.org('demo') === undefined) missing++;
      const v = ctx.screener.screenSync({
        org: 'demo',
        channel: 'call',
        direction: 'inbound',
        from: num(1),
        to: '+15550100',
      });
      if (v.action !== 'reject') missing++;
      await new Promise((r) => setImmediate(r));
    }
    await p;
    t.ok(looks > 1, `looked ${looks} times while it reloaded`);
    t.equal(missing, 0, 'the org, its DID and its verdicts were there every time');
  }
});

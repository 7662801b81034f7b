// Flood detection inside a daemon: calls screened through the ScreeningService trip a hold, the
// hold is written as an expiring `auto` block entry with its audit record, later calls meet it, and
// it ends by itself. Per-org settings through `callscreen flood`, with bad values refused.
import t from 'tap';
import { runOn } from '../cli/cli-runner.js';
import { captureLogger, cliActor, services, startDaemon, until } from '../support/harness.js';
import { SCHEMA_VERSION, schemaVersion } from '../../daemon/store/migrations.js';

const MIN = 60_000;

t.test('a flooding caller is held by an expiring auto rule, audited as auto', async (t) => {
  const s = await services(t);
  t.equal(await schemaVersion(s.db), SCHEMA_VERSION);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100', '+15550101'], cliActor);
  await s.flood.set('demo', { maxCalls: 3, holdMinutes: 30 }, cliActor);
  const { logger, lines } = captureLogger('info');
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock, logger });
  const call = () => {
    const r = ctx.screening.inbound(
      { orgFrom: 'did', defaultOrg: '' },
      { channel: 'call', direction: 'inbound', from: '+14155550123', to: '+15550100' },
    );
    ctx.screening.record(r, 'test', 1);
    return r.verdict.action;
  };
  t.same([call(), call(), call()], ['allow', 'allow', 'allow'], 'three calls: under the threshold');
  t.equal(call(), 'allow', 'the fourth trips the detector but is not delayed: its verdict was already given');
  const entry = async () => (await s.blocklist.list('demo', { search: '4155550123' })).entries[0];
  t.ok(await until(async () => (await entry()) !== undefined, 5000, 20), 'the hold is written in the background');
  const e = await entry();
  t.match(e, {
    kind: 'exact',
    value: '+14155550123',
    mode: 'voicemail',
    createdBy: 'auto',
    source: 'auto',
    name: 'flood hold',
  });
  t.equal(e?.expiresAt, s.clock.now() + 30 * MIN, 'expires after holdMinutes');
  t.match(e?.reason, /^auto: 4 calls from one number within 10 min$/);
  t.match(
    lines.filter((l) => l.component === 'flood'),
    [
      {
        level: 40,
        msg: 'flood: +14155550123 held (voicemail) by an automatic rule',
        org: 'demo',
        signal: 'rate',
        count: 4,
        windowMinutes: 10,
      },
    ],
    'one warn line per hold',
  );
  const audit = await s.audit.query({ actor: 'auto' });
  t.match(audit.events, [{ action: 'block', target: '+14155550123', origin: 'flood detector' }]);

  await ctx.feed.poll();
  t.equal(call(), 'voicemail', 'the next call meets the hold');
  s.clock.advance(31 * MIN);
  t.equal(call(), 'allow', 'the hold expired by itself');

  const metrics = await ctx.metrics.registry.metrics();
  t.match(metrics, /callscreen_flood_holds_total\{signal="rate"\} 1/);
  t.match(metrics, /callscreen_flood_tracked_keys \d+/);
});

t.test('an admin’s own entry is never rewritten by a hold', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.flood.set('demo', { prefixMaxCalls: 2, maxCalls: 100 }, cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'prefix', prefix: '+1415555' },
    { mode: 'reject', reason: 'admin' },
    cliActor,
  );
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const holds: string[] = [];
  for (const n of ['+14155551000', '+14155551001', '+14155551002']) {
    const r = ctx.screening.inbound(
      { orgFrom: 'did', defaultOrg: '' },
      { channel: 'call', direction: 'inbound', from: n, to: '+15550100' },
    );
    holds.push(r.verdict.action);
    ctx.screening.record(r, 'test', 1);
  }
  t.same(holds, ['reject', 'reject', 'reject'], 'the admin prefix answers; nothing is counted');
  const list = await s.blocklist.list('demo');
  t.same(
    list.entries.map((e) => [e.value, e.mode, e.createdBy]),
    [['+1415555', 'reject', 'tester']],
  );
});

t.test('callscreen flood shows and changes the settings; bad values are refused by name', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const show = await runOn(s.dbPath, ['flood', 'demo', '--json']);
  t.equal(show.code, 0, show.err);
  t.match(JSON.parse(show.out), {
    org: 'demo',
    settings: { enabled: true, maxCalls: 5, windowMinutes: 10, mode: 'voicemail', neighbour: false },
    changed: [],
  });
  const set = await runOn(s.dbPath, [
    'flood',
    'demo',
    '--max-calls',
    '8',
    '--neighbour',
    'on',
    '--hold',
    '120',
    '--by',
    'ann',
  ]);
  t.equal(set.code, 0, set.err);
  t.match(set.out, /\* maxCalls\s+8/);
  t.match(set.out, /\* neighbour\s+true/);
  t.match(set.out, / {2}windowMinutes\s+10/);
  const bad = await runOn(s.dbPath, ['flood', 'demo', '--max-calls', 'lots']);
  t.equal(bad.code, 65);
  t.match(bad.err, /CS_ERR_INVALID_VALUE: flood setting maxCalls must be a whole number from 1 to 100/);
  const bad2 = await runOn(s.dbPath, ['flood', 'demo', '--window', '0']);
  t.match(bad2.err, /windowMinutes must be a whole number from 1 to 1440/);
  t.match(
    (await s.flood.get('demo')).changes,
    { maxCalls: 8, neighbour: true, holdMinutes: 120 },
    'a refused change wrote nothing',
  );
  const audit = await s.audit.query({ action: 'flood.settings' });
  t.match(audit.events, [{ actor: 'ann', detail: { after: { maxCalls: 8 } } }]);
  const reset = await runOn(s.dbPath, ['flood', 'demo', '--reset', '--json']);
  t.same((JSON.parse(reset.out) as { changed: unknown }).changed, []);
});

t.test('contacts and numbers agents called are not held by themselves', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.flood.set('demo', { maxCalls: 1, prefixMaxCalls: 100 }, cliActor);
  await s.contacts.add('demo', 'Supplier', ['+14155550200'], cliActor);
  const { logger, lines } = captureLogger('info');
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock, logger });
  const routing = { orgFrom: 'did', defaultOrg: 'demo' } as const;
  const out = ctx.screening.outbound(routing, {
    channel: 'call',
    direction: 'outbound',
    from: '101',
    to: '+14155550300',
  });
  ctx.screening.record(out, 'test', 1);
  await ctx.recorder.flush();
  for (const from of ['+14155550200', '+14155550200', '+14155550300', '+14155550300', '+12125550400', '+12125550400']) {
    ctx.screening.record(
      ctx.screening.inbound(routing, { channel: 'call', direction: 'inbound', from, to: '+15550100' }),
      'test',
      1,
    );
  }
  t.ok(await until(async () => (await s.blocklist.list('demo')).total === 1, 5000, 20), 'one hold written');
  t.same(
    (await s.blocklist.list('demo')).entries.map((e) => e.value),
    ['+12125550400'],
    'only the stranger is held',
  );
  t.same(
    lines
      .filter((l) => l.msg === 'flood detected from a known caller; not held')
      .map((l) => [l.value, l.known])
      .sort(),
    [
      ['+14155550200', 'contact'],
      ['+14155550300', 'called back'],
    ],
  );
});

/**
 * Issue #16's rules through the real store: written by the services, loaded by a daemon's index at
 * start, changed while it runs (the change feed), and answered from memory (`screenSync`) exactly as
 * `callscreen check` answers them from SQLite (NumberCheck).
 */
import t from 'tap';
import type { ScreenRequest } from '../../daemon/core/screen-request.js';
import type { Verdict } from '../../daemon/core/verdict.js';
import type { DaemonContext, Services } from '../../daemon/daemon-context.js';
import { NumberCheck } from '../../daemon/services/number-check.js';
import { cliActor, services, startDaemon } from '../support/harness.js';

const DID = '+15550100';
const PRIVATE_DID = '+15550111';
const call = (from: string, to = DID): ScreenRequest => ({
  org: 'demo',
  channel: 'call',
  direction: 'inbound',
  from,
  to,
});

async function setup(t: Parameters<typeof services>[0]) {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', [DID, PRIVATE_DID], cliActor);
  return s;
}

/** Memory and SQLite agree on action, rule and SIP code for each request. */
async function agree(t: Tap, s: Services, ctx: DaemonContext, reqs: readonly ScreenRequest[]): Promise<Verdict[]> {
  const check = new NumberCheck(s.db, s.normalizer, s.clock);
  const out: Verdict[] = [];
  for (const r of reqs) {
    const fast = ctx.screener.screenSync(r);
    const slow = await check.screen(r);
    t.same(
      [fast.action, fast.rule?.id, fast.rule?.kind, fast.sipCode, fast.observed],
      [slow.action, slow.rule?.id, slow.rule?.kind, slow.sipCode, slow.observed],
      `index and check agree for ${r.from} → ${r.to}`,
    );
    out.push(fast);
  }
  return out;
}
type Tap = Pick<typeof t, 'same'>;

t.test(
  'patterns: wildcards and ranges match from memory, the narrowest rule first; "+1900*" is a prefix',
  async (t) => {
    const s = await setup(t);
    const wild = await s.blocklist.block(
      'demo',
      { kind: 'pattern', pattern: '(415) 555-????' },
      { mode: 'voicemail' },
      cliActor,
    );
    t.equal(wild.kind, 'pattern');
    t.equal(wild.value, '+1415555????', 'national form read with the org region');
    const range = await s.blocklist.block(
      'demo',
      { kind: 'pattern', pattern: '+1 212 555 0100 .. +1 212 555 0199' },
      { mode: 'reject' },
      cliActor,
    );
    t.equal(range.value, '+12125550100..+12125550199');
    const star = await s.blocklist.block('demo', { kind: 'pattern', pattern: '+1900*' }, {}, cliActor);
    t.match(star, { kind: 'prefix', value: '+1900' }, 'a pattern that is only a trailing * is a prefix entry');
    const wide = await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1415' }, { mode: 'reject' }, cliActor);
    const allowInRange = await s.blocklist.allow(
      'demo',
      { kind: 'pattern', pattern: '+12125550150..+12125550159' },
      {},
      cliActor,
    );
    await t.rejects(
      s.blocklist.block('demo', { kind: 'pattern', pattern: '+1??????????' }, {}, cliActor),
      { code: 'CS_ERR_PATTERN_TOO_BROAD' },
      'the default minimum (6 digits)',
    );
    await t.rejects(s.blocklist.block('demo', { kind: 'pattern', pattern: '+1415555' }, {}, cliActor), {
      code: 'CS_ERR_INVALID_PATTERN',
      message: /no wildcard/,
    });
    await t.rejects(s.blocklist.block('demo', { kind: 'pattern', pattern: 'hello?' }, {}, cliActor), {
      code: 'CS_ERR_INVALID_PATTERN',
    });
    await s.rules.setMinPatternDigits('demo', 8, cliActor);
    await t.rejects(
      s.blocklist.block('demo', { kind: 'pattern', pattern: '+1415666????' }, {}, cliActor),
      { code: 'CS_ERR_PATTERN_TOO_BROAD', message: /at least 8/ },
      'the org minimum',
    );
    const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
    const [a, b, c, d, e, f, g] = await agree(t, s, ctx, [
      call('+14155550123'),
      call('+12125550100'),
      call('+12125550155'),
      call('+12125550200'),
      call('+19005551234'),
      call('+14156660000'),
      call('+141555501234'),
    ]);
    t.match(
      a,
      { action: 'voicemail', rule: { id: wild.id, kind: 'pattern' } },
      'the pattern (10,000 numbers) beats the wider prefix +1415',
    );
    t.match(b, { action: 'reject', rule: { id: range.id, kind: 'pattern' } });
    t.match(c, { action: 'allow', rule: { id: allowInRange.id, kind: 'allow' } }, 'an allow range wins');
    t.match(d, { action: 'allow', rule: null });
    t.match(e, { action: 'reject', rule: { id: star.id, kind: 'prefix' } });
    t.match(f, { action: 'reject', rule: { id: wide.id, kind: 'prefix' } });
    t.match(
      g,
      { action: 'reject', rule: { id: wide.id } },
      'a number one digit too long for the pattern falls to the prefix',
    );
    // A pattern removed while the daemon runs stops matching within a poll.
    await s.blocklist.unblock('demo', { kind: 'pattern', pattern: '+1415555????' }, cliActor);
    await ctx.feed.poll();
    t.match(ctx.screener.screenSync(call('+14155550123')), { action: 'reject', rule: { id: wide.id } });
  },
);

t.test('disable and enable: a disabled entry is kept and listed and never matches; audited', async (t) => {
  const s = await setup(t);
  const exact = await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  const prefix = await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1666' }, {}, cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  t.equal(ctx.screener.screenSync(call('+15551234567')).action, 'reject');
  await s.rules.setDisabled('demo', exact.id, true, cliActor, 'testing a complaint');
  await s.rules.setDisabled('demo', prefix.id, true, cliActor);
  await t.rejects(
    s.rules.setDisabled('demo', exact.id, true, cliActor),
    { code: 'CS_ERR_ENTRY_STATE' },
    'already disabled',
  );
  await ctx.feed.poll();
  await agree(t, s, ctx, [call('+15551234567'), call('+16665550000')]);
  t.match(ctx.screener.screenSync(call('+15551234567')), { action: 'allow', rule: null }, 'disabled exact entry');
  t.match(ctx.screener.screenSync(call('+16665550000')), { action: 'allow', rule: null }, 'disabled prefix entry');
  const listed = await s.blocklist.list('demo');
  t.match(
    listed.entries.find((e) => e.id === exact.id),
    { disabledBy: 'tester', disabledAt: Number },
    'still listed, marked disabled',
  );
  // Loaded afresh (as a daemon starting), it is still left out.
  await ctx.index.reloadAll();
  t.equal(ctx.screener.screenSync(call('+15551234567')).action, 'allow');
  await s.rules.setDisabled('demo', exact.id, false, cliActor, 'complaint settled');
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(call('+15551234567')).action, 'reject', 'enabled again');
  const audit = (await s.audit.query({ action: 'entry.disable' })).events;
  t.match(audit, [
    { actor: 'tester' },
    { actor: 'tester', reason: 'testing a complaint', detail: { entry: exact.id } },
  ]);
  t.equal((await s.audit.query({ action: 'entry.enable' })).events.length, 1);
  // Re-blocking a disabled target enables it.
  await s.rules.setDisabled('demo', exact.id, true, cliActor);
  const again = await s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, {}, cliActor);
  t.equal(again.id, exact.id);
  t.equal(again.disabledAt, null, 're-blocking enables');
});

t.test('observe mode: lets calls through, recorded as would-have-blocked; report; promote', async (t) => {
  const s = await setup(t);
  const e = await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15551234567' },
    { observe: true, mode: 'voicemail' },
    cliActor,
  );
  t.type(e.observeSince, 'number');
  await t.rejects(
    s.blocklist.allow('demo', { kind: 'exact', number: '+15557654321' }, { observe: true } as never, cliActor),
    { code: 'CS_ERR_USAGE' },
  );
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const [v] = await agree(t, s, ctx, [call('+15551234567')]);
  t.match(v, { action: 'allow', observed: 'voicemail', rule: { id: e.id } });
  for (let i = 0; i < 3; i++) {
    s.clock.advance(1000);
    ctx.screening.record(
      ctx.screening.inbound(
        { orgFrom: 'did', defaultOrg: '' },
        { channel: 'call', direction: 'inbound', from: '+15551234567', to: DID },
      ),
      'test',
      null,
    );
  }
  await ctx.recorder.flush();
  const report = await s.rules.observeReport('demo', e.id);
  t.match(report, { hits: 3, numbers: 1, observingSince: e.observeSince });
  t.equal(report.recent.length, 3);
  t.match(report.recent[0], { number: '+15551234567', to: DID, channel: 'call' });
  await s.rules.promote('demo', e.id, cliActor, 'three survey calls, none wanted');
  await t.rejects(s.rules.promote('demo', e.id, cliActor), { code: 'CS_ERR_ENTRY_STATE' });
  await ctx.feed.poll();
  t.match(
    ctx.screener.screenSync(call('+15551234567')),
    { action: 'voicemail', observed: undefined },
    'promoted: it blocks',
  );
  t.match((await s.audit.query({ action: 'entry.promote' })).events, [
    { reason: 'three survey calls, none wanted', detail: { entry: e.id, hits: 3, numbers: 1 } },
  ]);
  // And back into observe mode, later.
  s.clock.advance(1000);
  await s.rules.observe('demo', e.id, cliActor);
  await ctx.feed.poll();
  t.match(ctx.screener.screenSync(call('+15551234567')), { action: 'allow', observed: 'voicemail' });
  t.equal((await s.rules.observeReport('demo', e.id)).hits, 0, 'a new observation starts from nothing');
});

t.test('entries scoped to DIDs and allowlist-only DIDs', async (t) => {
  const s = await setup(t);
  const scoped = await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15551234567' },
    { dids: ['(555) 0100'] },
    cliActor,
  );
  t.same(scoped.dids, [DID]);
  await t.rejects(
    s.blocklist.block('demo', { kind: 'exact', number: '+15551234567' }, { dids: ['+15559999999'] }, cliActor),
    { code: 'CS_ERR_INVALID_VALUE', message: /not one of organisation/ },
  );
  await s.blocklist.block(
    'demo',
    { kind: 'pattern', pattern: '+1666555????' },
    { dids: [PRIVATE_DID], mode: 'voicemail' },
    cliActor,
  );
  const friend = await s.blocklist.allow(
    'demo',
    { kind: 'exact', number: '+17775550001' },
    { dids: [PRIVATE_DID] },
    cliActor,
  );
  const contact = await s.contacts.add('demo', 'Grandma', ['+17775550002'], cliActor);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  await agree(t, s, ctx, [
    call('+15551234567'),
    call('+15551234567', PRIVATE_DID),
    call('+16665551234', PRIVATE_DID),
    call('+16665551234'),
  ]);
  t.equal(ctx.screener.screenSync(call('+15551234567')).action, 'reject', 'blocked on its DID');
  t.equal(ctx.screener.screenSync(call('+15551234567', PRIVATE_DID)).action, 'allow', 'not on another');
  t.equal(ctx.screener.screenSync(call('+15551234567', '5550100')).action, 'reject', 'the DID in national form');
  t.equal(
    ctx.screener.screenSync({ ...call('+15551234567'), direction: 'outbound', to: '+15551234567' }).action,
    'allow',
    'outbound: scoped entries do not apply',
  );

  await s.rules.setAllowlistOnly('demo', PRIVATE_DID, 'voicemail', cliActor, 'private line');
  await ctx.feed.poll();
  const reqs = [
    call('+18885550000', PRIVATE_DID),
    call('+17775550001', PRIVATE_DID),
    call('+17775550002', PRIVATE_DID),
    call('anonymous', PRIVATE_DID),
    call('+18885550000'),
  ];
  const [stranger, allowed, grandma, anon, elsewhere] = await agree(t, s, ctx, reqs);
  t.match(stranger, { action: 'voicemail', rule: { kind: 'allowlist-only', value: PRIVATE_DID } });
  t.match(allowed, { action: 'allow', rule: { id: friend.id, kind: 'allow' } });
  t.match(grandma, { action: 'allow', rule: null }, 'a contact rings');
  t.match(anon, { action: 'voicemail', rule: { kind: 'allowlist-only' } });
  t.match(elsewhere, { action: 'allow' }, 'the other DID is screened as usual');
  // A contact number added while it runs rings from then on.
  await s.contacts.addNumbers('demo', contact.id, ['+18885550000'], cliActor);
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(call('+18885550000', PRIVATE_DID)).action, 'allow');
  await s.rules.setAllowlistOnly('demo', PRIVATE_DID, 'reject', cliActor);
  await ctx.feed.poll();
  t.match(ctx.screener.screenSync(call('+19995550000', PRIVATE_DID)), { action: 'reject', sipCode: 603 });
  await s.rules.setAllowlistOnly('demo', PRIVATE_DID, null, cliActor);
  await ctx.feed.poll();
  t.equal(ctx.screener.screenSync(call('+19995550000', PRIVATE_DID)).action, 'allow', 'back to usual screening');
  t.same(await s.rules.didRules('demo'), [
    { number: DID, allowlistOnly: null },
    { number: PRIVATE_DID, allowlistOnly: null },
  ]);
  t.equal((await s.audit.query({ action: 'did.allowlist-only' })).events.length, 3);
  await t.rejects(s.rules.setAllowlistOnly('demo', '+15559999999', 'reject', cliActor), {
    code: 'CS_ERR_INVALID_VALUE',
  });
});

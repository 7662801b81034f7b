// Issue #16's per-DID rules through a real Asterisk 22 (scripts/pbx-sandbox), SIPp playing the
// carrier: a block scoped to one DID rejects calls to that DID and lets the same caller through to
// another; an allowlist-only DID sends strangers to voicemail (or rejects them, per the DID) while
// allow-listed callers and contacts ring; an observe-mode entry lets the call through and the
// daemon records it as "would have blocked". Changes made while the daemon runs reach live calls.
//
// Needs root (chroot); shares the sandbox lock with the other sandbox suites. CALLSCREEN_SKIP_SANDBOX=1 skips.
import t from 'tap';
import { demoServices, sandboxTest, startAsteriskDaemon } from '../support/asterisk-suite.js';
import { cliActor } from '../support/harness.js';
import { must } from '../support/must.js';
import { disposition, inbound } from '../support/sandbox-calls.js';
import { describeSipp } from '../support/sipp.js';

t.setTimeout(10 * 60_000);

const SALES = '+15550100';
const PRIVATE = '+15550105';
const PEST = '+15557771001';
const FRIEND = '+15557771002';
const AUNT = '+15557771003';
const STRANGER = '+15557771004';
const WATCHED = '+15557772005';

void sandboxTest(t, 'per-DID lists, allowlist-only and observe mode through a real Asterisk', async (t) => {
  const s = await demoServices(t);
  await s.orgs.updateSettings('demo', { rejectCode: 607 }, cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: PEST }, { mode: 'reject', dids: [SALES] }, cliActor);
  await s.blocklist.allow('demo', { kind: 'exact', number: FRIEND }, { dids: [PRIVATE] }, cliActor);
  await s.contacts.add('demo', 'Aunt May', [AUNT], cliActor);
  const watched = await s.blocklist.block(
    'demo',
    { kind: 'pattern', pattern: '+155577720??' },
    { mode: 'reject', observe: true },
    cliActor,
  );
  await s.rules.setAllowlistOnly('demo', PRIVATE, 'voicemail', cliActor);

  const { ctx } = await startAsteriskDaemon(t, s);

  await t.test('a block scoped to one DID rejects calls to it, and only to it', async (t) => {
    const r = await inbound(PEST, SALES);
    t.same(r.codes, [607], describeSipp(r));
    const other = await inbound(PEST, '+15550102');
    t.same(other.codes, [200], describeSipp(other));
    t.equal(disposition(other), 'allow');
  });

  await t.test('an allowlist-only DID: strangers to voicemail; allow-listed callers and contacts ring', async (t) => {
    const stranger = await inbound(STRANGER, PRIVATE);
    t.same(stranger.codes, [200], describeSipp(stranger));
    t.equal(disposition(stranger), 'voicemail');
    const friend = await inbound(FRIEND, PRIVATE);
    t.equal(disposition(friend), 'allow', describeSipp(friend));
    const aunt = await inbound(AUNT, PRIVATE);
    t.equal(disposition(aunt), 'allow', describeSipp(aunt));
    const elsewhere = await inbound(STRANGER, '+15550103');
    t.equal(disposition(elsewhere), 'allow', 'the same stranger rings on an ordinary DID');
  });

  await t.test('changed while running: the DID turns to reject for strangers', async (t) => {
    await s.rules.setAllowlistOnly('demo', PRIVATE, 'reject', cliActor);
    await ctx.feed.poll();
    const r = await inbound(STRANGER, PRIVATE);
    t.same(r.codes, [607], describeSipp(r));
  });

  await t.test('observe mode: the call goes through and is recorded as would-have-blocked', async (t) => {
    const r = await inbound(WATCHED, '+15550104');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'allow');
    await ctx.recorder.flush();
    const report = await s.rules.observeReport('demo', watched.id);
    t.match(report, { hits: 1, numbers: 1, recent: [{ number: WATCHED, channel: 'call' }] });
    await s.rules.promote('demo', watched.id, cliActor, 'e2e');
    await ctx.feed.poll();
    const after = await inbound(WATCHED, '+15550104');
    t.same(after.codes, [607], `promoted: rejected now; ${describeSipp(after)}`);
  });

  await t.test('the call records name the rules', async (t) => {
    await ctx.recorder.flush();
    const rows = await ctx.recorder.recent(must(ctx.index.org('demo'), 'org demo in the index').org.id, 50);
    t.ok(
      rows.some((r) => r.rule_kind === 'allowlist-only' && r.action === 'voicemail'),
      'allowlist-only voicemail recorded',
    );
    t.ok(
      rows.some((r) => r.rule_kind === 'pattern' && r.action === 'allow' && /observe mode/.test(r.reason)),
      'the observed call recorded with its pattern',
    );
  });
});

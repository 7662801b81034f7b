// Issue #16 through a real Asterisk 22 (scripts/pbx-sandbox), driven by SIPp playing the carrier
// and agent101's phone:
// - flood detection: a burst from one number, and one number sweeping our DIDs, are held by
//   automatic voicemail rules, and the next call from them reaches voicemail;
// - the handset feature codes: *32 after a call blocks the extension's last caller (AstDB
//   CALLTRACE/101, recorded by the dialplan), and *32 pressed during a call (SIP INFO DTMF,
//   features.conf) blocks the caller on the line and hangs up; both audited as the agent.
//
// Needs root (chroot); shares the sandbox lock with the other sandbox tests. CALLSCREEN_SKIP_SANDBOX=1 skips.
import t from 'tap';
import { UserService } from '../../daemon/admin/user-service.js';
import { demoServices, sandboxTest, startAsteriskDaemon } from '../support/asterisk-suite.js';
import { cliActor, until } from '../support/harness.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { describeSipp, runSipp, startSipp, type SippResult } from '../support/sipp.js';

t.setTimeout(10 * 60_000);

/** Rings agent101 (config/asterisk/extensions.conf, [callscreen-handset-sandbox]). */
const RINGS_AGENT = '+15550200';
const FLOODER = '+13125550111';
const SWEEPER = '+16175550122';
const LAST_CALLER = '+17185550133';
/** A North American DID of the sandbox ([callscreen-flood-sandbox]): its exchange is +1 415 555. */
const NANP_DID = '+14155550100';
const ON_THE_LINE = '+19175550144';

const disposition = (r: SippResult): string | undefined => r.records.find((x) => x.kind === 'RESULT')?.disposition;
const dispositions = (r: SippResult): string[] =>
  r.records.filter((x) => x.kind === 'RESULT').map((x) => x.disposition ?? '');

void sandboxTest(t, 'flood holds and handset feature codes through a real Asterisk', async (t) => {
  const s = await demoServices(t, { dids: [RINGS_AGENT, NANP_DID] });
  // More than 3 calls in 10 min, 3 different DIDs, more than 4 calls from neighbours (numbers that
  // differ in their last 4 digits), or more than 2 from the called DID's own exchange, are a flood here.
  await s.flood.set(
    'demo',
    { maxCalls: 3, didSweep: 3, prefixMaxCalls: 4, neighbour: true, neighbourMaxCalls: 2 },
    cliActor,
  );
  const users = new UserService(s.db, s.orgs, s.audit, s.clock, { N: 1024, r: 8, p: 1 });
  await users.add('agent101', 'supervisor', ['demo'], 'agent101-password', cliActor);

  const { ctx } = await startAsteriskDaemon(t, s);
  const entryOf = async (n: string) =>
    (await s.blocklist.list('demo', { search: n.slice(2) })).entries.find((e) => e.value === n);
  const carrier = (
    calls: Array<{ caller: string; did: string }>,
    extra: { rate?: number; maxConcurrent?: number } = {},
  ) =>
    runSipp({
      scenario: 'inbound-call.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp: sandbox.SANDBOX.carrierIp,
      calls,
      count: calls.length,
      timeoutSec: 30,
      ...extra,
    });

  await t.test('a burst from one number is held by an automatic voicemail rule', async (t) => {
    const burst = await carrier(
      Array.from({ length: 4 }, () => ({ caller: FLOODER, did: '+15550100' })),
      { rate: 20, maxConcurrent: 4 },
    );
    t.same(burst.codes, [200, 200, 200, 200], describeSipp(burst));
    t.same(dispositions(burst), ['allow', 'allow', 'allow', 'allow'], 'the burst itself is not delayed or changed');
    t.ok(await until(async () => (await entryOf(FLOODER)) !== undefined, 10_000, 50), 'hold written');
    t.match(await entryOf(FLOODER), {
      mode: 'voicemail',
      createdBy: 'auto',
      source: 'auto',
      reason: /^auto: 4 calls from one number within 10 min$/,
    });
    await ctx.feed.poll();
    const next = await carrier([{ caller: FLOODER, did: '+15550101' }]);
    t.equal(disposition(next), 'voicemail', describeSipp(next));
  });

  await t.test('one number calling many of our DIDs is held', async (t) => {
    const sweep = await carrier(['+15550102', '+15550103', '+15550104'].map((did) => ({ caller: SWEEPER, did })));
    t.same(sweep.codes, [200, 200, 200], describeSipp(sweep));
    t.ok(await until(async () => (await entryOf(SWEEPER)) !== undefined, 10_000, 50), 'hold written');
    t.match(await entryOf(SWEEPER), { createdBy: 'auto', reason: /3 different numbers of ours/ });
    await ctx.feed.poll();
    t.equal(disposition(await carrier([{ caller: SWEEPER, did: '+15550105' }])), 'voicemail');
    const metrics = await ctx.metrics.registry.metrics();
    t.match(metrics, /callscreen_flood_holds_total\{signal="rate"\} 1/);
    t.match(metrics, /callscreen_flood_holds_total\{signal="did-sweep"\} 1/);
    t.match((await s.audit.query({ actor: 'auto' })).events.length, 2, 'both audited as auto');
  });

  await t.test('neighbours: many numbers sharing a prefix hold the prefix', async (t) => {
    const calls = ['+12125551001', '+12125551002', '+12125551003', '+12125551004', '+12125551005'].map((caller, i) => ({
      caller,
      did: `+1555010${i}`,
    }));
    const burst = await carrier(calls, { rate: 20, maxConcurrent: 5 });
    t.same(burst.codes, [200, 200, 200, 200, 200], describeSipp(burst));
    t.ok(
      await until(async () => (await s.blocklist.list('demo', { search: '212555' })).total === 1, 10_000, 50),
      'hold written',
    );
    t.match((await s.blocklist.list('demo', { search: '212555' })).entries, [
      { kind: 'prefix', value: '+1212555', createdBy: 'auto', reason: /5 calls from neighbouring numbers/ },
    ]);
    await ctx.feed.poll();
    t.equal(
      disposition(await carrier([{ caller: '+12125559999', did: '+15550106' }])),
      'voicemail',
      'another neighbour meets the prefix hold',
    );
  });

  await t.test('neighbour spoofing (opt in): callers from the DID’s own exchange hold it', async (t) => {
    const spoofed = ['+14155557001', '+14155557002', '+14155557003'].map((caller) => ({ caller, did: NANP_DID }));
    const burst = await carrier(spoofed);
    t.same(dispositions(burst), ['allow', 'allow', 'allow'], describeSipp(burst));
    t.ok(
      await until(
        async () => (await s.blocklist.list('demo', { search: '1415555' })).entries.some((e) => e.kind === 'prefix'),
        10_000,
        50,
      ),
      'hold written',
    );
    t.match(
      (await s.blocklist.list('demo', { search: '1415555' })).entries.find((e) => e.kind === 'prefix'),
      {
        value: '+1415555',
        createdBy: 'auto',
        reason: /3 calls from numbers sharing the called number's area code and exchange/,
      },
    );
    await ctx.feed.poll();
    t.equal(disposition(await carrier([{ caller: '+14155557004', did: NANP_DID }])), 'voicemail');
    const metrics = await ctx.metrics.registry.metrics();
    t.match(metrics, /callscreen_flood_holds_total\{signal="neighbours"\} 1/);
    t.match(metrics, /callscreen_flood_holds_total\{signal="neighbour-spoofing"\} 1/);
  });

  const agent = sandbox.SANDBOX.agents.agent101;
  const phone = { bindIp: sandbox.SANDBOX.agentIps.agent101, bindPort: 5071 };
  await t.test('agent101 registers', async (t) => {
    const reg = await runSipp({
      scenario: 'agent-register.xml',
      remote: sandbox.SANDBOX.sip,
      ...phone,
      caller: agent.user,
      text: '300',
      auth: agent,
    });
    t.same(reg.codes, [200], describeSipp(reg));
  });
  t.teardown(async () => {
    await runSipp({
      scenario: 'agent-register.xml',
      remote: sandbox.SANDBOX.sip,
      ...phone,
      caller: agent.user,
      text: '0',
      auth: agent,
    });
  });

  await t.test('*32 after a call blocks the extension’s last caller', async (t) => {
    const uas = await startSipp({ scenario: 'agent-answer-uas.xml', ...phone, count: 1, timeoutSec: 20 });
    const call = await carrier([{ caller: LAST_CALLER, did: RINGS_AGENT }]);
    t.same(call.codes, [200], `the call rang agent101, who answered: ${describeSipp(call)}`);
    const answered = await uas.done;
    t.ok(
      answered.records.some((r) => r.kind === 'BYE'),
      'agent101 had the call',
    );
    t.equal(await sandbox.astdbGet('CALLTRACE', '101'), LAST_CALLER, 'the dialplan recorded the last caller');

    const code = await runSipp({
      scenario: 'agent-call.xml',
      remote: sandbox.SANDBOX.sip,
      ...phone,
      bindPort: 5072,
      caller: agent.user,
      did: '*32',
      auth: agent,
      timeoutSec: 20,
    });
    t.same(code.codes, [200], `*32 answered: ${describeSipp(code)}`);
    t.ok(await until(async () => (await entryOf(LAST_CALLER)) !== undefined, 10_000, 50), 'blocked');
    t.match(await entryOf(LAST_CALLER), {
      kind: 'exact',
      createdBy: 'agent101',
      source: 'handset',
      mode: 'reject',
      reason: 'blocked from the handset (last caller)',
    });
    t.match((await s.audit.query({ actor: 'agent101', action: 'block' })).events, [
      { target: LAST_CALLER, origin: 'handset agent101' },
    ]);
    await ctx.feed.poll();
    const again = await carrier([{ caller: LAST_CALLER, did: RINGS_AGENT }]);
    t.same(again.codes, [603], `the blocked caller is rejected now: ${describeSipp(again)}`);
  });

  await t.test('*32 during a call blocks the caller on the line and hangs up', async (t) => {
    const uas = await startSipp({ scenario: 'agent-answer-dtmf-uas.xml', ...phone, count: 1, timeoutSec: 20 });
    const t0 = Date.now();
    const call = await carrier([{ caller: ON_THE_LINE, did: RINGS_AGENT }]);
    t.same(call.codes, [200], describeSipp(call));
    // inbound-call.xml hangs up itself (and logs a receive timeout) only when no BYE came in 2.5 s.
    t.notMatch(call.errors, /receive timeout/, 'Asterisk hung up the caller: the carrier did not have to');
    const pressed = await uas.done;
    t.ok(
      pressed.records.some((r) => r.kind === 'BYE'),
      `Asterisk hung up agent101's leg: ${describeSipp(pressed)}`,
    );
    t.comment(`call answered, *32 pressed, both legs hung up in ${Date.now() - t0} ms`);
    t.ok(await until(async () => (await entryOf(ON_THE_LINE)) !== undefined, 10_000, 50), 'blocked');
    t.match(await entryOf(ON_THE_LINE), {
      createdBy: 'agent101',
      source: 'handset',
      reason: 'blocked from the handset (caller on the line)',
    });
  });
});

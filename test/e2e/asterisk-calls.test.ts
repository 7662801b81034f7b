// The daemon's FastAGI server behind a real Asterisk 22 (scripts/pbx-sandbox), driven by SIPp
// playing the carrier and the agents' phones. Proves the dialplan contract end to end: reject
// with the org's SIP code before any answer, voicemail, allow, the unidentified rule for withheld
// callers, SMS quarantined vs delivered, `callscreen calls`, and fail-open when the daemon is gone.
//
// Needs root (chroot); shares the sandbox lock with the other sandbox tests. CALLSCREEN_SKIP_SANDBOX=1 skips.
import t from 'tap';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import { demoServices, sandboxTest, startAsteriskDaemon } from '../support/asterisk-suite.js';
import { captureCli } from '../support/cli-capture.js';
import { cliActor } from '../support/harness.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { describeSipp, runSipp, startSipp, type SippResult } from '../support/sipp.js';
import { readFileSync } from 'node:fs';

t.setTimeout(10 * 60_000);

const REJECTED = '+15557770001';
const VOICEMAIL = '+15557770003';
const ALLOWED = '+15557770004';
const SMS_BLOCKED = '+15557770666';

const inbound = (caller: string, did: string, scenario = 'inbound-call.xml'): Promise<SippResult> =>
  runSipp({ scenario, remote: sandbox.SANDBOX.sip, bindIp: sandbox.SANDBOX.carrierIp, caller, did, timeoutSec: 20 });
const disposition = (r: SippResult): string | undefined => r.records.find((x) => x.kind === 'RESULT')?.disposition;

const cli = (argv: string[]) => captureCli(argv);

t.test('config/sandbox.toml is a valid daemon config for the sandbox', async (t) => {
  const c = new ConfigLoader().fromText(
    readFileSync(new URL('../../config/sandbox.toml', import.meta.url), 'utf8'),
    'sandbox.toml',
  );
  t.equal(c.fastagi.listen, '127.0.0.1:4573');
  t.equal(c.fastagi.default_org, 'demo');
  t.equal(c.screening.fail_mode, 'open');
});

void sandboxTest(t, 'calls and SMS through a real Asterisk', async (t) => {
  const s = await demoServices(t);
  // The org's reject code is 607 (Unwanted): the dialplan must hang up with exactly that.
  await s.orgs.updateSettings('demo', { rejectCode: 607 }, cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: REJECTED },
    { mode: 'reject', name: 'Robocaller', reason: 'spam' },
    cliActor,
  );
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: VOICEMAIL },
    { mode: 'voicemail', reason: 'ex-customer' },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'voicemail', reason: 'no caller id' }, cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: SMS_BLOCKED },
    { mode: 'reject', reason: 'sms spam' },
    cliActor,
  );

  const begun = Date.now();
  const { ctx, daemon, agiPort } = await startAsteriskDaemon(t, s);
  t.comment(`daemon and sandbox ready in ${Date.now() - begun} ms; FastAGI on ${agiPort}`);

  await t.test('a blocked caller is rejected with the org’s code, never answered', async (t) => {
    const r = await inbound(REJECTED, '+15550100');
    t.same(r.codes, [607], describeSipp(r));
    t.notOk(disposition(r), 'no 200 OK, so no disposition header');
  });

  await t.test('a voicemail-mode caller reaches voicemail', async (t) => {
    const r = await inbound(VOICEMAIL, '+15550101');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'voicemail');
  });

  await t.test('an allowed caller is answered', async (t) => {
    const r = await inbound(ALLOWED, '+15550102');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'allow');
    t.comment(`allowed call: INVITE→200 ${r.responseTimes.meanMs.toFixed(1)} ms (includes Asterisk's answer)`);
  });

  await t.test('a withheld caller meets the unidentified rule', async (t) => {
    const r = await inbound('+15557770005', '+15550103', 'inbound-call-withheld.xml');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'voicemail', 'Privacy: id → unidentified → voicemail');
  });

  await t.test('SMS: a blocked sender is quarantined and not delivered; an allowed one is delivered', async (t) => {
    const agent = sandbox.SANDBOX.agents.agent101;
    const phone = { bindIp: sandbox.SANDBOX.agentIps.agent101, bindPort: 5071 };
    const reg = await runSipp({
      scenario: 'agent-register.xml',
      remote: sandbox.SANDBOX.sip,
      ...phone,
      caller: agent.user,
      text: '120',
      auth: agent,
    });
    t.same(reg.codes, [200], `agent101 registered: ${describeSipp(reg)}`);
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
    const carrierSms = (caller: string, text: string) =>
      runSipp({
        scenario: 'carrier-message.xml',
        remote: sandbox.SANDBOX.sip,
        bindIp: sandbox.SANDBOX.carrierIp,
        caller,
        did: '+15550100',
        text,
      });

    const uas = await startSipp({ scenario: 'agent-message-uas.xml', ...phone, count: 1, timeoutSec: 15 });
    t.same((await carrierSms(ALLOWED, 'see you at 5')).codes, [202]);
    const got = await uas.done;
    t.equal(got.records.find((x) => x.kind === 'MESSAGE')?.body, 'see you at 5', 'allowed SMS delivered to agent101');

    const uas2 = await startSipp({ scenario: 'agent-message-uas.xml', ...phone, count: 1, timeoutSec: 15 });
    t.same((await carrierSms(SMS_BLOCKED, 'you won a prize')).codes, [202]);
    const orgId = ctx.index.org('demo')?.org.id ?? 0;
    let held = await ctx.quarantine.list(orgId);
    for (let i = 0; i < 40 && held.total === 0; i++) {
      await new Promise((r) => setTimeout(r, 50));
      held = await ctx.quarantine.list(orgId);
    }
    t.match(
      held.messages,
      [{ from: SMS_BLOCKED, body: 'you won a prize', deliverTo: 'pjsip:agent101' }],
      'held for supervisors',
    );
    await new Promise((r) => setTimeout(r, 1000));
    const none = await uas2.stop();
    t.same(
      none.records.filter((x) => x.kind === 'MESSAGE'),
      [],
      'the quarantined message was not delivered',
    );
  });

  await t.test('callscreen calls shows them, with the daemon’s latency', async (t) => {
    await ctx.recorder.flush();
    const r = await cli(['--db', s.dbPath, 'calls', '--org', 'demo', '--json']);
    t.equal(r.code, 0, r.err);
    const calls = (
      JSON.parse(r.out) as {
        calls: Array<{ from: string; action: string; rule: string | null; channel: string; latencyUs: number }>;
      }
    ).calls;
    t.match(
      calls.find((c) => c.from === REJECTED),
      { action: 'reject', rule: /^exact:/ },
    );
    t.match(
      calls.find((c) => c.from === VOICEMAIL),
      { action: 'voicemail' },
    );
    t.match(
      calls.find((c) => c.from === ALLOWED && c.channel === 'call'),
      { action: 'allow', rule: null },
    );
    t.match(
      calls.find((c) => c.channel === 'sms' && c.action === 'quarantine'),
      { from: /\+15557770666/ },
    );
    t.ok(
      calls.some((c) => c.rule?.startsWith('unidentified:')),
      'the withheld call is recorded with the unidentified rule',
    );
    const lat = calls
      .filter((c) => c.channel === 'call')
      .map((c) => c.latencyUs)
      .sort((a, b) => a - b);
    t.comment(`daemon screening latency for ${lat.length} calls (µs): ${lat.join(', ')}`);
    t.comment(calls.map((c) => `${c.channel} ${c.from} ${c.action} ${c.latencyUs} µs`).join('; '));
    const text = await cli(['--db', s.dbPath, 'calls', '--org', 'demo']);
    t.match(text.out, /reject\s+exact:\d+/);
  });

  await t.test('daemon stopped: calls are still answered (fail-open)', async (t) => {
    await daemon.stop();
    const r = await inbound(REJECTED, '+15550104');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'fail-open');
  });
});

// Caller identity as carriers send it (issue #16), through a real Asterisk 22 (scripts/pbx-sandbox)
// and the shipped dialplan's `id2` FastAGI argument, driven by SIPp scenarios that send STIR/SHAKEN
// verstat in the P-Asserted-Identity or the From, a Remote-Party-ID, a caller presenting one of
// the org's own DIDs, a carrier stand-in for "no caller ID", and an agent dialling 9+number.
//
// Needs root (chroot); shares the sandbox lock with the other sandbox tests. CALLSCREEN_SKIP_SANDBOX=1 skips.
import t from 'tap';
import { demoServices, sandboxTest, startAsteriskDaemon } from '../support/asterisk-suite.js';
import { cliActor } from '../support/harness.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { describeSipp, runSipp, type SippResult } from '../support/sipp.js';

t.setTimeout(10 * 60_000);

const PLAIN = '+15557780001';
const BANK = '+15557790001'; // allowed only when attested, under a blocked prefix
const BLOCKED = '+15557780666';
const STANDIN = '+266696687';
const OWN_DID = '+15550105';

const inbound = (scenario: string, caller: string, did: string, verstat = ''): Promise<SippResult> =>
  runSipp({
    scenario,
    remote: sandbox.SANDBOX.sip,
    bindIp: sandbox.SANDBOX.carrierIp,
    caller,
    did,
    text: verstat,
    timeoutSec: 20,
  });
const disposition = (r: SippResult): string | undefined => r.records.find((x) => x.kind === 'RESULT')?.disposition;

void sandboxTest(t, 'identity headers and attestation through a real Asterisk', async (t) => {
  const s = await demoServices(t);
  await s.orgs.updateSettings(
    'demo',
    { rejectCode: 607, attestationFailed: 'voicemail', standinsUnidentified: true },
    cliActor,
  );
  await s.blocklist.block(
    'demo',
    { kind: 'prefix', prefix: '+1555779' },
    { mode: 'reject', reason: 'spoofed bank range' },
    cliActor,
  );
  await s.blocklist.allow(
    'demo',
    { kind: 'exact', number: BANK },
    { name: 'Bank', requireAttestation: true },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'exact', number: BLOCKED }, { mode: 'reject', name: 'Robocaller' }, cliActor);
  await s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'voicemail', reason: 'no caller id' }, cliActor);

  const { ctx } = await startAsteriskDaemon(t, s);

  await t.test('verstat passed in the PAI: allowed, and the record shows it', async (t) => {
    const r = await inbound('inbound-call-verstat.xml', PLAIN, '+15550100', 'TN-Validation-Passed');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'allow');
  });

  await t.test('verstat failed (PAI or From): the org sends it to voicemail', async (t) => {
    const pai = await inbound('inbound-call-verstat.xml', PLAIN, '+15550101', 'TN-Validation-Failed');
    t.same(pai.codes, [200], describeSipp(pai));
    t.equal(disposition(pai), 'voicemail', 'failed in the PAI');
    const from = await inbound('inbound-call-verstat-from.xml', PLAIN, '+15550102', 'TN-Validation-Failed');
    t.same(from.codes, [200], describeSipp(from));
    t.equal(disposition(from), 'voicemail', 'failed in the From');
    const none = await inbound('inbound-call-verstat.xml', PLAIN, '+15550102', 'No-TN-Validation');
    t.equal(disposition(none), 'allow', 'not verified is not failed');
  });

  await t.test('a caller presenting our own DID: voicemail unless attested', async (t) => {
    const spoofed = await inbound('inbound-call.xml', OWN_DID, '+15550100');
    t.same(spoofed.codes, [200], describeSipp(spoofed));
    t.equal(disposition(spoofed), 'voicemail', 'no verstat: treated as spoofed');
    const attested = await inbound('inbound-call-verstat.xml', OWN_DID, '+15550100', 'TN-Validation-Passed-A');
    t.equal(disposition(attested), 'allow', 'attested A: our own number calling in');
    const levelB = await inbound('inbound-call-verstat.xml', OWN_DID, '+15550100', 'TN-Validation-Passed-B');
    t.equal(disposition(levelB), 'voicemail', 'B is not attested');
  });

  await t.test('"allow only when attested": the entry applies to an attested caller only', async (t) => {
    const attested = await inbound('inbound-call-verstat.xml', BANK, '+15550103', 'TN-Validation-Passed');
    t.same(attested.codes, [200], describeSipp(attested));
    t.equal(disposition(attested), 'allow');
    const plain = await inbound('inbound-call.xml', BANK, '+15550103');
    t.same(plain.codes, [607], `unattested: the prefix block applies: ${describeSipp(plain)}`);
  });

  await t.test('Remote-Party-ID names the caller when From is anonymous and there is no PAI', async (t) => {
    const r = await inbound('inbound-call-rpid.xml', BLOCKED, '+15550104');
    t.same(r.codes, [607], describeSipp(r));
  });

  await t.test('a carrier stand-in for "no caller ID" meets the unidentified rule', async (t) => {
    const r = await inbound('inbound-call.xml', STANDIN, '+15550106');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(disposition(r), 'voicemail');
  });

  await t.test('an agent dialling 9+number meets the block on the number (outbound policy deny)', async (t) => {
    await ctx.orgs.updateSettings('demo', { outboundPolicy: 'deny' }, cliActor);
    await ctx.feed.poll();
    const agent = sandbox.SANDBOX.agents.agent101;
    const dial = (number: string): Promise<SippResult> =>
      runSipp({
        scenario: 'agent-call.xml',
        remote: sandbox.SANDBOX.sip,
        bindIp: sandbox.SANDBOX.agentIps.agent101,
        caller: agent.user,
        did: number,
        auth: agent,
        timeoutSec: 20,
      });
    for (const number of ['+15557780666', '915557780666']) {
      const r = await dial(number);
      t.same(r.codes, [403], `${number}: refused like the number itself: ${describeSipp(r)}`);
    }
  });

  await t.test('call records show the attestation and the rule', async (t) => {
    await ctx.recorder.flush();
    const rows = await ctx.db.all<{
      from_raw: string;
      action: string;
      rule_kind: string | null;
      attestation: string | null;
      to_raw: string;
    }>("SELECT from_raw, to_raw, action, rule_kind, attestation FROM screened WHERE adapter = 'fastagi' ORDER BY id");
    t.match(
      rows.find((r) => r.from_raw === PLAIN && r.to_raw === '+15550100'),
      { action: 'allow', attestation: 'passed' },
    );
    t.match(
      rows.find((r) => r.from_raw === PLAIN && r.to_raw === '+15550101'),
      { action: 'voicemail', rule_kind: 'attestation', attestation: 'failed' },
    );
    t.match(
      rows.find((r) => r.from_raw === OWN_DID && r.attestation === null),
      { action: 'voicemail', rule_kind: 'spoofed' },
    );
    t.match(
      rows.find((r) => r.from_raw === OWN_DID && r.attestation === 'passed-A'),
      { action: 'allow', rule_kind: 'protected' },
    );
    t.match(
      rows.find((r) => r.from_raw === STANDIN),
      { action: 'voicemail', rule_kind: 'unidentified' },
    );
    const out = await ctx.db.all<{ to_raw: string; action: string; number: string }>(
      "SELECT to_raw, action, number FROM screened WHERE direction = 'outbound' ORDER BY id",
    );
    t.match(
      out,
      [
        { to_raw: '+15557780666', action: 'deny', number: '+15557780666' },
        { to_raw: '915557780666', action: 'deny', number: '+15557780666' },
      ],
      'dialled as 9+number, screened as the number',
    );
  });
});

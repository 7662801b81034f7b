// STIR/SHAKEN through a REAL FreeSWITCH 1.10.12 (scripts/fs-sandbox) and the daemon's outbound Event
// Socket (issue #16): sofia hands the P-Asserted-Identity's user part with its parameters
// (`+1555…;verstat=TN-Validation-Failed` in variable_sip_P-Asserted-Identity), which the core's
// precedence reads like every other adapter's headers. SIPp plays the carrier
// (fs-inbound-call-verstat.xml); judged by the response, the route, and the call record.
// The verstat of the From alone (fs-inbound-call-verstat-from.xml), a caller and verstat in a
// Remote-Party-ID alone (…-rpid.xml) and a PAI and a From that disagree (…-conflict.xml) are judged
// the same way against docs/caller-identity.md; what sofia put in the channel's variables for each
// is logged (t.comment) from the socket application's CHANNEL_EXECUTE event.
//
// Skips with one line where no FreeSWITCH can be had (test/support/fs-sandbox.ts); fails in CI.
import t from 'tap';
import { buildEslServer } from '../../daemon/pbx/freeswitch/esl-component.js';
import type { EslServer } from '../../daemon/pbx/freeswitch/esl-server.js';
import { cliActor, services, startDaemon } from '../support/harness.js';
import * as fs from '../support/fs-sandbox.js';
import { describeSipp, runSipp, type SippRecord, type SippResult } from '../support/sipp.js';

t.setTimeout(5 * 60_000);

const CALLER = '+15557780001';
const OWN_DID = '+15550105';
/** Blocked: proves which header the number was taken from. */
const BLOCKED = '+15557780666';

const inbound = (
  caller: string,
  did: string,
  verstat: string,
  scenario = 'fs-inbound-call-verstat.xml',
): Promise<SippResult> =>
  runSipp({ scenario, remote: fs.FS.sip, bindIp: fs.FS.carrierIp, caller, did, text: verstat, timeoutSec: 20 });
const result = (r: SippResult): SippRecord => r.records.find((x) => x.kind === 'RESULT') ?? { kind: 'none' };

const skip = await fs.skipReason();

t.test('attestation through a real FreeSWITCH', { skip: skip ?? false }, async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', fs.FS.dids, cliActor);
  await s.orgs.updateSettings('demo', { rejectCode: 607, attestationFailed: 'reject' }, cliActor);
  await s.blocklist.block('demo', { kind: 'exact', number: BLOCKED }, { mode: 'reject', name: 'Robocaller' }, cliActor);
  let server: EslServer | undefined;
  const { ctx } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    toml: '[esl]\nenabled = true\nlisten = "127.0.0.1:0"',
    components: (c) => [(server = buildEslServer(c))],
  });
  if (!server) throw new Error('no ESL server');
  await fs.start({ esl: server.address(), failMode: 'open' });
  t.teardown(() => fs.stop());
  const events = await fs.FsEvents.connect(['CHANNEL_EXECUTE']);
  t.teardown(() => events.close());
  /** What sofia exposed of the identity headers to the socket application (the daemon's view). */
  const channelData = async (r: SippResult): Promise<Record<string, string>> => {
    const callId = result(r).callid ?? '';
    const e = await events.waitFor(
      (x) => x.headers['variable_sip_call_id'] === callId && x.headers['Application'] === 'socket',
    );
    const out: Record<string, string> = {};
    for (const [k, v] of Object.entries(e?.headers ?? {}))
      if (
        /verstat|remote-party|p-asserted|full_from|from_user|^Caller-Caller-ID-Number$|sip_i_|sip_h_|privacy/i.test(k)
      )
        out[k] = v;
    return out;
  };

  await t.test('verstat failed: the org rejects it before answer', async (t) => {
    const r = await inbound(CALLER, '+15550100', 'TN-Validation-Failed');
    t.same(r.codes, [607], describeSipp(r));
  });

  await t.test('verstat passed: the DID route', async (t) => {
    const r = await inbound(CALLER, '+15550101', 'TN-Validation-Passed');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(result(r).route, 'allow');
  });

  await t.test('our own DID presented: attested goes on, unattested does not', async (t) => {
    const attested = await inbound(OWN_DID, '+15550102', 'TN-Validation-Passed-A');
    t.same(attested.codes, [200], describeSipp(attested));
    t.equal(result(attested).route, 'allow');
    const spoofed = await inbound(OWN_DID, '+15550102', '', 'fs-inbound-call.xml');
    t.same(spoofed.codes, [200], describeSipp(spoofed));
    t.equal(result(spoofed).route, '', 'not the DID route: sent to voicemail');
  });

  await t.test('verstat only in the From: read from the From (rank 2 of the attestation)', async (t) => {
    const failed = await inbound(CALLER, '+15550103', 'TN-Validation-Failed', 'fs-inbound-call-verstat-from.xml');
    t.same(failed.codes, [607], describeSipp(failed));
    t.comment(`channel data: ${JSON.stringify(await channelData(failed))}`);
    const passed = await inbound(CALLER, '+15550104', 'TN-Validation-Passed', 'fs-inbound-call-verstat-from.xml');
    t.same(passed.codes, [200], describeSipp(passed));
    t.equal(result(passed).route, 'allow');
  });

  await t.test('caller and verstat only in a Remote-Party-ID: the number from it, the verstat not read', async (t) => {
    const blocked = await inbound(BLOCKED, '+15550109', 'TN-Validation-Passed', 'fs-inbound-call-verstat-rpid.xml');
    t.same(blocked.codes, [607], `the Remote-Party-ID's number is screened (blocked): ${describeSipp(blocked)}`);
    const failed = await inbound(CALLER, '+15550106', 'TN-Validation-Failed', 'fs-inbound-call-verstat-rpid.xml');
    t.comment(`channel data: ${JSON.stringify(await channelData(failed))}`);
    t.same(failed.codes, [200], `a verstat in a Remote-Party-ID is no attestation: ${describeSipp(failed)}`);
    t.equal(result(failed).route, 'allow');
  });

  await t.test('PAI and From disagree: the PAI wins', async (t) => {
    const passed = await inbound(CALLER, '+15550107', 'TN-Validation-Passed', 'fs-inbound-call-verstat-conflict.xml');
    t.comment(`channel data: ${JSON.stringify(await channelData(passed))}`);
    t.same(passed.codes, [200], `PAI passed, From failed: ${describeSipp(passed)}`);
    t.equal(result(passed).route, 'allow');
    const none = await inbound(CALLER, '+15550108', 'No-TN-Validation', 'fs-inbound-call-verstat-conflict.xml');
    t.same(none.codes, [200], `PAI no-validation, From failed: ${describeSipp(none)}`);
    t.equal(result(none).route, 'allow');
  });

  await t.test('the records show the attestation', async (t) => {
    await ctx.recorder.flush();
    const rows = await ctx.db.all<{
      from_raw: string;
      to_raw: string;
      action: string;
      rule_kind: string | null;
      attestation: string | null;
    }>("SELECT from_raw, to_raw, action, rule_kind, attestation FROM screened WHERE adapter = 'esl' ORDER BY id");
    t.comment(JSON.stringify(rows));
    t.match(
      rows.find((r) => r.to_raw === '+15550100'),
      { from_raw: CALLER, action: 'reject', rule_kind: 'attestation', attestation: 'failed' },
    );
    t.match(
      rows.find((r) => r.to_raw === '+15550101'),
      { action: 'allow', attestation: 'passed' },
    );
    t.match(
      rows.find((r) => r.from_raw === OWN_DID && r.attestation === 'passed-A'),
      { action: 'allow', rule_kind: 'protected' },
    );
    t.match(
      rows.find((r) => r.from_raw === OWN_DID && r.attestation === null),
      { action: 'voicemail', rule_kind: 'spoofed' },
    );
    const at = (did: string) => rows.find((r) => r.to_raw === did);
    t.match(
      at('+15550103'),
      { from_raw: CALLER, action: 'reject', rule_kind: 'attestation', attestation: 'failed' },
      'From only, failed',
    );
    t.match(at('+15550104'), { from_raw: CALLER, action: 'allow', attestation: 'passed' }, 'From only, passed');
    t.match(at('+15550109'), { from_raw: BLOCKED, action: 'reject', rule_kind: 'exact' }, 'RPID: its number');
    t.match(at('+15550106'), { from_raw: CALLER, action: 'allow', attestation: null }, 'RPID: no attestation');
    t.match(at('+15550107'), { action: 'allow', attestation: 'passed' }, 'conflict: the PAI’s passed');
    t.match(at('+15550108'), { action: 'allow', attestation: 'no-validation' }, 'conflict: the PAI’s no-validation');
  });
});

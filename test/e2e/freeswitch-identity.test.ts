// STIR/SHAKEN through a REAL FreeSWITCH 1.10.12 (scripts/fs-sandbox) and the daemon's outbound Event
// Socket (issue #16): sofia hands the P-Asserted-Identity's user part with its parameters
// (`+1555…;verstat=TN-Validation-Failed` in variable_sip_P-Asserted-Identity), which the core's
// precedence reads like every other adapter's headers. SIPp plays the carrier
// (fs-inbound-call-verstat.xml); judged by the response, the route, and the call record.
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
  let server: EslServer | undefined;
  const { ctx } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    toml: '[esl]\nenabled = true\nlisten = "127.0.0.1:0"',
    components: (c) => [(server = buildEslServer(c))],
  });
  if (!server) throw new Error('no ESL server');
  await fs.start({ esl: server.address(), failMode: 'open' });
  t.teardown(() => fs.stop());

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
  });
});

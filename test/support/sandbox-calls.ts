/**
 * Calls into the PBX sandbox (scripts/pbx-sandbox) from its carrier side, as the real-Asterisk
 * suites place them: SIPp bound to the carrier's IP, one call to one DID, 20 s at most (SIPp's
 * -timeout), and what the dialplan did with it as its scenario logged it.
 */
import * as sandbox from './pbx-sandbox.js';
import { runSipp, type ScenarioName, type SippResult } from './sipp.js';

/** One call from `caller` to `did` through the sandbox, as the carrier sends it. */
export const inbound = (
  caller: string,
  did: string,
  scenario: ScenarioName = 'inbound-call.xml',
): Promise<SippResult> =>
  runSipp({ scenario, remote: sandbox.SANDBOX.sip, bindIp: sandbox.SANDBOX.carrierIp, caller, did, timeoutSec: 20 });

/** The disposition the scenario's RESULT line logged (allow, voicemail, …); undefined when it logged none. */
export const disposition = (r: SippResult): string | undefined =>
  r.records.find((x) => x.kind === 'RESULT')?.disposition;

// Issue #16's handset feature codes through a REAL FreeSWITCH 1.10.12 (scripts/fs-sandbox), whose
// dialplan is the snippets we ship (config/freeswitch/dialplan-callscreen-handset*.xml), driven by
// SIPp playing the carrier and the agents' phones:
// - *32 after a call blocks the extension's last caller (remembered by the snippet in mod_db),
//   audited as the agent; an agent who may not block gets a block request queued instead;
// - *32 pressed during a call (RFC 2833 in the RTP stream, or SIP INFO) blocks the caller on the
//   line, and FreeSWITCH hangs the call up;
// - with the daemon down, *32 still ends with a tone (refused) and nothing else happens.
// Judged by what FreeSWITCH really did (its events and mod_db), the SIP the phones saw, and the
// daemon's store. Skips with one line where no FreeSWITCH can be had (test/support/fs-sandbox.ts);
// fails in CI.
import t from 'tap';
import { UserService } from '../../daemon/admin/user-service.js';
import { buildEslServer } from '../../daemon/pbx/freeswitch/esl-component.js';
import type { EslServer } from '../../daemon/pbx/freeswitch/esl-server.js';
import { cliActor, services, startDaemon, until } from '../support/harness.js';
import * as fs from '../support/fs-sandbox.js';
import { describeSipp, runSipp, startSipp, type SippRecord, type SippResult } from '../support/sipp.js';

t.setTimeout(5 * 60_000);

/** Ring agent101 and agent102 (the sandbox's stand-in routing, after callscreen_ring_<user>). */
const RINGS_101 = '+15550201';
const RINGS_102 = '+15550202';
const LAST_CALLER = '+17185550133';
const ASKED_CALLER = '+17185550144';
const ON_THE_LINE = '+19175550155';
const INFO_CALLER = '+19175550166';

const record = (r: SippResult, kind: string): SippRecord | undefined => r.records.find((x) => x.kind === kind);

const skip = await fs.skipReason();

t.test('handset feature codes through a real FreeSWITCH', { skip: skip ?? false }, async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', [...fs.FS.dids, RINGS_101, RINGS_102], cliActor);
  await s.flood.set('demo', { enabled: false }, cliActor);
  const users = new UserService(s.db, s.orgs, s.audit, s.clock, { N: 1024, r: 8, p: 1 });
  // agent101 may block (supervisor); agent102 is an agent in an org where agents may not block.
  await users.add('agent101', 'supervisor', ['demo'], 'agent101-password', cliActor);
  await users.add('agent102', 'agent', ['demo'], 'agent102-password', cliActor);

  let server: EslServer | undefined;
  const { ctx, daemon } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    toml: '[esl]\nenabled = true\nlisten = "127.0.0.1:0"',
    components: (c) => [(server = buildEslServer(c))],
  });
  if (!server) throw new Error('no ESL server');
  const port = Number(server.address().split(':')[1]);
  const begun = Date.now();
  await fs.start({ esl: `127.0.0.1:${port}`, failMode: 'open' });
  t.teardown(() => fs.stop());
  const events = await fs.FsEvents.connect();
  t.teardown(() => events.close());
  t.comment(`FreeSWITCH ready in ${Date.now() - begun} ms; daemon's Event Socket on ${port}`);

  /** Whether FreeSWITCH ran this application with this data (CHANNEL_EXECUTE), on any call. */
  const ran = (app: string, data: string): boolean =>
    events.events.some(
      (e) =>
        e.headers['Event-Name'] === 'CHANNEL_EXECUTE' &&
        e.headers['Application'] === app &&
        e.headers['Application-Data'] === data,
    );
  const entryOf = async (n: string) =>
    (await s.blocklist.list('demo', { search: n.slice(2) })).entries.find((e) => e.value === n);
  const carrier = (caller: string, did: string): Promise<SippResult> =>
    runSipp({
      scenario: 'fs-inbound-call.xml',
      remote: fs.FS.sip,
      bindIp: fs.FS.carrierIp,
      caller,
      did,
      timeoutSec: 20,
    });
  const phones = {
    agent101: { bindIp: fs.FS.agentIps.agent101, bindPort: 5071 },
    agent102: { bindIp: fs.FS.agentIps.agent102, bindPort: 5071 },
  } as const;
  const featureCode = (agent: 'agent101' | 'agent102'): Promise<SippResult> =>
    runSipp({
      scenario: 'fs-agent-feature-code.xml',
      remote: fs.FS.internal,
      bindIp: phones[agent].bindIp,
      bindPort: 5072,
      caller: agent,
      did: '*32',
      auth: fs.FS.agents[agent],
      timeoutSec: 20,
    });

  for (const agent of ['agent101', 'agent102'] as const) {
    const reg = await runSipp({
      scenario: 'agent-register.xml',
      remote: fs.FS.internal,
      ...phones[agent],
      caller: agent,
      text: '300',
      auth: fs.FS.agents[agent],
    });
    t.same(reg.codes, [200], `${agent} registered: ${describeSipp(reg)}`);
    t.teardown(() =>
      runSipp({
        scenario: 'agent-register.xml',
        remote: fs.FS.internal,
        ...phones[agent],
        caller: agent,
        text: '0',
        auth: fs.FS.agents[agent],
      }),
    );
  }

  await t.test('*32 after a call blocks the extension’s last caller, as the agent', async (t) => {
    const uas = await startSipp({ scenario: 'agent-answer-uas.xml', ...phones.agent101, count: 1, timeoutSec: 20 });
    const call = await carrier(LAST_CALLER, RINGS_101);
    t.same(call.codes, [200], `the call rang agent101, who answered: ${describeSipp(call)}`);
    const answered = await uas.done;
    t.ok(record(answered, 'CALL'), `agent101 had the call: ${describeSipp(answered)}`);
    t.match(
      await fs.cli('db select/callscreen_calltrace/agent101'),
      LAST_CALLER,
      'the snippet remembered the last caller in mod_db',
    );

    const code = await featureCode('agent101');
    t.same(code.codes, [200], `*32 answered: ${describeSipp(code)}`);
    t.ok(record(code, 'BYE'), 'FreeSWITCH played the result and hung up itself');
    t.ok(await until(async () => (await entryOf(LAST_CALLER)) !== undefined, 10_000, 50), 'blocked');
    t.match(await entryOf(LAST_CALLER), {
      kind: 'exact',
      createdBy: 'agent101',
      source: 'handset',
      reason: 'blocked from the handset (last caller)',
    });
    t.match((await s.audit.query({ actor: 'agent101', action: 'block' })).events, [
      { target: LAST_CALLER, origin: 'handset agent101' },
    ]);
    t.ok(
      ran('execute_extension', 'callscreen_handset_say_blocked XML callscreen_handset'),
      'the dialplan read callscreen_block_result=blocked',
    );
    t.ok(ran('playback', 'tone_stream://%(300,0,800)'), 'and the phone heard the one-beep tone');

    await ctx.feed.poll();
    const again = await carrier(LAST_CALLER, RINGS_101);
    t.same(again.codes, [603], `the blocked caller is rejected now, before any phone rings: ${describeSipp(again)}`);
  });

  await t.test('an agent who may not block: *32 queues a block request for an admin, nothing is blocked', async (t) => {
    const uas = await startSipp({ scenario: 'agent-answer-uas.xml', ...phones.agent102, count: 1, timeoutSec: 20 });
    const call = await carrier(ASKED_CALLER, RINGS_102);
    t.same(call.codes, [200], describeSipp(call));
    await uas.done;
    const code = await featureCode('agent102');
    t.same(code.codes, [200], describeSipp(code));
    t.ok(
      await until(async () => (await ctx.handset.list('demo')).some((r) => r.number === ASKED_CALLER), 10_000, 50),
      'a block request',
    );
    t.match(
      (await ctx.handset.list('demo')).find((r) => r.number === ASKED_CALLER),
      { requestedBy: 'agent102', origin: 'handset agent102', status: 'pending', why: /agents may block/ },
    );
    t.equal(await entryOf(ASKED_CALLER), undefined, 'not blocked');
    t.match((await s.audit.query({ actor: 'agent102', action: 'block.request' })).events, [{ target: ASKED_CALLER }]);
    t.ok(
      ran('execute_extension', 'callscreen_handset_say_queued XML callscreen_handset'),
      'the dialplan read callscreen_block_result=queued',
    );
    t.ok(ran('playback', 'tone_stream://%(150,150,800);loops=2'), 'and the phone heard the two-beep tone');
  });

  await t.test('*32 during a call blocks the caller on the line and FreeSWITCH hangs up', async (t) => {
    const uas = await startSipp({
      scenario: 'fs-agent-answer-dtmf-uas.xml',
      ...phones.agent101,
      count: 1,
      timeoutSec: 20,
    });
    const t0 = Date.now();
    const call = await carrier(ON_THE_LINE, RINGS_101);
    t.same(call.codes, [200], describeSipp(call));
    const pressed = await uas.done;
    t.ok(record(pressed, 'BYE'), `FreeSWITCH hung up agent101's leg: ${describeSipp(pressed)}`);
    const callId = record(call, 'RESULT')?.callid ?? '';
    const end = await events.hangupOf(callId);
    t.equal(
      end?.headers['Hangup-Cause'],
      'CALL_REJECTED',
      'the caller’s leg was ended by the snippet (uuid_kill … CALL_REJECTED)',
    );
    t.equal(
      end?.headers['variable_sip_hangup_disposition'],
      'send_bye',
      'FreeSWITCH sent the carrier its BYE: the carrier did not hang up',
    );
    t.ok(
      ran('execute_extension', 'callscreen_handset_end_blocked XML callscreen_handset'),
      'the dialplan read callscreen_block_result=blocked',
    );
    t.comment(`call answered, *32 pressed, both legs hung up in ${Date.now() - t0} ms`);
    t.ok(await until(async () => (await entryOf(ON_THE_LINE)) !== undefined, 10_000, 50), 'blocked');
    t.match(await entryOf(ON_THE_LINE), {
      createdBy: 'agent101',
      source: 'handset',
      reason: 'blocked from the handset (caller on the line)',
    });
    t.ok(await until(async () => (await fs.channels()) === 0, 10_000), 'no channel left in FreeSWITCH');
  });

  await t.test('*32 during a call as SIP INFO digits (a phone set to INFO) does the same', async (t) => {
    const uas = await startSipp({
      scenario: 'agent-answer-dtmf-uas.xml',
      ...phones.agent101,
      count: 1,
      timeoutSec: 20,
    });
    const call = await carrier(INFO_CALLER, RINGS_101);
    t.same(call.codes, [200], describeSipp(call));
    const pressed = await uas.done;
    t.ok(record(pressed, 'BYE'), `FreeSWITCH hung up agent101's leg: ${describeSipp(pressed)}`);
    const end = await events.hangupOf(record(call, 'RESULT')?.callid ?? '');
    t.equal(end?.headers['Hangup-Cause'], 'CALL_REJECTED');
    t.ok(await until(async () => (await entryOf(INFO_CALLER)) !== undefined, 10_000, 50), 'blocked');
  });

  await t.test('daemon down: *32 still answers, with the refused tone, and blocks nothing', async (t) => {
    await daemon.stop();
    const code = await featureCode('agent101');
    t.same(code.codes, [200], describeSipp(code));
    t.ok(record(code, 'BYE'), 'FreeSWITCH hung up itself');
    t.ok(
      ran('execute_extension', 'callscreen_handset_say_ XML callscreen_handset'),
      'no callscreen_block_result: the socket returned without one',
    );
    t.ok(ran('playback', 'tone_stream://%(600,0,400)'), 'the low tone');
  });
});

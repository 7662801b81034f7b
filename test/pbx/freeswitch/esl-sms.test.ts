// FreeSWITCH SMS screening through the chatplan, end to end inside the daemon: a real daemon (SQLite
// file, screening index, quarantine) whose PBX links come from main.ts buildPbxLinks with
// [esl_inbound] enabled, logged in to test/support/fake-freeswitch-inbound.ts (FreeSWITCH's
// mod_event_socket inbound side in its wire format). The fake fires MESSAGE events the way the
// chatplan snippet's `fire` does; the tests assert on the commands it recorded and on database rows.
import { ManualClock } from '../../support/manual-clock.js';
import t, { type Test } from 'tap';
import { Daemon, buildPbxLinks, type PbxLinks } from '../../../daemon/main.js';
import type { DaemonContext } from '../../../daemon/daemon-context.js';
import { EslInboundClient } from '../../../daemon/pbx/freeswitch/esl-inbound-client.js';
import { readChatMessage } from '../../../daemon/pbx/freeswitch/esl-chat-message.js';
import { EslSmsScreener, type EslSmsOutcome } from '../../../daemon/pbx/freeswitch/esl-sms-screener.js';
import { captureLogger, cliActor, services, testConfig } from '../../support/harness.js';
import { chatplanMessage, FakeFreeswitchInbound } from '../../support/fake-freeswitch-inbound.js';
import { listAttestedBank } from '../../support/attested-bank.js';
import { bounded } from '../../support/bounded-wait.js';

const PASSWORD = 'fs-inbound-pw-5521';

interface Rig {
  ctx: DaemonContext;
  daemon: Daemon;
  fake: FakeFreeswitchInbound;
  sms: EslSmsScreener;
  lines: Array<Record<string, unknown>>;
  orgId: number;
  /** `p`, or a failure naming `step` and what the rig saw, if it has not settled within 60 s (a hang). */
  bound<T>(step: string, p: Promise<T>): Promise<T>;
}

/** What a rig can see, for the message of a wait that never ended. */
function seen(
  links: PbxLinks | undefined,
  fake: FakeFreeswitchInbound,
  lines: ReadonlyArray<Record<string, unknown>>,
): unknown {
  const client = links?.components.find((c): c is EslInboundClient => c instanceof EslInboundClient);
  const sms = links?.components.find((c): c is EslSmsScreener => c instanceof EslSmsScreener);
  return {
    link: client?.status(),
    screener: sms?.health().detail,
    fake: { connections: fake.connections, received: fake.received.slice(-12).map((c) => `#${c.conn} ${c.line}`) },
    log: lines.slice(-20).map((l) => `${typeof l.component === 'string' ? l.component : '-'} ${String(l.msg)}`),
  };
}

async function rig(t: Test, toml = ''): Promise<Rig> {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100', '+15550101'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', name: 'Spam Inc', reason: 'robocalls' },
    cliActor,
  );
  const fake = new FakeFreeswitchInbound({ password: PASSWORD });
  await fake.listen();
  const { logger, lines } = captureLogger('debug');
  let links: PbxLinks | undefined;
  const config = testConfig(
    s.dbPath,
    `[esl_inbound]\nenabled = true\nport = ${fake.port}\npassword = "${PASSWORD}"\n${toml}`,
  );
  const daemon = new Daemon(config, logger, {
    clock: s.clock,
    timers: new ManualClock(),
    components: () => [],
    pbxLinks: (...args) => (links = buildPbxLinks(...args)),
  });
  const bound = <T>(step: string, p: Promise<T>): Promise<T> =>
    bounded(step, p, { state: () => seen(links, fake, lines) });
  const ctx = await bound('daemon started', daemon.start());
  t.teardown(async () => {
    // The fake closed even when the stop fails: its listening socket would keep the process alive
    // (a failed stop once became a hang until tap's 600 s timeout instead of one failure).
    try {
      await bound('daemon stopped', daemon.stop());
    } finally {
      await fake.close();
    }
  });
  const sms = links?.components.find((c): c is EslSmsScreener => c instanceof EslSmsScreener);
  const client = links?.components.find((c): c is EslInboundClient => c instanceof EslInboundClient);
  if (!sms || !client) throw new Error('no SMS screener or Event Socket client among the PBX links');
  await bound(
    'Event Socket client connected',
    new Promise<void>((resolve) => {
      if (client.currentState === 'connected') {
        resolve();
        return;
      }
      const off = client.onState((st) => {
        if (st !== 'connected') return;
        off();
        resolve();
      });
    }),
  );
  // Logged in is not screening yet: the watchdog switches the chatplan over once its task is armed.
  await bound(
    'watchdog switched screening on (api global_setvar callscreen_sms=screen)',
    fake.waitFor((c) => c.line === 'api global_setvar callscreen_sms=screen'),
  );
  const org = ctx.index.org('demo');
  if (!org) throw new Error('no org');
  return { ctx, daemon, fake, sms, lines, orgId: org.org.id, bound };
}

/** The next outcome of the rig's screener (listening from now), bounded: a lost message fails naming `step`. */
const outcome = (r: Rig, step = 'outcome of the message'): Promise<EslSmsOutcome> =>
  r.bound(
    step,
    new Promise((resolve) => {
      const off = r.sms.onOutcome((o) => {
        off();
        resolve(o);
      });
    }),
  );

interface QuarantineRow {
  id: number;
  org_id: number;
  from_raw: string;
  from_number: string;
  to_number: string;
  body: string;
  deliver_to: string;
  entry_id: number | null;
  adapter: string;
  status: string;
}

const spam = (over: Record<string, string> = {}): Record<string, string> =>
  chatplanMessage({
    from: '+15557770001@carrier.example',
    from_user: '+15557770001',
    from_full: '"Spam" <sip:+15557770001@carrier.example>;tag=zz1',
    ...over,
  });

t.test(
  'blocked sender: held in quarantine with where it was going; nothing goes back to FreeSWITCH; recorded and logged',
  async (t) => {
    const r = await rig(t);
    t.same(
      r.fake.received.map((c) => c.line),
      [
        `auth ${PASSWORD}`,
        'event plain MESSAGE',
        'filter callscreen screen',
        'api sched_del callscreen_watchdog',
        'api sched_api +15 callscreen_watchdog global_setvar callscreen_sms=off',
        'api global_setvar callscreen_sms=screen',
      ],
      'recorded exchange: login, MESSAGE events through the chatplan marker filter, the watchdog armed, then screening switched on for the chatplan',
    );
    const mark = r.fake.received.length;
    const got = outcome(r);
    const headers = spam();
    t.equal(r.fake.sendEvent(headers, 'WIN A PRIZE\nreply YES'), 1);
    const o = await got;
    t.match(o, {
      outcome: 'held',
      direction: 'inbound',
      verdict: { action: 'quarantine', normalized: '+15557770001' },
    });
    const row = await r.ctx.db.get<QuarantineRow>('SELECT * FROM quarantine WHERE id = ?', [o.quarantineId ?? -1]);
    t.match(
      row,
      {
        org_id: r.orgId,
        from_raw: '"Spam" <sip:+15557770001@carrier.example>;tag=zz1',
        from_number: '+15557770001',
        to_number: '+15550100',
        body: 'WIN A PRIZE\nreply YES',
        deliver_to: 'sip/external/+15550100@pbx.example',
        adapter: 'esl-sms',
        status: 'held',
      },
      'the database row: who sent it, to which DID, the text, and where FreeSWITCH was delivering it',
    );
    t.type(row?.entry_id, 'number', 'linked to the block entry');
    t.same(r.fake.received.slice(mark), [], 'not sent on: the chatplan stopped it and the daemon did not re-inject it');

    await r.ctx.recorder.flush();
    const records = await r.ctx.recorder.recent(r.orgId, 10);
    t.match(records[0], {
      adapter: 'esl-sms',
      action: 'quarantine',
      channel: 'sms',
      call_id: `${String(headers['Core-UUID'])}:${String(headers['Event-Sequence'])}`,
    });
    t.match(
      r.lines.find((l) => l.msg === 'message held'),
      {
        org: 'demo',
        from: '+15557770001',
        to: '+15550100',
        verdict: 'quarantine',
        callId: o.id,
        quarantineId: o.quarantineId,
      },
      'one log line with org, call id, from, to and verdict',
    );
  },
);

t.test(
  'allowed sender: re-injected as SMS::SEND_MESSAGE with its own headers, marked screened, body byte for byte',
  async (t) => {
    const r = await rig(t);
    const mark = r.fake.received.length;
    const got = outcome(r);
    const body = 'Hello 👋\n\nsecond paragraph';
    r.fake.sendEvent(chatplanMessage(), body);
    t.match(await got, { outcome: 'delivered', verdict: { action: 'allow' } });
    const cmd = await r.bound(
      'sendevent CUSTOM of the allowed message',
      r.fake.waitFor((c) => c.line === 'sendevent CUSTOM', mark),
    );
    t.same(
      cmd.headers,
      {
        'Event-Subclass': 'SMS::SEND_MESSAGE',
        dest_proto: 'sip',
        login: 'sip:mod_sofia@198.51.100.1:5080',
        proto: 'sip',
        to_proto: 'sip',
        from: '+15550000000@carrier.example',
        from_user: '+15550000000',
        from_host: 'carrier.example',
        to_user: '+15550100',
        to_host: 'pbx.example',
        from_sip_ip: '198.51.100.7',
        from_sip_port: '5060',
        to: '+15550100@pbx.example',
        subject: 'SIMPLE MESSAGE',
        context: 'public',
        type: 'text/plain',
        from_full: '"Some Sender" <sip:+15550000000@carrier.example>;tag=8h2Kx9',
        sip_profile: 'external',
        max_forwards: '69',
        callscreen: 'screened',
        'Content-Length': String(Buffer.byteLength(body)),
      },
      'what the chatplan had, minus what FreeSWITCH stamps on fired events; dest_proto as `send` would use it',
    );
    t.equal(cmd.body, body);
    t.equal(r.fake.received.slice(mark).length, 1, 'one command per message');
  },
);

t.test(
  'release from quarantine: delivered with sendevent to where it was going, from the original sender; the row says released',
  async (t) => {
    const r = await rig(t);
    const got = outcome(r);
    r.fake.sendEvent(spam(), 'please call back');
    const o = await got;
    const mark = r.fake.received.length;
    const released = await r.bound('release', r.ctx.quarantine.release(r.orgId, o.quarantineId ?? -1, cliActor));
    t.match(released, { status: 'released', releasedBy: 'tester' });
    const cmd = await r.bound(
      'sendevent CUSTOM of the released message',
      r.fake.waitFor((c) => c.line === 'sendevent CUSTOM', mark),
    );
    t.same(
      cmd.headers,
      {
        'Event-Subclass': 'SMS::SEND_MESSAGE',
        dest_proto: 'sip',
        proto: 'sip',
        from: '+15557770001@carrier.example',
        from_user: '+15557770001',
        from_host: 'carrier.example',
        from_full: '"Spam" <sip:+15557770001@carrier.example>',
        to: 'external/+15550100@pbx.example',
        type: 'text/plain',
        callscreen: 'screened',
        'Content-Length': '16',
      },
      'sofia profile kept in `to`; the From tag of the old request dropped',
    );
    t.equal(cmd.body, 'please call back');
  },
);

t.test('release while FreeSWITCH is down: CS_ERR_UNAVAILABLE and the message stays held', async (t) => {
  const r = await rig(t);
  const got = outcome(r);
  r.fake.sendEvent(spam(), 'x');
  const o = await got;
  await r.bound('FreeSWITCH down', r.fake.down());
  await t.rejects(r.bound('release refused', r.ctx.quarantine.release(r.orgId, o.quarantineId ?? -1, cliActor)), {
    code: 'CS_ERR_UNAVAILABLE',
  });
  t.match(await r.ctx.quarantine.get(r.orgId, o.quarantineId ?? -1), { status: 'held' });
});

t.test('agent texting a blocked number: sent on, and warned over api chat', async (t) => {
  const r = await rig(t);
  await r.ctx.orgs.updateSettings('demo', { outboundPolicy: 'warn' }, cliActor);
  await r.ctx.feed.poll();
  const mark = r.fake.received.length;
  const got = outcome(r);
  r.fake.sendEvent(
    chatplanMessage({
      context: 'default',
      sip_profile: 'internal',
      from: '1001@pbx.example',
      from_user: '1001',
      from_host: 'pbx.example',
      from_full: '<sip:1001@pbx.example>;tag=q1',
      to_user: '5557770001',
      to: 'sip:+15557770001@carrier.example',
      callscreen_direction: 'outbound',
    }),
    'are you there?',
  );
  t.match(await got, {
    outcome: 'delivered',
    direction: 'outbound',
    verdict: { action: 'warn', normalized: '+15557770001' },
  });
  const chat = await r.bound(
    'api chat warning the agent',
    r.fake.waitFor((c) => c.line.startsWith('api chat '), mark),
  );
  t.equal(
    chat.line,
    'api chat sip|callscreen@localhost|1001@pbx.example|callscreen: You are texting +15557770001 (Spam Inc), which is on the block list. Reason: robocalls. The message was sent.',
  );
  const sent = await r.bound(
    "sendevent CUSTOM of the agent's message",
    r.fake.waitFor((c) => c.line === 'sendevent CUSTOM', mark),
  );
  t.match(sent.headers, {
    dest_proto: 'sip',
    to: 'sip:+15557770001@carrier.example',
    callscreen: 'screened',
    callscreen_direction: 'outbound',
  });
  t.equal(sent.body, 'are you there?');
  await r.bound('SMS screener stopped', r.sms.stop()); // waits for the warning in hand (it does not hold up the message)
  t.match(
    r.lines.find((l) => l.msg === 'agent warned'),
    { endpoint: '1001@pbx.example', number: '+15557770001', action: 'warn' },
  );
});

t.test('no org for the DID: fail open sends it on; fail closed neither sends nor stores it', async (t) => {
  const open = await rig(t);
  let got = outcome(open);
  open.fake.sendEvent(
    chatplanMessage({ from_user: '+15557770001', to_user: '+15559999999', to: '+15559999999@pbx.example' }),
    'a',
  );
  t.match(await got, { outcome: 'delivered', verdict: { action: 'allow', failMode: 'open' } });
  t.equal(open.fake.named('sendevent').length, 1);

  const closed = await rig(t, '[screening]\nfail_mode = "closed"\n');
  got = outcome(closed);
  closed.fake.sendEvent(chatplanMessage({ to_user: '+15559999999', to: '+15559999999@pbx.example' }), 'b');
  t.match(await got, { outcome: 'dropped', verdict: { action: 'quarantine', failMode: 'closed' } });
  t.equal(closed.fake.named('sendevent').length, 0);
  t.equal(
    (await closed.ctx.db.get<{ c: number }>('SELECT count(*) AS c FROM quarantine'))?.c,
    0,
    'no org to hold it for',
  );
  t.ok(closed.lines.some((l) => l.msg === 'message not delivered: fail closed and no organisation to hold it for'));
});

t.test('FreeSWITCH refusing an allowed message back: held, so that it is not lost', async (t) => {
  const r = await rig(t);
  r.fake.sendeventReply = () => '-ERR event not fired';
  const got = outcome(r);
  r.fake.sendEvent(chatplanMessage(), 'important');
  const o = await got;
  t.match(o, { outcome: 'held', verdict: { action: 'allow' } });
  t.match(await r.ctx.quarantine.get(r.orgId, o.quarantineId ?? -1), {
    status: 'held',
    body: 'important',
    from: '+15550000000',
  });
  t.match(
    r.lines.find((l) => l.msg === 'message could not be sent on; held so that it is not lost'),
    { error: /FreeSWITCH refused it: -ERR event not fired/ },
  );
});

t.test("FreeSWITCH's own delivery-report copies are not screened again", async (t) => {
  const r = await rig(t);
  const got = outcome(r);
  const report = chatplanMessage({ 'Nonblocking-Delivery': 'true' });
  const real = chatplanMessage();
  r.fake.sendEvent(report, 'copy');
  r.fake.sendEvent(real, 'original');
  const o = await got;
  t.equal(
    o.id,
    `${String(real['Core-UUID'])}:${String(real['Event-Sequence'])}`,
    'the first outcome is the real message: the report was skipped',
  );
  t.equal(r.sms.counters.messages, 1);
});

t.test(
  'clean stop: screening switched off in the chatplan (open) or to refusing (closed), the watchdog task deleted; then exit',
  async (t) => {
    const open = await rig(t);
    await open.bound('daemon stopped (open)', open.daemon.stop());
    t.same(
      open.fake.received.slice(-3).map((c) => c.line),
      ['api global_setvar callscreen_sms=off', 'api sched_del callscreen_watchdog', 'exit'],
      'messages flow unscreened while the daemon is away',
    );
    t.equal(open.fake.globals.get('callscreen_sms'), 'off');
    t.same(open.fake.tasks, [], 'no task left to run later');
    t.equal(open.fake.chatplan(chatplanMessage({ callscreen: '' }), 'after stop'), 'delivered');

    const closed = await rig(t, '[screening]\nfail_mode = "closed"\n');
    await closed.bound('daemon stopped (closed)', closed.daemon.stop());
    t.same(
      closed.fake.received.slice(-3).map((c) => c.line),
      ['api global_setvar callscreen_sms=closed', 'api sched_del callscreen_watchdog', 'exit'],
    );
    t.equal(
      closed.fake.chatplan(chatplanMessage({ callscreen: '' }), 'after stop'),
      'refused',
      'closed: messages to DIDs are refused, not fired to nobody',
    );
    t.equal(
      closed.fake.chatplan(chatplanMessage({ callscreen: '' }), 'agent', 'outbound'),
      'delivered',
      "agents' messages still go out",
    );
  },
);

t.test(
  'attestation (issue #16): the verstat of the From (from_full) reaches the screen; failed is held, an "only when attested" allow counts only when attested',
  async (t) => {
    const r = await rig(t);
    await listAttestedBank(r.ctx, 'reject');
    await r.ctx.feed.poll();
    // As sofia hands a From whose user part carries verstat (ATIS form): from_user keeps the parameter.
    const send = async (number: string, verstat: string): Promise<EslSmsOutcome> => {
      const user = verstat === '' ? number : `${number};verstat=${verstat}`;
      const got = outcome(r, `outcome of ${number} with verstat '${verstat}'`);
      r.fake.sendEvent(
        chatplanMessage({
          from: `${user}@carrier.example`,
          from_user: user,
          from_full: `<sip:${user}@carrier.example;user=phone>;tag=a1`,
        }),
        'hello',
      );
      return got;
    };
    t.match(
      await send('+15558880001', 'TN-Validation-Failed'),
      { outcome: 'held', verdict: { action: 'quarantine', normalized: '+15558880001', rule: { kind: 'attestation' } } },
      'verification failed: held (an SMS meeting a rule is held)',
    );
    t.match(
      await send('+15558880002', 'TN-Validation-Passed'),
      { outcome: 'delivered', verdict: { action: 'allow', normalized: '+15558880002' } },
      'passed: sent on; the number is the user part without its parameters',
    );
    t.match(
      await send('+15557790001', 'TN-Validation-Passed-A'),
      { outcome: 'delivered', verdict: { action: 'allow', rule: { kind: 'allow' } } },
      'the bank attested A: its allow entry counts',
    );
    t.match(
      await send('+15557790001', ''),
      { outcome: 'held', verdict: { rule: { kind: 'prefix' } } },
      'the bank unattested: the allow entry does not count; the prefix block holds it',
    );
    await r.ctx.recorder.flush();
    const records = await r.ctx.recorder.recent(r.orgId, 10, 0, 'sms');
    t.same(
      records.map((x) => [x.from_raw, x.action, x.attestation]).reverse(),
      [
        ['+15558880001', 'quarantine', 'failed'],
        ['+15558880002', 'allow', 'passed'],
        ['+15557790001', 'allow', 'passed-A'],
        ['+15557790001', 'quarantine', null],
      ],
      'the records carry the attestation',
    );
  },
);

t.test('an agent’s own message (outbound) carries no attestation: a verstat in its From is not read', async (t) => {
  const headers = chatplanMessage({
    from_user: 'agent101;verstat=TN-Validation-Passed',
    from_full: '<sip:agent101;verstat=TN-Validation-Passed@pbx.example>',
    callscreen_direction: 'outbound',
  });
  const m = readChatMessage({ headers, body: '' }, 'callscreen');
  t.equal(m.direction, 'outbound');
  t.equal(m.attestation, undefined);
  t.equal(m.from, 'agent101');
  const inbound = readChatMessage(
    { headers: chatplanMessage({ from_full: '"x;verstat=TN-Validation-Passed" <sip:+15558880003@c>' }), body: '' },
    'callscreen',
  );
  t.equal(inbound.attestation, undefined, 'a verstat in the display name attests nothing');
});

t.test(
  'readChatMessage: what sofia puts in a MESSAGE event — from_full, and sip_h_ X-/P- headers it does not parse',
  async (t) => {
    const read = (over: Record<string, string>) =>
      readChatMessage({ headers: chatplanMessage(over), body: '' }, 'callscreen');
    t.match(
      read({
        from_user: '+15558880004;verstat=TN-Validation-Passed',
        from_full: '<sip:+15558880004;verstat=TN-Validation-Passed@c;user=phone>;tag=1',
        'sip_h_X-Attestation-Info': 'B',
      }),
      { from: '+15558880004', attestation: { status: 'passed', level: 'B' } },
      'a level from X-Attestation-Info when verstat has none',
    );
    t.match(
      read({
        from_user: '+15558880005',
        from_full: '<sip:+15558880005;verstat=TN-Validation-Failed@c>;tag=1',
        'sip_h_P-Asserted-Identity': '<sip:+15558880005;verstat=TN-Validation-Passed-A@c>',
      }),
      { attestation: { status: 'passed', level: 'A' } },
      'a PAI, where sofia passes one, outranks the From (the core precedence)',
    );
  },
);

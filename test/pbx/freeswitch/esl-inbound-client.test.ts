// EslInboundClient against test/support/fake-freeswitch-inbound.ts (FreeSWITCH's mod_event_socket
// inbound side in its wire format), with manual one-shot timers: backoff, the auth/request wait and
// command timeouts are driven by advancing time, never by sleeping. The only waits are for loopback
// I/O, and they wait on the client's own state changes and the fake's recorded commands.
import t, { type Test } from 'tap';
import type { Verdict } from '../../../daemon/core/verdict.js';
import type { EslEvent } from '../../../daemon/pbx/freeswitch/esl-event.js';
import { EslAgentNotifier } from '../../../daemon/pbx/freeswitch/esl-agent-notifier.js';
import {
  EslInboundClient,
  replyText,
  type EslInboundOptions,
} from '../../../daemon/pbx/freeswitch/esl-inbound-client.js';
import type { LinkState } from '../../../daemon/net/reconnecting-link.js';
import { EslMessageDeliverer } from '../../../daemon/pbx/freeswitch/esl-message-deliverer.js';
import { captureLogger } from '../../support/harness.js';
import { chatplanMessage, eventFrame, FakeFreeswitchInbound } from '../../support/fake-freeswitch-inbound.js';
import { ManualClock } from '../../support/manual-clock.js';

const PASSWORD = 'Cl0ueCon-test-pw-93';

function waitState(client: EslInboundClient, s: LinkState): Promise<void> {
  if (client.currentState === s) return Promise.resolve();
  return new Promise((resolve) => {
    const off = client.onState((x) => {
      if (x !== s) return;
      off();
      resolve();
    });
  });
}

const nextEvent = (client: EslInboundClient): Promise<EslEvent> =>
  new Promise((resolve) => {
    const off = client.onEvent((e) => {
      off();
      resolve(e);
    });
  });

async function setup(t: Test, opts: { serverPassword?: string; options?: Partial<EslInboundOptions> } = {}) {
  const fake = new FakeFreeswitchInbound({ password: opts.serverPassword ?? PASSWORD });
  await fake.listen();
  const timers = new ManualClock();
  const { logger, lines } = captureLogger();
  const client = new EslInboundClient(
    {
      host: '127.0.0.1',
      port: fake.port,
      password: PASSWORD,
      commandTimeoutMs: 1000,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
      setup: ['event plain MESSAGE', 'filter callscreen screen'],
      ...opts.options,
    },
    logger,
    // random() = 1: each delay is the top of its jitter range, so the schedule reads 100, 200, 400…
    { timers, random: () => 1 },
  );
  // The peer is closed even when stopping throws: its listener would keep the process alive.
  t.teardown(async () => {
    try {
      await client.stop();
    } finally {
      await fake.close();
    }
  });
  return { fake, timers, client, lines };
}

const transitions = (lines: Array<Record<string, unknown>>): string[] =>
  lines
    .filter((l) => typeof l.to === 'string' && String(l.msg).startsWith('ESL inbound'))
    .map((l) => `${String(l.from)}>${String(l.to)}`);

t.test(
  'logs in, subscribes, then sends commands one at a time; transitions logged; the password nowhere',
  async (t) => {
    const { fake, client, lines } = await setup(t);
    fake.apiReply = (cmd) => `reply to ${cmd}`;
    await client.start();
    await waitState(client, 'connected');
    t.same(
      fake.received.map((c) => c.line),
      [`auth ${PASSWORD}`, 'event plain MESSAGE', 'filter callscreen screen'],
      'recorded exchange: auth, then the setup commands in order',
    );
    const replies = await Promise.all(['one', 'two', 'three'].map((c) => client.command(`api ${c}\n\n`)));
    t.same(
      replies.map(replyText),
      ['reply to one', 'reply to two', 'reply to three'],
      'each reply goes to its own command',
    );
    t.same(
      fake.received.map((c) => c.unansweredBefore),
      [0, 0, 0, 0, 0, 0],
      'no command was written before the one ahead of it was answered',
    );
    t.match(client.status(), { state: 'connected', commandsOk: 3, commandsFailed: 0, reconnects: 0, authFailures: 0 });
    t.same(transitions(lines), [
      'stopped>connecting',
      'connecting>authenticating',
      'authenticating>subscribing',
      'subscribing>connected',
    ]);
    t.notMatch(JSON.stringify(lines), PASSWORD, 'the password is in no log line');
    t.notMatch(JSON.stringify(client.status()), PASSWORD, 'nor in the status');
  },
);

t.test(
  'wrong password: a clear error without the password, retried with growing backoff until it is right',
  async (t) => {
    const { fake, client, lines, timers } = await setup(t, { serverPassword: 'the-right-one' });
    await client.start();
    await waitState(client, 'backoff');
    const refused = lines.find(
      (l) => l.msg === 'Event Socket login refused: check esl_inbound.password against event_socket.conf.xml',
    );
    t.ok(refused, 'says what to check');
    t.equal(refused?.level, 50, 'at error level');
    t.equal(refused?.reply, '-ERR invalid', "with FreeSWITCH's answer");
    t.same(timers.armed(), [100], 'first retry after reconnect_min_ms');

    timers.advance(100);
    await waitState(client, 'backoff');
    t.same(timers.armed(), [200], 'the delay doubles');
    t.equal(client.status().authFailures, 2);

    fake.password = PASSWORD;
    timers.advance(200);
    await waitState(client, 'connected');
    t.match(client.status(), { state: 'connected', authFailures: 2, reconnects: 2, lastError: null });
    t.equal(fake.named('auth ').length, 3, 'three logins, one per attempt');
    t.notMatch(JSON.stringify(lines), PASSWORD, 'the password is in no log line');
    t.notMatch(JSON.stringify(lines), 'the-right-one');
  },
);

t.test(
  'FreeSWITCH restart: disconnect notice, refused while down (backoff grows), logged in and subscribed again when back',
  async (t) => {
    const { fake, client, lines, timers } = await setup(t);
    await client.start();
    await waitState(client, 'connected');
    await fake.down();
    await waitState(client, 'backoff');
    t.match(client.status().lastError, /FreeSWITCH closed the Event Socket: Disconnected, goodbye\./);
    await t.rejects(
      client.command('api status\n\n'),
      { code: 'CS_ERR_UNAVAILABLE' },
      'commands fail at once while not connected, never queued',
    );
    t.same(timers.armed(), [100]);

    timers.advance(100);
    await waitState(client, 'backoff');
    t.match(client.status().lastError, /ECONNREFUSED/, 'nothing listening');
    t.same(timers.armed(), [200]);

    await fake.listen();
    timers.advance(200);
    await waitState(client, 'connected');
    t.equal(fake.named('event plain MESSAGE').length, 2, 'subscribed again on the new connection');
    t.equal(fake.named('filter ').length, 2);
    t.match(client.status(), { reconnects: 2, lastError: null });
    t.same(transitions(lines), [
      'stopped>connecting',
      'connecting>authenticating',
      'authenticating>subscribing',
      'subscribing>connected',
      'connected>backoff',
      'backoff>connecting',
      'connecting>backoff',
      'backoff>connecting',
      'connecting>authenticating',
      'authenticating>subscribing',
      'subscribing>connected',
    ]);
  },
);

t.test(
  'a connection cut with no notice fails the command in flight and reconnects from the shortest delay',
  async (t) => {
    const { fake, client, timers } = await setup(t);
    await client.start();
    await waitState(client, 'connected');
    fake.silentOn = (l) => l === 'api hang';
    const hung = client.command('api hang\n\n');
    await fake.waitFor((c) => c.line === 'api hang');
    fake.kick();
    await t.rejects(hung, { code: 'CS_ERR_UNAVAILABLE' });
    await waitState(client, 'backoff');
    t.same(timers.armed(), [100], 'a connection that had reached connected starts the backoff over');
    timers.advance(100);
    await waitState(client, 'connected');
    t.equal(fake.connections, 2);
  },
);

t.test('command timeout: CS_ERR_TIMEOUT, the command behind it is not sent, the connection is re-made', async (t) => {
  const { fake, client, timers } = await setup(t);
  await client.start();
  await waitState(client, 'connected');
  fake.silentOn = (l) => l === 'api slow';
  const slow = client.command('api slow\n\n');
  const behind = client.command('api behind\n\n');
  await fake.waitFor((c) => c.line === 'api slow');
  t.same(timers.armed(), [1000], 'one command timer: the one in flight');
  timers.advance(1000);
  await t.rejects(slow, { code: 'CS_ERR_TIMEOUT', message: /did not answer api slow within 1000 ms/ });
  await t.rejects(behind, { code: 'CS_ERR_UNAVAILABLE' }, 'what waited behind it fails too');
  t.same(fake.named('api behind'), [], 'never written');
  await waitState(client, 'backoff');
  t.match(client.status().lastError, /no reply to api slow within 1000 ms/);

  fake.silentOn = null;
  fake.apiReply = (cmd) => `reply to ${cmd}`;
  timers.advance(100);
  await waitState(client, 'connected');
  t.equal(
    replyText(await client.command('api fast\n\n')),
    'reply to fast',
    'the new connection pairs replies from scratch',
  );
  t.match(client.status(), { commandsFailed: 2, commandsOk: 1 });
});

t.test('a port that accepts and never says auth/request: given up after the command timeout', async (t) => {
  const { fake, client, timers } = await setup(t);
  fake.greet = false;
  await client.start();
  t.same(timers.armed(), [1000], 'connect and greeting share one command timeout');
  timers.advance(1000);
  await waitState(client, 'backoff');
  t.match(client.status().lastError, /no auth\/request within 1000 ms/);
  t.same(fake.received, [], 'nothing was sent, the password least of all');
});

t.test('an address the ACL refuses: text/rude-rejection logged with what to change, then backoff', async (t) => {
  const { fake, client, lines } = await setup(t);
  fake.rudeRejection = true;
  await client.start();
  await waitState(client, 'backoff');
  const line = lines.find(
    (l) => l.msg === 'FreeSWITCH refused this address: allow it in event_socket.conf.xml (apply-inbound-acl)',
  );
  t.equal(line?.level, 50);
  t.equal(line?.reply, 'Access Denied, go away.');
  t.equal(client.status().lastError, 'refused by the Event Socket ACL');
});

t.test(
  'frames: an event dribbled in pieces arrives whole; a bad event body is skipped; garbage and stray replies re-make the connection',
  async (t) => {
    const { fake, client, timers } = await setup(t);
    await client.start();
    await waitState(client, 'connected');
    const body = 'line one\n\nline three — ünïcode';
    const whole = nextEvent(client);
    t.equal(fake.sendEvent(chatplanMessage(), body, { chunkBytes: 7 }), 1, 'sent through the callscreen filter');
    const e = await whole;
    t.equal(e.body, body);
    t.equal(e.headers['to_user'], '+15550100');

    const afterBad = nextEvent(client);
    fake.writeRaw(eventFrame('this is not an event body'));
    fake.sendEvent(chatplanMessage({ to_user: '+15550101' }), 'next');
    t.equal((await afterBad).headers['to_user'], '+15550101', 'the event after a bad one is read');
    t.match(client.status(), { state: 'connected', badEvents: 1, events: 2 });

    fake.writeRaw('\x00\x01GET / HTTP/1.1\r\nHost: x\r\n\r\n\n\n');
    await waitState(client, 'backoff');
    t.match(client.status().lastError, /protocol error: not an Event Socket header block/);
    timers.advance(100);
    await waitState(client, 'connected');

    fake.writeRaw('Content-Type: command/reply\nReply-Text: +OK\n\n');
    await waitState(client, 'backoff');
    t.equal(
      client.status().lastError,
      'Event Socket reply with no command in flight',
      'a reply nobody asked for means the two sides disagree',
    );
    timers.advance(200);
    await waitState(client, 'connected');

    fake.writeRaw(`Content-Type: text/event-plain\nX-Pad: ${'a'.repeat(70_000)}`);
    await waitState(client, 'backoff');
    t.match(
      client.status().lastError,
      /header block too long/,
      'a header block past the bound is refused before its end arrives',
    );
  },
);

t.test('stop(): teardown commands, then exit; nothing reconnects; later commands fail at once', async (t) => {
  const { fake, client, timers } = await setup(t, {
    options: { teardown: () => ['api global_setvar callscreen_sms=off'] },
  });
  await client.start();
  await waitState(client, 'connected');
  await client.stop();
  t.same(
    fake.received.slice(-2).map((c) => c.line),
    ['api global_setvar callscreen_sms=off', 'exit'],
  );
  t.equal(client.currentState, 'stopped');
  t.same(timers.armed(), [], 'no timer left');
  await t.rejects(client.command('api status\n\n'), { code: 'CS_ERR_UNAVAILABLE' });
  t.equal(fake.connections, 1);
});

t.test('at most maxQueued commands wait; more fail at once rather than pile up', async (t) => {
  const { fake, client } = await setup(t, { options: { maxQueued: 2 } });
  await client.start();
  await waitState(client, 'connected');
  fake.silentOn = (l) => l.startsWith('api q');
  const sent = ['api q1\n\n', 'api q2\n\n', 'api q3\n\n'].map((c) => client.command(c));
  for (const p of sent) p.catch(() => undefined);
  await t.rejects(client.command('api q4\n\n'), {
    code: 'CS_ERR_UNAVAILABLE',
    message: /2 Event Socket commands already waiting/,
  });
  await client.stop();
  const settled = await Promise.allSettled(sent);
  t.same(
    settled.map((s) => s.status),
    ['rejected', 'rejected', 'rejected'],
    'stop fails what was waiting',
  );
});

const verdict: Verdict = {
  action: 'warn',
  normalized: '+15557770001',
  rule: { id: 1, kind: 'exact', value: '+15557770001', name: 'Spam Inc' },
  reason: 'listed',
};

t.test(
  'deliverer and notifier over the client: CS_ERR_TIMEOUT and CS_ERR_UNAVAILABLE from the catalogue; warnings never throw',
  async (t) => {
    const { fake, client, timers, lines } = await setup(t);
    const deliverer = new EslMessageDeliverer(client, 'callscreen');
    const notifier = new EslAgentNotifier(client, 'sip:callscreen@pbx.example', captureLogger().logger);
    const held = {
      id: 7,
      from: '"Some Sender" <sip:+15557770001@carrier.example>;tag=abc',
      to: '+15550100',
      body: 'hi',
      deliverTo: 'sip/external/+15550100@pbx.example',
    };
    await t.rejects(deliverer.deliver(held), { code: 'CS_ERR_UNAVAILABLE' }, 'not connected');
    t.equal(
      await notifier.notify({
        org: 'demo',
        endpoint: '1001@pbx.example',
        number: '+15557770001',
        channel: 'sms',
        verdict,
      }),
      false,
    );
    t.same(notifier.counters, { sent: 0, failed: 1 });

    await client.start();
    await waitState(client, 'connected');
    fake.silentOn = (l) => l.startsWith('sendevent');
    const release = deliverer.deliver(held);
    await fake.waitFor((c) => c.line === 'sendevent CUSTOM');
    timers.advance(1000);
    await t.rejects(release, { code: 'CS_ERR_TIMEOUT' }, 'no reply in command_timeout_ms');

    fake.silentOn = null;
    fake.sendeventReply = () => '-ERR invalid event';
    timers.advance(100);
    await waitState(client, 'connected');
    await t.rejects(deliverer.deliver(held), {
      code: 'CS_ERR_UNAVAILABLE',
      message: /FreeSWITCH refused the released message: -ERR invalid event/,
    });

    t.equal(
      await notifier.notify({
        org: 'demo',
        endpoint: '1001@pbx.example',
        number: '+15557770001',
        channel: 'sms',
        verdict,
      }),
      true,
    );
    t.match(
      fake.named('api chat').at(-1)?.line,
      /^api chat sip\|callscreen@pbx\.example\|1001@pbx\.example\|callscreen: You are texting \+15557770001 \(Spam Inc\)/,
    );
    t.same(notifier.counters, { sent: 1, failed: 1 });
    t.notMatch(JSON.stringify(lines), PASSWORD);
  },
);

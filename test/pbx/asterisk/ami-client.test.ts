// AmiClient against a fake AMI server written here (a net.Server speaking the banner, Login,
// ActionID echo and events), with manual one-shot timers: backoff, keep-alive and action timeouts
// are driven by advancing time, never by sleeping. The only real waits are for loopback I/O.
import t, { type Test } from 'tap';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { ManualClock } from '../../support/manual-clock.js';
import type { Verdict } from '../../../daemon/core/verdict.js';
import { AmiAgentNotifier } from '../../../daemon/pbx/asterisk/ami-agent-notifier.js';
import { AmiClient, type AmiClientOptions } from '../../../daemon/pbx/asterisk/ami-client.js';
import { AMI_MAX_LINE_BYTES } from '../../../daemon/pbx/asterisk/ami-protocol.js';
import { DialWatcher } from '../../../daemon/pbx/asterisk/dial-watcher.js';
import { captureLogger, silentLogger } from '../../support/harness.js';

const SECRET = 'top-secret-ami-pw';

type Fields = Record<string, string>;
type Mode = 'ok' | 'bad-login' | 'drop' | 'silent';

/** A fake Asterisk manager: answers Login and any action with Success, unless told otherwise. */
class FakeAmi {
  readonly actions: Fields[] = [];
  readonly sockets = new Set<net.Socket>();
  mode: Mode = 'ok';
  /** Actions (by name) left unanswered, to test timeouts and dead peers. */
  readonly ignore = new Set<string>();
  /** `Filter` values answered with an error (an Asterisk that refuses the filter). */
  readonly refuse = new Set<string>();
  port = 0;
  private readonly server = net.createServer((s) => this.serve(s));

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  kickAll(): void {
    for (const s of this.sockets) s.destroy();
  }

  event(fields: Fields): void {
    const text = Object.entries(fields)
      .map(([k, v]) => `${k}: ${v}\r\n`)
      .join('');
    for (const s of this.sockets) s.write(`${text}\r\n`);
  }

  named(action: string): Fields[] {
    return this.actions.filter((a) => a.Action === action);
  }

  private serve(sock: net.Socket): void {
    if (this.mode === 'drop') {
      sock.destroy();
      return;
    }
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    sock.on('error', () => undefined);
    sock.setEncoding('utf8');
    sock.write('Asterisk Call Manager/9.0.0\r\n');
    let buf = '';
    sock.on('data', (chunk: string) => {
      buf += chunk;
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const block = buf.slice(0, end);
        buf = buf.slice(end + 4);
        const f: Fields = {};
        for (const line of block.split('\r\n')) {
          const i = line.indexOf(': ');
          if (i > 0) f[line.slice(0, i)] = line.slice(i + 2);
        }
        this.actions.push(f);
        this.answer(sock, f);
      }
    });
  }

  private answer(sock: net.Socket, f: Fields): void {
    const id = f.ActionID ?? '';
    if (this.mode === 'silent' || this.ignore.has(f.Action ?? '')) return;
    if (f.Action === 'Login' && (this.mode === 'bad-login' || f.Secret !== SECRET)) {
      sock.write(`Response: Error\r\nActionID: ${id}\r\nMessage: Authentication failed\r\n\r\n`);
      return;
    }
    if (f.Action === 'Filter' && this.refuse.has(f.Filter ?? '')) {
      sock.write(`Response: Error\r\nActionID: ${id}\r\nMessage: Permission denied\r\n\r\n`);
      return;
    }
    if (f.Action === 'Logoff') {
      sock.end(`Response: Goodbye\r\nActionID: ${id}\r\nMessage: Thanks for all the fish.\r\n\r\n`);
      return;
    }
    const extra = f.Action === 'Ping' ? 'Ping: Pong\r\n' : '';
    sock.write(`Response: Success\r\nActionID: ${id}\r\n${extra}Message: ok\r\n\r\n`);
  }
}

const OPTIONS: Omit<AmiClientOptions, 'port'> = {
  host: '127.0.0.1',
  username: 'callscreen',
  secret: SECRET,
  actionTimeoutMs: 1000,
  reconnectMinMs: 100,
  reconnectMaxMs: 1000,
  keepaliveMs: 5000,
};

async function until(cond: () => boolean, what: string, ms = 2000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

async function setup(t: Test, opts: { mode?: Mode; random?: () => number; eventFilters?: string[] } = {}) {
  const server = new FakeAmi();
  server.mode = opts.mode ?? 'ok';
  await server.listen();
  const timers = new ManualClock();
  const { logger, lines } = captureLogger();
  const client = new AmiClient(
    { ...OPTIONS, port: server.port, ...(opts.eventFilters ? { eventFilters: opts.eventFilters } : {}) },
    logger,
    { timers, random: opts.random ?? (() => 1) },
  );
  // The peer is closed even when stopping throws: its listener would keep the process alive.
  t.teardown(async () => {
    try {
      await client.stop();
    } finally {
      await server.close();
    }
  });
  return { server, timers, client, lines };
}

t.test('logs in, sends actions with their ActionID, logs transitions and never the secret', async (t) => {
  const { server, client, lines } = await setup(t);
  await client.start();
  await until(() => client.currentState === 'connected', 'connected');
  const login = server.named('Login')[0];
  t.equal(login?.Username, 'callscreen');
  t.equal(login?.Events, 'call', 'asks for call events (DialBegin)');
  const res = await client.action('MessageSend', { To: 'pjsip:agent101', Body: 'hi' });
  t.equal(res.Response, 'Success');
  t.equal(res.ActionID, server.named('MessageSend')[0]?.ActionID, 'response matched by ActionID');
  t.match(client.status(), { state: 'connected', actionsOk: 1, actionsFailed: 0, reconnects: 0 });
  const transitions = lines.filter((l) => typeof l.to === 'string').map((l) => `${String(l.from)}>${String(l.to)}`);
  t.same(transitions, [
    'stopped>connecting',
    'connecting>authenticating',
    'authenticating>subscribing',
    'subscribing>connected',
  ]);
  t.notMatch(JSON.stringify(lines), SECRET, 'the secret is in no log line');
});

t.test(
  'event filters go out after login and before connected; a refused one is logged and the session goes on',
  async (t) => {
    const { server, client, lines } = await setup(t, { eventFilters: ['Event: DialBegin', 'Event: UserEvent'] });
    server.refuse.add('Event: UserEvent');
    await client.start();
    await until(() => client.currentState === 'connected', 'connected');
    t.same(
      server.actions.map((a) => a.Action),
      ['Login', 'Filter', 'Filter'],
      'login, then each filter, before anything else',
    );
    t.same(
      server.named('Filter').map((f) => [f.Operation, f.Filter]),
      [
        ['Add', 'Event: DialBegin'],
        ['Add', 'Event: UserEvent'],
      ],
    );
    t.ok(
      lines.some((l) => l.msg?.toString().startsWith('AMI event filter refused') && l.filter === 'Event: UserEvent'),
      'the refused filter is named in the log',
    );
  },
);

t.test('an action with a line longer than Asterisk reads is refused here, not sent', async (t) => {
  const { server, client } = await setup(t);
  await client.start();
  await until(() => client.currentState === 'connected', 'connected');
  const fits = 'x'.repeat(AMI_MAX_LINE_BYTES - 'Val: \r\n'.length);
  const res = await client.action('DBPut', { Family: 'callscreen', Key: 'k', Val: fits });
  t.equal(res.Response, 'Success', `a value of ${fits.length} characters fills the line exactly and is sent`);
  await t.rejects(
    client.action('DBPut', { Family: 'callscreen', Key: 'k2', Val: `${fits}x` }),
    { code: 'CS_ERR_INVALID_VALUE', message: /DBPut not sent: its Val line is longer than the 1024 bytes/ },
    'one character more: refused before sending (Asterisk would answer "line too long")',
  );
  await t.rejects(
    client.action('DBPut', { Family: 'callscreen', Key: 'k3', Val: 'é'.repeat(600) }),
    { code: 'CS_ERR_INVALID_VALUE' },
    'counted in bytes: 600 two-byte characters are 1,200 bytes',
  );
  t.same(
    server.named('DBPut').map((a) => a.Key),
    ['k'],
    'only the one that fits reached the peer',
  );
});

t.test('a failed login is logged without the secret and retried with backoff', async (t) => {
  const { server, client, lines, timers } = await setup(t, { mode: 'bad-login' });
  await client.start();
  await until(() => client.currentState === 'backoff', 'backoff');
  const failed = lines.find((l) => l.msg === 'AMI login failed');
  t.ok(failed, 'login failure logged');
  t.equal(failed?.level, 50, 'at error level');
  t.equal(failed?.username, 'callscreen');
  t.match(String(failed?.error), /Authentication failed/);
  t.notMatch(JSON.stringify(lines), SECRET, 'the secret is in no log line');
  t.equal(client.status().loginFailures, 1);
  t.notMatch(client.status().lastError ?? '', SECRET);
  t.same(timers.armed(), [100], 'first retry after reconnect_min_ms');

  server.mode = 'ok';
  timers.advance(100);
  await until(() => client.currentState === 'connected', 'connected after the retry');
  t.equal(server.named('Login').length, 2);
});

t.test('an action with no response fails with CS_ERR_TIMEOUT after action_timeout_ms', async (t) => {
  const { server, client, timers } = await setup(t);
  await client.start();
  await until(() => client.currentState === 'connected', 'connected');
  server.ignore.add('MessageSend');
  const p = client.action('MessageSend', { To: 'pjsip:agent101', Body: 'x' });
  await until(() => server.named('MessageSend').length === 1, 'action received');
  let settled = false;
  p.catch(() => undefined).finally(() => (settled = true));
  timers.advance(999);
  await sleep(5);
  t.notOk(settled, 'still waiting at 999 ms');
  timers.advance(1);
  await t.rejects(p, { code: 'CS_ERR_TIMEOUT' });
  t.equal(client.status().actionsFailed, 1);
  t.equal(client.currentState, 'connected', 'one lost response does not drop the connection');
});

t.test(
  'disconnect: exponential backoff min→max, reconnect, counters; nothing sent while down is replayed',
  async (t) => {
    const { server, client, timers } = await setup(t);
    await client.start();
    await until(() => client.currentState === 'connected', 'connected');

    server.mode = 'drop';
    server.kickAll();
    await until(() => client.currentState === 'backoff', 'backoff after the drop');
    t.same(timers.armed(), [100]);

    // Sent while down: fails at once, never queued.
    const started = Date.now();
    await t.rejects(client.action('MessageSend', { To: 'pjsip:agent101', Body: 'late warning' }), {
      code: 'CS_ERR_UNAVAILABLE',
    });
    t.ok(Date.now() - started < 50, 'fails fast');

    const delays: number[] = [timers.armed()[0] ?? -1];
    for (let i = 0; i < 5; i++) {
      const before = client.status().reconnects;
      timers.advance(timers.armed()[0] ?? 0);
      await until(() => client.status().reconnects === before + 1 && client.currentState === 'backoff', `retry ${i}`);
      delays.push(...timers.armed());
    }
    t.same(delays, [100, 200, 400, 800, 1000, 1000], 'doubles from reconnect_min_ms, capped at reconnect_max_ms');

    server.mode = 'ok';
    timers.advance(1000);
    await until(() => client.currentState === 'connected', 'reconnected');
    t.equal(client.status().reconnects, 6);
    await sleep(20);
    t.same(server.named('MessageSend'), [], 'the action refused while down was never sent later');

    server.kickAll();
    await until(() => client.currentState === 'backoff', 'backoff again');
    t.same(timers.armed(), [100], 'a successful login resets the backoff');
  },
);

t.test('backoff jitter: between half and all of the step', async (t) => {
  const low = new AmiClient({ ...OPTIONS, port: 1 }, silentLogger(), { random: () => 0 });
  const mid = new AmiClient({ ...OPTIONS, port: 1 }, silentLogger(), { random: () => 0.5 });
  t.same(
    [0, 1, 2, 3, 4, 5].map((n) => low.backoffDelay(n)),
    [50, 100, 200, 400, 500, 500],
  );
  t.same(
    [0, 1, 5].map((n) => mid.backoffDelay(n)),
    [75, 150, 750],
  );
});

t.test('keep-alive: Ping every keepalive_ms; a missed pong drops the connection and reconnects', async (t) => {
  const { server, client, timers, lines } = await setup(t);
  await client.start();
  await until(() => client.currentState === 'connected', 'connected');
  timers.advance(5000);
  await until(() => server.named('Ping').length === 1, 'first ping');
  await sleep(10);
  t.equal(client.currentState, 'connected', 'answered ping keeps the connection');
  timers.advance(5000);
  await until(() => server.named('Ping').length === 2, 'second ping: re-armed after a pong');

  // The peer goes quiet (a hung Asterisk, a dead NAT entry): the socket stays open.
  server.ignore.add('Ping');
  timers.advance(5000);
  await until(() => server.named('Ping').length === 3, 'third ping');
  timers.advance(1000);
  await until(() => client.currentState === 'backoff', 'backoff after the missed pong');
  t.equal(client.status().keepaliveMisses, 1);
  t.ok(lines.some((l) => l.msg === 'AMI keep-alive missed: reconnecting'));
  server.ignore.delete('Ping');
  timers.advance(100);
  await until(() => client.currentState === 'connected', 'reconnected');
});

t.test('a peer that is not AMI (no banner) fails the handshake in action_timeout_ms', async (t) => {
  const silent = net.createServer(() => undefined);
  await new Promise<void>((resolve) => silent.listen(0, '127.0.0.1', () => resolve()));
  const timers = new ManualClock();
  const client = new AmiClient({ ...OPTIONS, port: (silent.address() as net.AddressInfo).port }, silentLogger(), {
    timers,
    random: () => 1,
  });
  t.teardown(async () => {
    await client.stop();
    await new Promise<void>((resolve) => silent.close(() => resolve()));
  });
  await client.start();
  await sleep(20);
  t.equal(client.currentState, 'connecting');
  timers.advance(1000);
  await until(() => client.currentState === 'backoff', 'backoff');
  t.match(client.status().lastError ?? '', /handshake/);
});

t.test('stop(): logs off, cancels timers, fails pending actions, refuses new ones', async (t) => {
  const { server, client, timers } = await setup(t);
  await client.start();
  await until(() => client.currentState === 'connected', 'connected');
  server.ignore.add('MessageSend');
  const inflight = client.action('MessageSend', { To: 'pjsip:agent101', Body: 'x' });
  await until(() => server.named('MessageSend').length === 1, 'in flight');
  const failed = t.rejects(inflight, { code: 'CS_ERR_UNAVAILABLE' });
  await client.stop();
  await failed;
  t.equal(client.currentState, 'stopped');
  t.equal(server.named('Logoff').length, 1, 'logged off');
  t.equal(timers.pending, 0, 'no timer left armed');
  await t.rejects(client.action('Ping'), { code: 'CS_ERR_UNAVAILABLE' });
  await until(() => server.sockets.size === 0, 'socket closed');
});

t.test('DialBegin from an agent channel → screened → MessageSend warning, once per call', async (t) => {
  const { server, client } = await setup(t);
  const clock = new ManualClock();
  const notifier = new AmiAgentNotifier(client, { messageFrom: 'sip:callscreen@localhost' }, clock, silentLogger());
  const screened: string[] = [];
  const verdict: Verdict = {
    action: 'confirm',
    normalized: '+15559990666',
    rule: { id: 7, kind: 'exact', value: '+15559990666', name: 'Acme Debt Collectors', reason: 'harassment complaint' },
    reason: 'blocked',
  };
  const watcher = new DialWatcher(
    client,
    {
      screen: async (req) => {
        screened.push(`${req.org}:${req.direction}:${req.to}`);
        return req.to === '+15559990666'
          ? verdict
          : { action: 'allow', normalized: req.to, rule: null, reason: 'not listed' };
      },
    },
    notifier,
    { endpointPattern: /^(PJSIP|SIP)\/(agent[0-9]+)/, resolveOrg: async () => 'demo' },
    silentLogger(),
  );
  await watcher.start();
  t.teardown(() => watcher.stop());
  await client.start();
  await until(() => client.currentState === 'connected', 'connected');

  const dial = {
    Event: 'DialBegin',
    Privilege: 'call,all',
    Channel: 'PJSIP/agent101-00000004',
    CallerIDNum: '101',
    Exten: '+15559990666',
    Uniqueid: '1700000000.11',
    Linkedid: '1700000000.11',
    DestChannel: 'PJSIP/carrier-00000005',
    DestCallerIDNum: '+15559990666',
    DialString: '+15559990666@carrier',
  };
  const t0 = performance.now();
  server.event(dial);
  await until(() => server.named('MessageSend').length === 1, 'warning sent');
  t.comment(`DialBegin → MessageSend on the fake server: ${(performance.now() - t0).toFixed(1)} ms`);
  const msg = server.named('MessageSend')[0];
  t.equal(msg?.To, 'pjsip:agent101');
  t.equal(msg?.From, 'sip:callscreen@localhost');
  t.match(
    msg?.Body ?? '',
    /^callscreen: You are calling \+15559990666 \(Acme Debt Collectors\).*Reason: harassment complaint\./,
  );
  t.match(
    msg?.Body ?? '',
    /You may continue or hang up/,
    'the call is already dialling: told as a warning, not "not placed"',
  );
  t.same(screened, ['demo:outbound:+15559990666']);

  server.event(dial); // the same call seen again (e.g. after the AGI already warned)
  server.event({ ...dial, Channel: 'PJSIP/carrier-00000009', Uniqueid: '1700000000.20' }); // not an agent
  server.event({
    ...dial,
    Uniqueid: '1700000000.30',
    Exten: '+15550000001',
    DialString: '+15550000001@carrier',
    DestCallerIDNum: '+15550000001',
  }); // allowed number
  await until(() => screened.length === 3, 'the other dials screened');
  await sleep(20);
  t.equal(
    server.named('MessageSend').length,
    1,
    'one warning: same call deduplicated, carrier channel and allowed number ignored',
  );
  t.match(watcher.counters, { seen: 3, screened: 3 });
  t.match(notifier.counters, { sent: 1, deduplicated: 1, failed: 0 });
});

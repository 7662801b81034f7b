// Many actions in flight on one AMI connection (a mirror sync's DBPuts), over a real loopback socket
// to a fake manager: each answered by its ActionID, an Error answer in the middle fails that action
// only, and the actions written in one tick share one timeout timer — which fails exactly the ones
// left unanswered after action_timeout_ms and is gone once all are answered. Time is a ManualClock.
import t, { type Test } from 'tap';
import net from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { AmiClient, BULK_READ_HOLD_MS } from '../../../daemon/pbx/asterisk/ami-client.js';
import { ManualClock } from '../../support/manual-clock.js';
import { silentLogger } from '../../support/harness.js';

const KEEPALIVE_MS = 60_000;

/** Answers Login, and DBPut with Success — Error for a key in `refuse`, nothing for one in `ignore`. */
class PipelineAmi {
  readonly refuse = new Set<string>();
  readonly ignore = new Set<string>();
  /** ActionIDs of the ignored actions, to answer late. */
  readonly unanswered: string[] = [];
  received = 0;
  port = 0;
  private socket: net.Socket | null = null;
  private readonly server = net.createServer((s) => this.serve(s));

  async listen(): Promise<void> {
    await new Promise<void>((resolve) => this.server.listen(0, '127.0.0.1', () => resolve()));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  async close(): Promise<void> {
    this.socket?.destroy();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }

  answerLate(id: string): void {
    this.socket?.write(`Response: Success\r\nActionID: ${id}\r\nMessage: Updated database successfully\r\n\r\n`);
  }

  private serve(sock: net.Socket): void {
    this.socket = sock;
    sock.on('error', () => undefined);
    sock.setEncoding('utf8');
    sock.write('Asterisk Call Manager/9.0.0\r\n');
    let buf = '';
    sock.on('data', (chunk: string) => {
      buf += chunk;
      let out = '';
      for (let end = buf.indexOf('\r\n\r\n'); end >= 0; end = buf.indexOf('\r\n\r\n')) {
        const f: Record<string, string> = {};
        for (const line of buf.slice(0, end).split('\r\n')) {
          const i = line.indexOf(': ');
          if (i > 0) f[line.slice(0, i)] = line.slice(i + 2);
        }
        buf = buf.slice(end + 4);
        const id = f.ActionID ?? '';
        if (f.Action === 'DBPut') this.received++;
        if (f.Action === 'Logoff') {
          sock.end(`Response: Goodbye\r\nActionID: ${id}\r\n\r\n`);
          return;
        }
        if (this.ignore.has(f.Key ?? '')) this.unanswered.push(id);
        else if (this.refuse.has(f.Key ?? ''))
          out += `Response: Error\r\nActionID: ${id}\r\nMessage: Failed to update entry\r\n\r\n`;
        else out += `Response: Success\r\nActionID: ${id}\r\nMessage: Updated database successfully\r\n\r\n`;
      }
      // Answers split at odd places, as a busy manager's writes reach a reader.
      for (let at = 0; at < out.length; at += 97) sock.write(out.slice(at, at + 97));
    });
  }
}

async function until(cond: () => boolean, what: string, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!cond()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await sleep(2);
  }
}

async function setup(t: Test) {
  const server = new PipelineAmi();
  await server.listen();
  const timers = new ManualClock();
  const client = new AmiClient(
    {
      host: '127.0.0.1',
      port: server.port,
      username: 'callscreen',
      secret: 'pw',
      actionTimeoutMs: 1000,
      reconnectMinMs: 100,
      reconnectMaxMs: 1000,
      keepaliveMs: KEEPALIVE_MS,
    },
    silentLogger(),
    { timers, random: () => 1 },
  );
  // The peer is closed even when stopping throws: its listener would keep the process alive.
  t.teardown(async () => {
    try {
      await client.stop();
    } finally {
      await server.close();
    }
  });
  await client.start();
  await until(() => client.currentState === 'connected', 'connected');
  return { server, timers, client };
}

const put = (client: AmiClient, key: string): Promise<unknown> =>
  client.action('DBPut', { Family: 'callscreen', Key: key, Val: 'reject|603||' });

t.test('300 puts in one tick: each answered by its ActionID; an Error in the middle fails that one only', async (t) => {
  const { server, client, timers } = await setup(t);
  server.refuse.add('n/150');
  const results = await Promise.allSettled(Array.from({ length: 300 }, (_, i) => put(client, `n/${i}`)));
  const failed = results.flatMap((r, i) => (r.status === 'rejected' ? [i] : []));
  t.same(failed, [150], 'only the refused put failed');
  const r150 = results[150];
  t.match(r150?.status === 'rejected' ? r150.reason : null, {
    code: 'CS_ERR_UNAVAILABLE',
    message: /DBPut failed: Failed to update entry/,
  });
  t.match(client.status(), { actionsOk: 299, actionsFailed: 1, state: 'connected' });
  t.same(timers.armed(), [KEEPALIVE_MS], "the tick's shared timeout timer is gone once all are answered");
});

t.test('a tick whose answers do not all come: only the unanswered fail, at action_timeout_ms', async (t) => {
  const { server, client, timers } = await setup(t);
  server.ignore.add('n/1');
  const settled: string[] = [];
  const track = (p: Promise<unknown>, name: string): Promise<unknown> =>
    p.then(
      () => settled.push(`${name} ok`),
      (err: unknown) => settled.push(`${name} ${(err as { code?: string }).code ?? 'error'}`),
    );
  const tick1 = [track(put(client, 'n/0'), 'a0'), track(put(client, 'n/1'), 'a1'), track(put(client, 'n/2'), 'a2')];
  await until(() => settled.length === 2, 'the answered two');
  t.same(settled, ['a0 ok', 'a2 ok']);
  t.same(timers.armed(), [KEEPALIVE_MS, 1000], 'one timer for the three, still armed for the one waiting');
  timers.advance(500);
  server.ignore.add('n/3');
  const tick2 = track(put(client, 'n/3'), 'b3');
  await until(() => server.received === 4, 'the later put received');
  t.same(timers.armed(), [KEEPALIVE_MS, 1000, 1000], 'a later tick has its own timer (delays as armed)');
  timers.advance(499);
  await sleep(5);
  t.equal(settled.length, 2, 'nothing fails before action_timeout_ms');
  timers.advance(1);
  await Promise.all(tick1);
  t.same(settled, ['a0 ok', 'a2 ok', 'a1 CS_ERR_TIMEOUT'], 'the first tick: only its unanswered put timed out');
  timers.advance(500);
  await tick2;
  t.same(settled.at(-1), 'b3 CS_ERR_TIMEOUT', 'the second tick, 1000 ms after it was sent');
  // Answered after its timeout: ignored, and the connection and counters are left alone.
  for (const id of server.unanswered) server.answerLate(id);
  await sleep(20);
  t.match(client.status(), { actionsOk: 2, actionsFailed: 2, state: 'connected' });
  t.same(timers.armed(), [KEEPALIVE_MS]);
});

t.test(
  'while only bulk actions await responses, reading waits BULK_READ_HOLD_MS; any other action pending, it does not',
  async (t) => {
    const { server, client, timers } = await setup(t);
    server.ignore.add('n/9'); // never answered: a bulk action stays pending throughout
    const answered: string[] = [];
    const bulk = (key: string): void =>
      client.actionThen(
        'DBPut',
        { Family: 'callscreen', Key: key, Val: 'reject|603||' },
        (err) => answered.push(err === null ? key : `${key} failed`),
        true,
      );
    for (let i = 0; i < 10; i++) bulk(`n/${i}`);
    await until(() => answered.length > 0, 'a first answer read');
    t.ok(timers.armed().includes(BULK_READ_HOLD_MS), `reading held ${BULK_READ_HOLD_MS} ms after that read`);
    const seen = answered.length;
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    t.equal(answered.length, seen, 'nothing more read while held');
    for (let i = 0; i < 200 && answered.length < 9; i++) {
      timers.advance(BULK_READ_HOLD_MS);
      await sleep(2);
    }
    t.same(
      answered,
      Array.from({ length: 9 }, (_, i) => `n/${i}`),
      'every answered put delivered, each hold ended by the timer',
    );

    // A plain action (its caller awaits it) pending: a read is never followed by a hold.
    server.ignore.add('n/10');
    const plain = put(client, 'n/10').catch(() => undefined);
    bulk('n/11');
    await until(() => answered.includes('n/11'), 'the bulk answer read with no timer advanced');
    t.notOk(timers.armed().includes(BULK_READ_HOLD_MS), 'no hold while the plain action awaits its response');
    timers.advance(1000); // action_timeout_ms: n/9 and n/10 fail
    await plain;
    t.same(answered.at(-1), 'n/9 failed');
  },
);

// The shared link state machine on its own: the transition table, the checked moves, backoff with
// jitter, the handshake timeout and stop(). Real loopback sockets, manual timers: no sleeping; the
// only waits are for loopback I/O, on the link's own state changes.
import net from 'node:net';
import t, { type Test } from 'tap';
import {
  checkTransition,
  equalJitterBackoff,
  ReconnectingLink,
  TRANSITIONS,
  type LinkState,
} from '../../daemon/net/reconnecting-link.js';
import { captureLogger } from '../support/harness.js';
import { ManualClock } from '../support/manual-clock.js';

const STATES: readonly LinkState[] = ['stopped', 'connecting', 'authenticating', 'subscribing', 'connected', 'backoff'];

const waitState = (link: ReconnectingLink, s: LinkState): Promise<void> =>
  link.state === s
    ? Promise.resolve()
    : new Promise((resolve) => {
        const off = link.onState((x) => {
          if (x !== s) return;
          off();
          resolve();
        });
      });

async function server(
  t: Test,
  onConn: (s: net.Socket) => void = () => undefined,
): Promise<{ port: number; sockets: net.Socket[] }> {
  const sockets: net.Socket[] = [];
  const srv = net.createServer((s) => {
    sockets.push(s);
    s.on('error', () => undefined);
    onConn(s);
  });
  await new Promise<void>((resolve) => srv.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(
    () =>
      new Promise<void>((resolve) => {
        for (const s of sockets) s.destroy();
        srv.close(() => resolve());
      }),
  );
  return { port: (srv.address() as net.AddressInfo).port, sockets };
}

function rig(port: number, hooks: { detached?: string[]; data?: Buffer[]; readHold?: () => number } = {}) {
  const timers = new ManualClock();
  const { logger, lines } = captureLogger();
  const clock = new ManualClock(1_000);
  const link = new ReconnectingLink(
    {
      label: 'Test',
      host: '127.0.0.1',
      port,
      handshakeTimeoutMs: 500,
      reconnectMinMs: 100,
      reconnectMaxMs: 400,
      closeTimeoutMs: 1_000,
    },
    { logger, timers, random: () => 1, clock },
    {
      // A copy: the link reads every chunk into one reused buffer.
      attach: () => (chunk) => hooks.data?.push(Buffer.from(chunk)),
      detach: (reason) => hooks.detached?.push(reason),
      ...(hooks.readHold !== undefined ? { readHold: hooks.readHold } : {}),
    },
  );
  return { link, timers, lines, tick: (ms: number) => clock.set(clock.now() + ms) };
}

t.test(
  'the transition table: every state may be stopped (but stopped itself), and only these moves are legal',
  async (t) => {
    const legal: string[] = [];
    for (const from of STATES) {
      for (const to of STATES) {
        try {
          checkTransition('Test', from, to);
          legal.push(`${from}>${to}`);
        } catch (err) {
          t.match(err, { code: 'CS_ERR_INTERNAL', message: `Test: illegal link transition ${from} → ${to}` });
        }
      }
    }
    t.same(legal.sort(), [
      'authenticating>backoff',
      'authenticating>connected',
      'authenticating>stopped',
      'authenticating>subscribing',
      'backoff>connecting',
      'backoff>stopped',
      'connected>backoff',
      'connected>stopped',
      'connecting>authenticating',
      'connecting>backoff',
      'connecting>stopped',
      'stopped>connecting',
      'subscribing>backoff',
      'subscribing>connected',
      'subscribing>stopped',
    ]);
    t.same(Object.keys(TRANSITIONS).sort(), [...STATES].sort(), 'one row per state');
  },
);

t.test('equal-jitter backoff: between half and all of min(max, min·2ⁿ)', async (t) => {
  t.same(
    [0, 1, 2, 3, 4].map((n) => equalJitterBackoff(n, 100, 400, () => 1)),
    [100, 200, 400, 400, 400],
    'top of each range',
  );
  t.same(
    [0, 1, 2, 3].map((n) => equalJitterBackoff(n, 100, 400, () => 0)),
    [50, 100, 200, 200],
    'bottom of each range',
  );
});

t.test('an illegal move throws and changes nothing: subscribing straight from connecting', async (t) => {
  const { port } = await server(t);
  const { link } = rig(port);
  t.teardown(() => link.stop(''));
  link.start();
  t.equal(link.state, 'connecting');
  t.throws(() => link.advance('subscribing'), { code: 'CS_ERR_INTERNAL' }, 'subscribing before authenticating');
  t.equal(link.state, 'connecting', 'state unchanged');
});

t.test(
  'connect, handshake steps, established; one log line and one event per move; since follows the clock',
  async (t) => {
    const { port } = await server(t, (s) => s.write('hello'));
    const data: Buffer[] = [];
    const { link, lines, timers, tick } = rig(port, { data });
    t.teardown(() => link.stop(''));
    const seen: LinkState[] = [];
    link.onState((s) => seen.push(s));
    link.start();
    t.same(timers.armed(), [500], 'the handshake timer');
    await new Promise<void>((resolve) => {
      const i = setInterval(() => {
        if (data.length > 0) {
          clearInterval(i);
          resolve();
        }
      }, 5);
    });
    t.equal(Buffer.concat(data).toString(), 'hello', 'bytes go to the handler attach() returned');
    tick(7);
    link.advance('authenticating', { banner: 'hello' });
    t.equal(link.since, 1_007);
    link.advance('subscribing');
    link.established();
    t.same(timers.armed(), [], 'handshake timer cleared');
    t.same(seen, ['connecting', 'authenticating', 'subscribing', 'connected']);
    const moves = lines
      .filter((l) => typeof l.to === 'string')
      .map((l) => `${String(l.msg)} ${String(l.from)}>${String(l.to)}`);
    t.same(moves, [
      'Test connecting stopped>connecting',
      'Test authenticating connecting>authenticating',
      'Test subscribing authenticating>subscribing',
      'Test connected subscribing>connected',
    ]);
    t.equal(lines.find((l) => l.to === 'authenticating')?.banner, 'hello', 'extra fields in the log line');
    t.equal(link.lastError, null);
  },
);

t.test(
  'failures: backoff grows with jitter, a second report of one failure is ignored, success resets it',
  async (t) => {
    const { port } = await server(t);
    const detached: string[] = [];
    const { link, timers, lines } = rig(port, { detached });
    t.teardown(() => link.stop(''));
    link.start();
    link.fail('first');
    t.equal(link.state, 'backoff');
    link.fail('the same failure again');
    t.same(timers.armed(), [100], 'one reconnect timer, not two');
    t.equal(link.reconnects, 1);
    t.same(detached, ['Test connection lost: first'], 'the client was told once');
    t.equal(lines.find((l) => l.to === 'backoff')?.level, 40, 'backoff is logged as a warning');

    timers.advance(100);
    t.equal(link.state, 'connecting');
    link.fail('second');
    t.same(timers.armed(), [200], 'doubled');
    timers.advance(200);
    link.fail('third');
    t.same(timers.armed(), [400]);
    timers.advance(400);
    link.fail('fourth');
    t.same(timers.armed(), [400], 'capped at reconnectMaxMs');
    t.equal(link.lastError, 'fourth');

    timers.advance(400);
    await waitState(link, 'connecting');
    link.advance('authenticating');
    link.established();
    link.fail('after a success');
    t.same(timers.armed(), [100], 'a connection that got through starts the backoff over');
  },
);

t.test('handshake timeout, then stop(): goodbye written, timers cleared, idempotent', async (t) => {
  const got: string[] = [];
  let conns = 0;
  const { port } = await server(t, (s) => {
    conns++;
    s.on('data', (d: Buffer) => {
      got.push(d.toString());
      s.end();
    });
  });
  const { link, timers } = rig(port);
  link.start();
  timers.advance(500);
  t.equal(link.state, 'backoff');
  t.equal(link.lastError, 'Test handshake not done within 500 ms (state connecting)');

  const before = conns;
  timers.advance(100);
  t.equal(link.state, 'connecting');
  // Wait for the server to have accepted the new connection (loopback I/O only).
  await new Promise<void>((resolve) => {
    const i = setInterval(() => {
      if (conns > before) {
        clearInterval(i);
        resolve();
      }
    }, 5);
  });
  await link.stop('bye\n');
  t.equal(link.state, 'stopped');
  t.same(got, ['bye\n'], 'the goodbye was written before closing');
  t.same(timers.armed(), [], 'no timer left');
  t.equal(link.write('late'), false, 'nothing to write to once stopped');
  await link.stop('again');
  t.equal(link.state, 'stopped', 'stop twice is harmless');
  link.fail('after stop');
  t.equal(link.state, 'stopped', 'a late failure report does not restart it');
});

t.test('a refused connection goes to backoff with the socket error as the reason', async (t) => {
  const probe = net.createServer();
  await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
  const port = (probe.address() as net.AddressInfo).port;
  await new Promise<void>((resolve) => probe.close(() => resolve()));
  const { link } = rig(port);
  t.teardown(() => link.stop(''));
  link.start();
  await waitState(link, 'backoff');
  t.match(link.lastError, /ECONNREFUSED/);
});

t.test('writes made in one tick leave together, in order; later ticks and a goodbye follow them', async (t) => {
  const received: Buffer[] = [];
  let closed: () => void = () => undefined;
  const ended = new Promise<void>((resolve) => (closed = resolve));
  const { port } = await server(t, (s) => {
    s.on('data', (d: Buffer) => received.push(d));
    s.on('end', () => closed());
  });
  const { link } = rig(port);
  link.start();
  // The socket exists from connecting on: the client writes its login before the handshake is done.
  t.ok(link.open, 'a socket to write to');
  const lines = Array.from({ length: 500 }, (_, i) => `Action: DBPut\r\nKey: n/${i}\r\n\r\n`);
  for (const l of lines) t.equal(link.write(l), true);
  await new Promise((r) => setImmediate(r)); // the tick is over: the socket was uncorked
  t.equal(link.write('later\r\n'), true, 'a write in a later tick');
  link.write('just before stop\r\n');
  await link.stop('bye\r\n');
  await ended;
  t.equal(
    Buffer.concat(received).toString(),
    lines.join('') + 'later\r\njust before stop\r\nbye\r\n',
    'every byte arrived, in the order written',
  );
});

/** Starts `link`, walks it to connected as a client would, and returns the server's side of its socket. */
async function connectedPeer(link: ReconnectingLink, sockets: net.Socket[]): Promise<net.Socket> {
  link.start();
  await waitState(link, 'connecting');
  link.advance('authenticating');
  link.established();
  while (sockets.length === 0) await new Promise((r) => setImmediate(r));
  return sockets[0]!;
}

/** Resolves once `data` holds `n` chunks (loopback I/O only: each turn of the loop may read one). */
async function chunks(data: Buffer[], n: number): Promise<void> {
  while (data.length < n) await new Promise((r) => setImmediate(r));
}

/** Resolves once `socket.write(text)` has handed the bytes to the kernel: on loopback they are then in the peer's receive queue. */
const sent = (socket: net.Socket, text: string): Promise<void> =>
  new Promise((resolve, reject) => socket.write(text, (err) => (err ? reject(err) : resolve())));

t.test(
  'readHold: what arrives during a hold is read in one go when it ends; a write resumes reading at once; 0 reads at once',
  async (t) => {
    const data: Buffer[] = [];
    let awaited = false;
    const { port, sockets } = await server(t);
    // As the AMI client says it: 20 ms while no reply is awaited, 0 while one is.
    const { link, timers } = rig(port, { data, readHold: () => (awaited ? 0 : 20) });
    const peer = await connectedPeer(link, sockets);
    const readCount = (n: number): Promise<void> => chunks(data, n);

    await sent(peer, 'event 1\r\n');
    await readCount(1);
    t.same(timers.armed(), [20], 'after a read with nothing awaited: reading held for what readHold says (20 ms)');
    await sent(peer, 'event 2\r\n');
    await sent(peer, 'event 3\r\n');
    // Both are in this process's receive queue (loopback); a few turns of the loop read nothing while held.
    for (let i = 0; i < 20; i++) await new Promise((r) => setImmediate(r));
    t.equal(data.length, 1, 'held: events 2 and 3 not read yet');
    timers.advance(20);
    await readCount(2);
    t.equal(data[1]?.toString(), 'event 2\r\nevent 3\r\n', 'the hold over: both read in one chunk');

    // A write (an action) resumes reading at once: its reply is never held.
    t.same(timers.armed(), [20], 'held again after that read');
    awaited = true;
    link.write('Action: Ping\r\n\r\n');
    t.same(timers.armed(), [], 'the write cancelled the hold');
    await sent(peer, 'Response: Success\r\n\r\n');
    await readCount(3);
    t.equal(data[2]?.toString(), 'Response: Success\r\n\r\n', 'the reply read without advancing any timer');
    t.same(timers.armed(), [], 'a reply is awaited: reading is not held');

    // stop() on a held socket still sees the peer's close (no wait for closeTimeoutMs, which is real time).
    awaited = false;
    await sent(peer, 'event 4\r\n');
    await readCount(4);
    t.same(timers.armed(), [20], 'held');
    peer.on('end', () => peer.end());
    await link.stop('bye\r\n');
    t.same(timers.armed(), [], 'stop cleared the hold timer');
    t.equal(link.state, 'stopped');
  },
);

t.test('a client whose readHold says 0, or that has none, never holds', async (t) => {
  for (const [name, readHold] of [
    ['readHold 0', () => 0],
    ['no readHold hook', undefined],
  ] as const) {
    const data: Buffer[] = [];
    const { port, sockets } = await server(t);
    const { link, timers } = rig(port, { data, ...(readHold !== undefined ? { readHold } : {}) });
    const peer = await connectedPeer(link, sockets);
    await sent(peer, 'a\r\n');
    await chunks(data, 1);
    t.same(timers.armed(), [], `${name}: no hold after a read`);
    await sent(peer, 'b\r\n');
    await chunks(data, 2);
    t.equal(data[1]?.toString(), 'b\r\n', `${name}: the next chunk read without any timer`);
    await link.stop('');
  }
});
t.test(
  'a write in the tick its connection fails is dropped with it, never sent on the next connection; a write with none is refused',
  async (t) => {
    // What each accepted connection received, once the client has closed it.
    const texts: string[] = [];
    let goodbye: (text: string) => void = () => undefined;
    const second = new Promise<string>((resolve) => (goodbye = resolve));
    const { port } = await server(t, (s) => {
      const got: Buffer[] = [];
      s.on('data', (d: Buffer) => got.push(d));
      s.on('end', () => {
        const text = Buffer.concat(got).toString();
        texts.push(text);
        if (text.endsWith('bye\r\n')) goodbye(text);
      });
    });
    const { link, timers } = rig(port);
    link.start();
    t.equal(link.write('for the first connection\r\n'), true, 'gathered for the first socket');
    link.fail('cut in the same tick');
    t.equal(link.write('with no connection\r\n'), false, 'in backoff: refused, not queued for the next one');
    timers.advance(100); // the backoff: reconnect
    t.equal(link.state, 'connecting');
    t.equal(link.write('for the second connection\r\n'), true);
    await link.stop('bye\r\n');
    t.equal(await second, 'for the second connection\r\nbye\r\n', 'the second connection got only its own writes');
    t.notOk(
      texts.some((x) => x.includes('first connection') || x.includes('no connection')),
      'what was written for the dead connection, or with none, went nowhere',
    );
  },
);

// One FastAGI connection (daemon/pbx/asterisk/agi-session.ts) fed chunk by chunk through a fake
// socket, so that every split the network could make is tried: lines decoded once per chunk must
// give what Asterisk sent, whatever the chunk boundaries (inside a UTF-8 character, between CR and
// LF); line limits are counted in bytes; multi-line replies; and how the session ends.
import t from 'tap';
import { EventEmitter } from 'node:events';
import type { Socket } from 'node:net';
import { AgiSession } from '../../../daemon/pbx/asterisk/agi-session.js';

/** The part of a net.Socket the session uses, recording what it is asked to do. */
class FakeSocket extends EventEmitter {
  written: string[] = [];
  destroyed = false;
  ended = false;
  writableLength = 0;
  write(s: string): boolean {
    this.written.push(s);
    return true;
  }
  end(): void {
    this.ended = true;
  }
  destroy(): void {
    if (this.destroyed) return;
    this.destroyed = true;
    queueMicrotask(() => this.emit('close'));
  }
  feed(...chunks: Array<string | Buffer>): void {
    for (const c of chunks) this.emit('data', typeof c === 'string' ? Buffer.from(c) : c);
  }
}

const session = (limits = {}): { sock: FakeSocket; s: AgiSession } => {
  const sock = new FakeSocket();
  return { sock, s: new AgiSession(sock as unknown as Socket, limits) };
};

/** What a promise rejected with (null when it resolved). */
const failure = (p: Promise<unknown>): Promise<unknown> =>
  p.then(
    () => null,
    (e: unknown) => e,
  );

const ENV =
  'agi_network: yes\r\nagi_network_script: call-inbound\nagi_callerid: +15557770001\n' +
  'agi_calleridname: Zoë 東京 "Ltd"\nagi_arg_1: id2:OiQ=:\nagi_accountcode: \n\n';
const EXPECTED = {
  agi_network: 'yes',
  agi_network_script: 'call-inbound',
  agi_callerid: '+15557770001',
  agi_calleridname: 'Zoë 東京 "Ltd"',
  agi_arg_1: 'id2:OiQ=:',
  agi_accountcode: '',
};

t.test('the environment is the same whatever the chunk boundaries', async (t) => {
  const bytes = Buffer.from(ENV, 'utf8');
  const whole = session();
  whole.sock.feed(bytes);
  t.same(await whole.s.environment(), EXPECTED, 'in one chunk');
  // Every two-way split, and byte by byte: inside "ë" and "東", between CR and LF, at the blank line.
  for (let cut = 1; cut < bytes.length; cut++) {
    const { sock, s } = session();
    sock.feed(bytes.subarray(0, cut), bytes.subarray(cut));
    t.same(await s.environment(), EXPECTED, `split at byte ${String(cut)}`);
  }
  const drip = session();
  for (let i = 0; i < bytes.length; i++) drip.sock.feed(bytes.subarray(i, i + 1));
  t.same(await drip.s.environment(), EXPECTED, 'one byte per chunk');
  t.equal(drip.s.activity, bytes.length, 'one activity per chunk read');
  t.ok(drip.s.environmentComplete);
});

t.test('lines are limited in bytes, across chunks too', async (t) => {
  const max = 64;
  // 'é' is two bytes: a line of 32 of them is 64 bytes (allowed), 33 is 66 (refused).
  const ok = session({ maxLineBytes: max });
  ok.sock.feed(`agi_x: ${'é'.repeat(28)}\n`.slice(0, 20), `agi_x: ${'é'.repeat(28)}\n`.slice(20), '\n');
  t.same(await ok.s.environment(), { agi_x: 'é'.repeat(28) }, '7 + 56 bytes: accepted');
  const long = session({ maxLineBytes: max });
  const line = `agi_x: ${'é'.repeat(29)}\n`; // 7 + 58 = 65 bytes before the LF
  long.sock.feed(Buffer.from(line).subarray(0, 30), Buffer.from(line).subarray(30));
  t.match(await failure(long.s.environment()), { reason: 'line-too-long' }, 'one byte over, split in two chunks');
  t.ok(long.sock.destroyed, 'and the socket destroyed');
  const never = session({ maxLineBytes: max });
  never.sock.feed('agi_x: ', 'a'.repeat(40), 'a'.repeat(40));
  t.match(await failure(never.s.environment()), { reason: 'line-too-long' }, 'a line that never ends');
  const garbage = session();
  garbage.sock.feed('agi_ok: 1\nGET / HTTP/1.1\r\n\r\n');
  t.match(await failure(garbage.s.environment()), { reason: 'not-agi' }, 'not AGI');
  const badKey = session();
  badKey.sock.feed('agi_a\u0011b: 1\n\n');
  t.match(await failure(badKey.s.environment()), { reason: 'not-agi' }, 'a control character in the name');
});

t.test('replies: one line, multi-line 520, noise before the reply, HANGUP', async (t) => {
  const { sock, s } = session();
  sock.feed('agi_network: yes\n\n');
  await s.environment();
  const first = s.command('SET VARIABLE A "1"');
  t.same(sock.written, ['SET VARIABLE A "1"\n']);
  sock.feed('200 res', 'ult=1\n');
  t.match(await first, { code: 200, result: 1 });
  const usage = s.command('BOGUS');
  sock.feed('tail of an earlier value\n520-Invalid command syntax.  Proper usage follows:\n', 'Usage: x\r\n');
  sock.feed('520 End of proper usage.\n');
  t.match(await usage, {
    code: 520,
    raw: '520-Invalid command syntax.  Proper usage follows:\nUsage: x\n520 End of proper usage.',
  });
  const get = s.command('GET FULL VARIABLE ${X}');
  sock.feed('200 result=1 (a (b) ü)\n');
  t.match(await get, { code: 200, result: 1, value: 'a (b) ü' });
  sock.feed('HANGUP\n');
  t.ok(s.hungUp, 'HANGUP marks the session');
  t.equal(await s.command('SET VARIABLE B "2"'), null, 'nothing sent after a HANGUP');
  t.equal(s.commands, 3);
  t.equal(s.activity, 3 + 8, 'three commands written, eight chunks read');
});

t.test('end(): closed at once when nothing is left to send; the close is no failure', async (t) => {
  const { sock, s } = session();
  sock.feed('agi_network: yes\n\n');
  await s.environment();
  const r = s.command('SET VARIABLE CALLSCREEN_ACTION "allow"');
  sock.feed('200 result=1\n');
  await r;
  s.end();
  t.ok(sock.destroyed, 'destroyed: a FIN, no shutdown and wait for the peer');
  t.notOk(sock.ended);
  await new Promise<void>((resolve) => sock.once('close', () => resolve()));
  t.equal(await s.command('SET VARIABLE X "1"'), null, 'after the close: nothing sent');
  t.equal(sock.written.length, 1);

  const queued = session();
  queued.sock.feed('agi_network: yes\n\n');
  await queued.s.environment();
  queued.sock.writableLength = 40; // a write the kernel has not taken yet
  queued.s.end();
  t.ok(queued.sock.ended, 'something still queued: end() flushes it first');
  t.notOk(queued.sock.destroyed);
});

// The AMI framing on its own (daemon/pbx/asterisk/ami-protocol.ts): the parser scans its text in
// place, so every split of the stream across reads — inside a key, a value, between CR and LF, on
// the empty line — must give the same frames as the whole stream at once.
import t from 'tap';
import {
  AmiParser,
  encodeAction,
  field,
  overlongField,
  type AmiFrame,
} from '../../../daemon/pbx/asterisk/ami-protocol.js';

/** Banner, then messages with every line shape the parser treats specially. */
const STREAM =
  'Asterisk Call Manager/9.0.0\r\n' +
  'Response: Success\r\nActionID: cs-1\r\nMessage: Updated database successfully\r\n\r\n' +
  // A value holding ": ", an empty value, a repeated key (first kept), spaces around a key.
  'Event: DBGetResponse\r\nVal: a: b\r\nEmpty:\r\nChanVariable: x=1\r\nChanVariable: y=2\r\n Spaced : v\r\n\r\n' +
  // Lines without a colon (command output), a colon first (no key): kept out of the fields.
  'Response: Follows\r\nno colon here\r\n: no key\r\nActionID: cs-2\r\n\r\n' +
  // Bare LF line endings, a value without the space after the colon, a CR inside a value.
  'Response: Error\nActionID:cs-3\nMessage: a\rb\n\n' +
  // Empty lines between messages are not messages; a line of only colon-less text still is one.
  '\r\n\r\njust text\r\n\r\n' +
  // A second banner-like line inside the stream is a field line, not a banner.
  'Asterisk Call Manager/9.0.0: not a banner\r\n\r\n';

const EXPECTED: AmiFrame[] = [
  { kind: 'banner', text: 'Asterisk Call Manager/9.0.0' },
  { kind: 'message', fields: { Response: 'Success', ActionID: 'cs-1', Message: 'Updated database successfully' } },
  {
    kind: 'message',
    fields: { Event: 'DBGetResponse', Val: 'a: b', Empty: '', ChanVariable: 'x=1', Spaced: 'v' },
  },
  { kind: 'message', fields: { Response: 'Follows', ActionID: 'cs-2' } },
  { kind: 'message', fields: { Response: 'Error', ActionID: 'cs-3', Message: 'a\rb' } },
  { kind: 'message', fields: {} },
  { kind: 'message', fields: { 'Asterisk Call Manager/9.0.0': 'not a banner' } },
];

function parseInChunks(chunks: readonly string[]): AmiFrame[] {
  const p = new AmiParser();
  return chunks.flatMap((c) => p.push(c));
}

/** Deterministic [0,1) source (mulberry32), so a failing split can be replayed. */
function seeded(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let x = Math.imul(a ^ (a >>> 15), 1 | a);
    x = (x + Math.imul(x ^ (x >>> 7), 61 | x)) ^ x;
    return ((x ^ (x >>> 14)) >>> 0) / 4294967296;
  };
}

t.test('the whole stream at once', async (t) => {
  t.same(parseInChunks([STREAM]), EXPECTED);
});

t.test('split in two at every position, and one character at a time', async (t) => {
  let wrong = 0;
  for (let i = 0; i <= STREAM.length; i++) {
    const got = parseInChunks([STREAM.slice(0, i), STREAM.slice(i)]);
    if (JSON.stringify(got) !== JSON.stringify(EXPECTED)) {
      wrong++;
      t.same(got, EXPECTED, `split at ${i}`);
    }
  }
  t.equal(wrong, 0, `all ${STREAM.length + 1} two-part splits give the same frames`);
  t.same(
    parseInChunks(Array.from({ length: STREAM.length }, (_, i) => STREAM.charAt(i))),
    EXPECTED,
    'one character per push',
  );
});

t.test('random chunkings of many responses in a row (a sync pipeline) keep every frame in order', async (t) => {
  const n = 2000;
  const wire = Array.from(
    { length: n },
    (_, i) => `Response: Success\r\nActionID: cs-${i}\r\nMessage: Updated database successfully\r\n\r\n`,
  ).join('');
  for (const seed of [1, 2, 3]) {
    const random = seeded(seed);
    const chunks: string[] = [];
    for (let at = 0; at < wire.length;) {
      const len = 1 + Math.floor(random() * 300);
      chunks.push(wire.slice(at, at + len));
      at += len;
    }
    const ids = parseInChunks(chunks).map((f) => (f.kind === 'message' ? f.fields.ActionID : f.text));
    t.same(
      ids,
      Array.from({ length: n }, (_, i) => `cs-${i}`),
      `seed ${seed}: ${chunks.length} chunks`,
    );
  }
});

t.test('a message past maxBytes without an empty line is refused, split or not', async (t) => {
  t.throws(() => new AmiParser(64).push('X'.repeat(100)), /larger than 64 bytes/, 'one line with no end');
  const p = new AmiParser(64);
  t.same(p.push('Response: Success\r\n'), [], 'under the bound: waits for the rest');
  t.throws(() => p.push('Output: ' + 'y'.repeat(30) + '\r\nOutput: ' + 'z'.repeat(30) + '\r\n'), /larger than 64/);
  // Messages under the bound one after the other do not add up.
  const q = new AmiParser(64);
  for (let i = 0; i < 3; i++) t.equal(q.push(`Response: Success\r\nActionID: cs-${i}\r\n\r\n`).length, 1);
});

t.test('encodeAction: fields in order, CR and LF inside a name or value become one space', async (t) => {
  t.equal(
    encodeAction('DBPut', 'cs-7', { Family: 'callscreen', Key: 'n/acme/+15551234567', Val: 'reject|603|entry:1|' }),
    'Action: DBPut\r\nActionID: cs-7\r\nFamily: callscreen\r\nKey: n/acme/+15551234567\r\nVal: reject|603|entry:1|\r\n\r\n',
  );
  t.equal(
    encodeAction('Message\nSend', 'cs-\r8', { 'To\r\n': 'a\r\n\r\nAction: Originate', Body: 'x\ry' }),
    'Action: Message Send\r\nActionID: cs- 8\r\nTo : a Action: Originate\r\nBody: x y\r\n\r\n',
  );
});

t.test('encodeAction: a list is one line per item under its name, in order, each made one line', async (t) => {
  t.equal(
    encodeAction('CallScreenDBPut', 'cs-9', { Family: 'callscreen', Count: '3', Put: ['a 1', 'b\r\nAction: x', 'c'] }),
    'Action: CallScreenDBPut\r\nActionID: cs-9\r\nFamily: callscreen\r\nCount: 3\r\nPut: a 1\r\nPut: b Action: x\r\nPut: c\r\n\r\n',
  );
  t.equal(encodeAction('CallScreenDBPut', 'cs-10', { Put: [] }), 'Action: CallScreenDBPut\r\nActionID: cs-10\r\n\r\n');
  t.equal(
    overlongField({ Put: ['short', 'x'.repeat(1018)] }),
    'Put',
    'any item too long for one AMI line names the field',
  );
  t.equal(overlongField({ Put: ['short', 'x'.repeat(1017)] }), null, '"Put: " and 1,017 characters fit');
});

t.test('field: exact key first, else case-insensitive; absent is undefined', async (t) => {
  const msg = { Response: 'Success', actionid: 'cs-1', Message: 'ok' };
  t.equal(field(msg, 'Response'), 'Success');
  t.equal(field(msg, 'ActionID'), 'cs-1');
  t.equal(field(msg, 'MESSAGE'), 'ok');
  t.equal(field(msg, 'Event'), undefined);
  t.equal(field({}, 'Event'), undefined);
});

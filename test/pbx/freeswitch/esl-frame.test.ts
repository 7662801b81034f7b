import t from 'tap';
import { EslFrameReader, EslProtocolError, executeCommand } from '../../../daemon/pbx/freeswitch/esl-frame.js';

t.test('frames split anywhere reassemble; values are URL-decoded; bodies follow Content-Length', async (t) => {
  const wire = Buffer.from(
    'Content-Type: command/reply\nReply-Text: +OK\nCaller-Caller-ID-Name: Bob%20Smith\n\n' +
      'Content-Type: api/response\nContent-Length: 5\n\nSent!' +
      'Content-Type: text/event-plain\nContent-Length: 0\n\n',
  );
  for (const size of [1, 3, 17, wire.length]) {
    const r = new EslFrameReader();
    const frames = [];
    for (let i = 0; i < wire.length; i += size) frames.push(...r.push(wire.subarray(i, i + size)));
    t.same(
      frames.map((f) => [f.headers['Content-Type'], f.body]),
      [
        ['command/reply', ''],
        ['api/response', 'Sent!'],
        ['text/event-plain', ''],
      ],
      `pieces of ${size}`,
    );
    t.equal(frames[0]?.headers['Caller-Caller-ID-Name'], 'Bob Smith');
    t.equal(r.buffered, 0);
  }
});

t.test('bad input fails with a reason', async (t) => {
  const reason = (input: string, limits = {}): string => {
    try {
      new EslFrameReader(limits).push(Buffer.from(input));
      return 'none';
    } catch (e) {
      return e instanceof EslProtocolError ? e.reason : 'other';
    }
  };
  t.equal(reason('HTTP/1.1 200 OK\n\n'), 'not-esl');
  t.equal(reason('Content-Length: -1\n\n'), 'not-esl');
  t.equal(reason('Content-Length: 999999\n\n', { maxBodyBytes: 1000 }), 'body-too-long');
  t.equal(
    reason(`A: ${'x'.repeat(200)}`, { maxHeaderBytes: 100 }),
    'header-too-long',
    'no blank line yet, already too long',
  );
  t.equal(reason('A: b%ZZ\n\n'), 'none', 'bad percent-encoding kept as sent');
});

t.test('sendmsg arguments cannot smuggle headers', async (t) => {
  t.equal(
    executeCommand('respond', '603\nexecute-app-name: hangup'),
    'sendmsg\ncall-command: execute\nexecute-app-name: respond\nexecute-app-arg: 603 execute-app-name: hangup\n\n',
  );
});

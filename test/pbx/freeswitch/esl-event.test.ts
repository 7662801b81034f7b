// parseEventPlain against event bodies written the way switch_event_serialize writes them
// (test/support/fake-freeswitch-inbound.ts serializeEvent), and against broken ones.
import t from 'tap';
import { parseEventPlain } from '../../../daemon/pbx/freeswitch/esl-event.js';
import { chatplanMessage, serializeEvent } from '../../support/fake-freeswitch-inbound.js';

t.test('a MESSAGE event: values URL-decoded, _undef_ read as empty, the body cut at its byte length', async (t) => {
  const body = 'Hi Bob,\n\nsee you at 5 — café?\nContent-Length: 3\n\n';
  const text = serializeEvent(
    chatplanMessage({ subject: '', from_full: '"Dr. Ünal" <sip:+15557770001@carrier.example>;tag=a b' }),
    body,
  );
  t.match(text, /from_full: %22Dr\.%20%C3%9Cnal%22%20%3Csip%3A/, 'the wire form is URL-encoded');
  const r = parseEventPlain(text);
  if (!r.ok) throw new Error(r.error);
  t.equal(r.event.headers['from_full'], '"Dr. Ünal" <sip:+15557770001@carrier.example>;tag=a b');
  t.equal(r.event.headers['subject'], '', '_undef_ is an empty value');
  t.equal(r.event.headers['Event-Name'], 'MESSAGE');
  t.equal(r.event.headers['Content-Length'], undefined, 'the inner length is framing, not a header');
  t.equal(
    r.event.body,
    body,
    'blank lines and a fake Content-Length inside the body survive; multi-byte characters counted in bytes',
  );
});

t.test('an event with no body ends at its blank line', async (t) => {
  const r = parseEventPlain(serializeEvent({ 'Event-Name': 'HEARTBEAT', 'Up-Time': '0 years, 1 day' }));
  t.same(r, { ok: true, event: { headers: { 'Event-Name': 'HEARTBEAT', 'Up-Time': '0 years, 1 day' }, body: '' } });
});

t.test('broken bodies are refused with a reason, never half-read', async (t) => {
  t.same(parseEventPlain(''), { ok: false, error: 'no-header-block' });
  t.same(parseEventPlain('\n\n'), { ok: false, error: 'no-header-block' });
  t.same(parseEventPlain('GET / HTTP/1.1\nHost: x\n\n'), { ok: false, error: 'bad-header-line' });
  t.same(parseEventPlain('Event-Name: MESSAGE\nContent-Length: -4\n\nabcd'), {
    ok: false,
    error: 'bad-content-length',
  });
  t.same(parseEventPlain('Event-Name: MESSAGE\nContent-Length: 10\n\nabc'), { ok: false, error: 'short-body' });
});

t.test(
  'header names are only names: __proto__ and constructor change nothing; the first of a repeated header wins',
  async (t) => {
    const r = parseEventPlain('__proto__: polluted\nconstructor: x\nto: a\nto: b\n\n');
    if (!r.ok) throw new Error(r.error);
    t.equal(r.event.headers['to'], 'a', 'as switch_event_get_header reads it');
    t.equal(Object.getPrototypeOf(r.event.headers), null);
    t.equal(r.event.headers['__proto__'], 'polluted');
    t.equal(({} as Record<string, unknown>)['polluted'], undefined);
  },
);

t.test('CRLF line ends in the header block are tolerated; the body is kept byte for byte', async (t) => {
  const r = parseEventPlain('Event-Name: MESSAGE\r\nContent-Length: 4\r\n\r\na\r\nb');
  t.same(r, { ok: true, event: { headers: { 'Event-Name': 'MESSAGE' }, body: 'a\r\nb' } });
});

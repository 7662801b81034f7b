// The SIP.js softphone helper: warning routing on a UserAgent's delegate (message objects stand in
// for SIP.js's, which need a live transport), and precheck() against a real local HTTP server.
// The warning over a real SIP.js UA and Asterisk is in test/e2e/asterisk-agents.test.ts.
import t from 'tap';
import http from 'node:http';
import type { Message, UserAgent } from 'sip.js';
import { precheck, watchWarnings } from '../../daemon/agents/softphone-helper.js';

function fakeMessage(body: string): { message: Message; accepted: () => number } {
  let accepted = 0;
  const message = {
    request: { body },
    accept: async () => {
      accepted++;
    },
  } as unknown as Message;
  return { message, accepted: () => accepted };
}

t.test('watchWarnings: callscreen messages are accepted and shown; others go to the app', async (t) => {
  const others: string[] = [];
  const ua = { delegate: { onMessage: (m: Message) => others.push(m.request.body) } } as Pick<UserAgent, 'delegate'>;
  const shown: string[] = [];
  const restore = watchWarnings(ua, (text) => shown.push(text));

  const warning = fakeMessage('callscreen: You are calling +15559990666 (Acme), which is on the block list.');
  ua.delegate?.onMessage?.(warning.message);
  t.same(shown, ['callscreen: You are calling +15559990666 (Acme), which is on the block list.']);
  t.equal(warning.accepted(), 1, 'accepted (200) so the PBX does not retry');

  const chat = fakeMessage('see you at 3');
  ua.delegate?.onMessage?.(chat.message);
  t.same(others, ['see you at 3'], 'ordinary messages reach the previous handler');
  t.equal(chat.accepted(), 0, 'and are left for it to answer');

  restore();
  ua.delegate?.onMessage?.(fakeMessage('callscreen: later').message);
  t.same(shown.length, 1, 'after restore the helper no longer intercepts');
  t.same(others, ['see you at 3', 'callscreen: later']);
});

t.test('watchWarnings on a UA with no handler accepts ordinary messages itself', async (t) => {
  const ua = { delegate: undefined } as Pick<UserAgent, 'delegate'>;
  watchWarnings(ua, () => undefined);
  const chat = fakeMessage('hello');
  ua.delegate?.onMessage?.(chat.message);
  t.equal(chat.accepted(), 1);
});

t.test('precheck: path, query, bearer token, and advice per action', async (t) => {
  const seen: Array<{ url: string; auth: string | undefined }> = [];
  let reply: { status: number; body: unknown; hang?: boolean } = { status: 200, body: {} };
  const server = http.createServer((req, res) => {
    seen.push({ url: req.url ?? '', auth: req.headers.authorization });
    if (reply.hang) return;
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', () => resolve()));
  t.teardown(() => {
    server.closeAllConnections();
    return new Promise<void>((resolve) => server.close(() => resolve()));
  });
  const baseUrl = `http://127.0.0.1:${(server.address() as { port: number }).port}/`;
  const opts = { baseUrl, org: 'demo', token: 'tok-123' };

  reply = { status: 200, body: { action: 'deny', reason: 'blocked: Acme (harassment)', normalized: '+15559990666' } };
  t.same(await precheck('+1 555 999 0666', opts), {
    advice: 'abort',
    action: 'deny',
    reason: 'blocked: Acme (harassment)',
    normalized: '+15559990666',
  });
  t.same(seen[0], { url: '/api/v1/orgs/demo/precheck?number=%2B1%20555%20999%200666', auth: 'Bearer tok-123' });

  const advice = async (action: string): Promise<string> => {
    reply = { status: 200, body: { action, reason: 'r', normalized: '+15550000001' } };
    return (await precheck('+15550000001', opts)).advice;
  };
  t.same([await advice('allow'), await advice('warn'), await advice('confirm')], ['proceed', 'proceed', 'confirm']);

  reply = { status: 401, body: { code: 'CS_ERR_UNAUTHENTICATED' } };
  t.match(
    await precheck('+15550000001', opts),
    { advice: 'proceed', action: 'unknown', error: 'HTTP 401' },
    'an error never stops the agent',
  );

  reply = { status: 200, body: { action: 'explode' } };
  t.match(await precheck('+15550000001', opts), { advice: 'proceed', error: /unexpected answer/ });

  reply = { status: 200, body: null, hang: true };
  const t0 = Date.now();
  t.match(await precheck('+15550000001', { ...opts, timeoutMs: 100 }), { advice: 'proceed', error: 'timed out' });
  t.ok(Date.now() - t0 < 1000, 'bounded by timeoutMs');

  t.match(
    await precheck('+15550000001', { ...opts, baseUrl: 'http://127.0.0.1:1' }),
    { advice: 'proceed', action: 'unknown' },
    'daemon down: proceed',
  );
});

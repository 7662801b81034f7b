// The SIP edge (drachtio-srf) against test/support/fake-drachtio.ts, a protocol peer that plays
// drachtio-server in its `length#message` TCP framing as a real drachtio-server 0.9.4 does (the
// real one: test/e2e/sip-edge-drachtio.test.ts). Real daemon underneath.
import t from 'tap';
import { captureLogger, cliActor, services, startDaemon, type TapLike } from '../../support/harness.js';
import { FakeDrachtio, sipRequest } from '../../support/fake-drachtio.js';
import { SipEdge } from '../../../daemon/pbx/sip-edge/sip-edge.js';
import { listAttestedBank } from '../../support/attested-bank.js';

async function rig(
  t: TapLike,
  opts: {
    secret?: string;
    voicemailUri?: string;
    reconnectMaxMs?: number;
    failMode?: 'open' | 'closed';
    holdFails?: boolean;
  } = {},
) {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', reason: 'robocalls' },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'exact', number: '+15557770003' }, { mode: 'voicemail' }, cliActor);
  const fake = new FakeDrachtio('s3cret');
  const port = await fake.listen();
  t.teardown(() => fake.close());
  const { logger, lines } = captureLogger('debug');
  let edge: SipEdge | undefined;
  const { ctx } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    toml: `[screening]\nfail_mode = "${opts.failMode ?? 'open'}"\n[sip_edge]\nhost = "127.0.0.1"\nport = ${port}\nsecret = "${opts.secret ?? 's3cret'}"\npbx_uri = "sip:10.0.0.5:5060"\nvoicemail_uri = "${opts.voicemailUri ?? ''}"\n`,
    components: (ctx) => [
      (edge = new SipEdge({
        screening: ctx.screening,
        quarantine: opts.holdFails ? { hold: () => Promise.reject(new Error('disk I/O error')) } : ctx.quarantine,
        config: () => ctx.config,
        logger,
        ...(opts.reconnectMaxMs ? { reconnectMaxMs: opts.reconnectMaxMs } : {}),
      })),
    ],
  });
  if (!edge) throw new Error('no edge');
  return { ctx, edge, fake, port, lines };
}

const status = (sip: string): string => /^SIP\/2\.0 (\d{3})/.exec(sip)?.[1] ?? '';

t.test('connects, authenticates with the secret, routes INVITE and MESSAGE; secret never logged', async (t) => {
  const r = await rig(t);
  await r.fake.until(() => r.fake.routes.length === 2);
  const auth = r.fake.received[0];
  t.same([auth?.verb, auth?.tokens[0]], ['authenticate', 's3cret'], 'authenticate|<secret>|<tags> first');
  t.same(r.fake.routes.sort(), ['invite', 'message']);
  await new Promise((res) => setTimeout(res, 20)); // srf emits connect on a later tick
  t.equal(r.edge.state, 'connected');
  t.notMatch(JSON.stringify(r.lines), /s3cret/, 'secret not in logs');
});

t.test(
  'INVITE: blocked → 603 from the edge; org codes 607/486; voicemail → 302 to the PBX; allowed → proxied',
  async (t) => {
    const r = await rig(t);
    await r.fake.until(() => r.fake.routes.length === 2);
    const blocked = r.fake.sendRequest(sipRequest('INVITE', { from: '+15557770001', to: '+15550100' }));
    await r.fake.until(() => r.fake.forTxn(blocked).length > 0);
    const [res] = r.fake.forTxn(blocked);
    t.equal(res?.verb, 'sip');
    t.equal(status(res?.sip ?? ''), '603', 'recorded response: SIP/2.0 603');

    await r.ctx.orgs.updateSettings('demo', { rejectCode: 607 }, cliActor);
    await r.ctx.feed.poll();
    const unwanted = r.fake.sendRequest(sipRequest('INVITE', { from: '5557770001', to: '+15550100' }));
    await r.fake.until(() => r.fake.forTxn(unwanted).length > 0);
    t.match(
      r.fake.forTxn(unwanted)[0]?.sip ?? '',
      /^SIP\/2\.0 607 Unwanted\r\n/,
      "org code 607: sent as 607 Unwanted past drachtio-srf's status table",
    );
    await r.ctx.orgs.updateSettings('demo', { rejectCode: 486 }, cliActor);
    await r.ctx.feed.poll();

    const vm = r.fake.sendRequest(sipRequest('INVITE', { from: '+15557770003', to: '+15550100' }));
    await r.fake.until(() => r.fake.forTxn(vm).length > 0);
    const vmRes = r.fake.forTxn(vm)[0]?.sip ?? '';
    t.equal(status(vmRes), '302');
    t.match(vmRes, /Contact: <sip:\+15550100@10\.0\.0\.5:5060;callscreen=voicemail>/i);

    const ok = r.fake.sendRequest(sipRequest('INVITE', { from: '+15550000000', to: '+15550100' }));
    await r.fake.until(() => r.fake.forTxn(ok).length > 0);
    const proxy = r.fake.forTxn(ok)[0];
    t.equal(proxy?.verb, 'proxy', 'allowed call proxied by drachtio-server');
    t.equal(proxy?.tokens.at(-1), 'sip:+15550100@10.0.0.5:5060', 'to pbx_uri with the DID');
    t.equal(
      r.fake.forTxn(ok).length,
      1,
      "nothing else sent for it: the destination's answer goes back by drachtio-server",
    );

    const pai = r.fake.sendRequest(
      sipRequest('INVITE', {
        from: '+15550000000',
        to: '+15550100',
        headers: { 'P-Asserted-Identity': '<sip:+15557770001@carrier>' },
      }),
    );
    await r.fake.until(() => r.fake.forTxn(pai).length > 0);
    t.equal(status(r.fake.forTxn(pai)[0]?.sip ?? ''), '486', 'P-Asserted-Identity is screened; org code 486 Busy Here');
    await r.ctx.recorder.flush();
    const org = r.ctx.index.org('demo');
    t.ok(org && (await r.ctx.recorder.recent(org.org.id, 10)).some((x) => x.adapter === 'sip-edge'), 'recorded');
  },
);

t.test('voicemail_uri set: voicemail-mode callers are proxied there', async (t) => {
  const r = await rig(t, { voicemailUri: 'sip:vm-{did}@10.0.0.9' });
  await r.fake.until(() => r.fake.routes.length === 2);
  const vm = r.fake.sendRequest(sipRequest('INVITE', { from: '+15557770003', to: '+15550100' }));
  await r.fake.until(() => r.fake.forTxn(vm).length > 0);
  t.same([r.fake.forTxn(vm)[0]?.verb, r.fake.forTxn(vm)[0]?.tokens.at(-1)], ['proxy', 'sip:vm-+15550100@10.0.0.9']);
});

t.test('MESSAGE: blocked sender held in quarantine and refused with 603; allowed proxied', async (t) => {
  const r = await rig(t);
  await r.fake.until(() => r.fake.routes.length === 2);
  const bad = r.fake.sendRequest(sipRequest('MESSAGE', { from: '+15557770001', to: '+15550100', body: 'win a prize' }));
  await r.fake.until(() => r.fake.forTxn(bad).length > 0);
  t.equal(status(r.fake.forTxn(bad)[0]?.sip ?? ''), '603');
  const org = r.ctx.index.org('demo');
  const held = org ? await r.ctx.quarantine.list(org.org.id) : { messages: [] };
  t.match(held.messages, [{ body: 'win a prize', from: '+15557770001', to: '+15550100', adapter: 'sip-edge' }]);
  const good = r.fake.sendRequest(sipRequest('MESSAGE', { from: '+15550000000', to: '+15550100', body: 'hi' }));
  await r.fake.until(() => r.fake.forTxn(good).length > 0);
  t.equal(r.fake.forTxn(good)[0]?.verb, 'proxy');
});

t.test(
  'partial and malformed frames: an INVITE in 5-byte pieces is answered; an unparseable SIP message is dropped',
  async (t) => {
    const r = await rig(t);
    await r.fake.until(() => r.fake.routes.length === 2);
    const errors: unknown[] = [];
    const orig = console.error;
    console.error = (...a: unknown[]) => {
      errors.push(a);
    }; // drachtio-srf reports bad SIP on console.error
    t.teardown(() => {
      console.error = orig;
    });
    const bad = r.fake.sendRequest('this is not SIP\r\n\r\n');
    const split = r.fake.sendRequest(sipRequest('INVITE', { from: '+15557770001', to: '+15550100' }), {
      chunkBytes: 5,
    });
    await r.fake.until(() => r.fake.forTxn(split).length > 0);
    t.equal(status(r.fake.forTxn(split)[0]?.sip ?? ''), '603', 'reassembled and answered');
    t.same(r.fake.forTxn(bad), [], 'no answer to garbage');
    t.equal(r.edge.state, 'connected', 'still connected');
  },
);

t.test('drachtio-server restart: the edge reconnects, re-authenticates and serves again', async (t) => {
  const r = await rig(t);
  await r.fake.until(() => r.fake.routes.length === 2);
  await r.fake.close();
  await new Promise((res) => setTimeout(res, 100));
  t.not(r.edge.state, 'connected', `state after drop: ${r.edge.state}`);
  await r.fake.listen(r.port);
  await r.fake.until(() => r.fake.routes.length === 2, 5000);
  await new Promise((res) => setImmediate(res));
  t.equal(r.edge.state, 'connected');
  t.equal(r.fake.received.filter((m) => m.verb === 'authenticate').length, 2, 'authenticated again');
  const txn = r.fake.sendRequest(sipRequest('INVITE', { from: '+15557770001', to: '+15550100' }));
  await r.fake.until(() => r.fake.forTxn(txn).length > 0);
  t.equal(status(r.fake.forTxn(txn)[0]?.sip ?? ''), '603');
});

t.test('wrong secret: not connected, health not ok; drachtio-server closes and srf retries, logged once', async (t) => {
  const r = await rig(t, { secret: 'wrong' });
  await r.fake.until(() => r.fake.received.filter((m) => m.verb === 'authenticate').length >= 3, 5000);
  await new Promise((res) => setTimeout(res, 50));
  t.notOk(r.fake.authenticated);
  t.match(r.edge.health(), { ok: false, detail: { refused: true } });
  t.equal(
    r.lines.filter((l) => l.msg === 'drachtio-server refused the edge (check sip_edge.secret)').length,
    1,
    'one error for the run of refusals',
  );
  t.ok(
    r.lines.some((l) => l.msg === 'drachtio-server refused the edge again'),
    'the retries at debug',
  );
});

t.test('reconnect delay is capped (drachtio-srf alone grows it ×1.7 without end)', async (t) => {
  const r = await rig(t, { reconnectMaxMs: 500 });
  await r.fake.until(() => r.fake.routes.length === 2);
  await r.fake.close();
  const delays = (): number[] =>
    r.lines.filter((l) => l.msg === 'drachtio reconnect scheduled').map((l) => Number(l.delayMs));
  await r.fake.until(() => false, 1).catch(() => undefined);
  for (let i = 0; i < 100 && !delays().includes(500); i++) await new Promise((res) => setTimeout(res, 50));
  t.ok(delays().length >= 3, `delays: ${delays().join(', ')}`);
  t.ok(
    delays().every((d) => d <= 500),
    'never above reconnectMaxMs',
  );
  t.ok(delays().includes(500), 'and held at it');
  await r.fake.listen(r.port);
  await r.fake.until(() => r.fake.routes.length === 2, 5000);
  await new Promise((res) => setImmediate(res));
  t.equal(r.edge.state, 'connected');
});

t.test(
  'stopped while drachtio-server is down: the edge stays stopped (Srf#disconnect alone would throw and keep retrying)',
  async (t) => {
    const r = await rig(t, { reconnectMaxMs: 300 });
    await r.fake.until(() => r.fake.routes.length === 2);
    await r.fake.close();
    await r.fake.until(() => false, 400).catch(() => undefined); // a few refused retries
    await r.edge.stop();
    const before = r.fake.connections;
    await r.fake.listen(r.port);
    await r.fake.until(() => r.fake.connections > before, 1000).catch(() => undefined); // > 3 × the 300 ms cap
    t.equal(r.fake.connections, before, 'no connection after stop');
    t.equal(r.edge.state, 'stopped');
  },
);

t.test(
  'fail modes come from the screening service: unknown DID open → proxied, closed → 503; hold failure open → passed on',
  async (t) => {
    const open = await rig(t, { holdFails: true });
    await open.fake.until(() => open.fake.routes.length === 2);
    const unknown = open.fake.sendRequest(sipRequest('INVITE', { from: '+15557770001', to: '+15559999999' }));
    await open.fake.until(() => open.fake.forTxn(unknown).length > 0);
    t.equal(open.fake.forTxn(unknown)[0]?.verb, 'proxy', 'no org for the DID, fail open: passed on');
    const sms = open.fake.sendRequest(sipRequest('MESSAGE', { from: '+15557770001', to: '+15550100', body: 'x' }));
    await open.fake.until(() => open.fake.forTxn(sms).length > 0);
    t.equal(
      open.fake.forTxn(sms)[0]?.verb,
      'proxy',
      'blocked sender but the hold failed, fail open: passed on, not lost',
    );
    t.ok(open.lines.some((l) => l.msg === 'message could not be held' && l.then === 'allow'));
    t.ok(
      open.lines.some((l) => l.msg === 'not screened: let through (fail open)' && l.fallback === 'hold-failed'),
      'the service logged the fallback',
    );

    const closed = await rig(t, { failMode: 'closed', holdFails: true });
    await closed.fake.until(() => closed.fake.routes.length === 2);
    const call = closed.fake.sendRequest(sipRequest('INVITE', { from: '+15550000000', to: '+15559999999' }));
    const msg = closed.fake.sendRequest(sipRequest('MESSAGE', { from: '+15557770001', to: '+15550100', body: 'x' }));
    await closed.fake.until(() => closed.fake.forTxn(call).length > 0 && closed.fake.forTxn(msg).length > 0);
    t.equal(status(closed.fake.forTxn(call)[0]?.sip ?? ''), '503', 'no org, fail closed: 503');
    t.equal(
      status(closed.fake.forTxn(msg)[0]?.sip ?? ''),
      '503',
      'hold failed, fail closed: 503 (the sender may retry)',
    );
  },
);

t.test('a proxied request the PBX refuses is logged with its status; one it takes is not', async (t) => {
  const r = await rig(t);
  await r.fake.until(() => r.fake.routes.length === 2);
  const ok = r.fake.sendRequest(sipRequest('INVITE', { from: '+15550000000', to: '+15550100' }));
  await r.fake.until(() => r.fake.forTxn(ok).length > 0);
  r.fake.proxyStatus = 503;
  const down = r.fake.sendRequest(sipRequest('MESSAGE', { from: '+15550000000', to: '+15550100', body: 'hi' }));
  await r.fake.until(() => r.fake.forTxn(down).length > 0);
  const refused = (): Array<Record<string, unknown>> =>
    r.lines.filter((l) => l.msg === 'the destination refused the request');
  for (let i = 0; i < 50 && refused().length === 0; i++) await new Promise((res) => setTimeout(res, 10));
  t.match(
    refused(),
    [{ status: 503, destination: 'sip:+15550100@10.0.0.5:5060' }],
    'only the refused one, with its status',
  );
  t.match(r.edge.health(), { detail: { unanswered: 1 } });
});

t.test(
  'identity headers (issue #16): verstat failed → the org’s action; Remote-Party-ID; an own DID unattested',
  async (t) => {
    const r = await rig(t);
    await r.fake.until(() => r.fake.routes.length === 2);
    await r.ctx.orgs.updateSettings('demo', { attestationFailed: 'reject', rejectCode: 607 }, cliActor);
    await r.ctx.feed.poll();
    const send = async (from: string, headers: Record<string, string>): Promise<string> => {
      const txn = r.fake.sendRequest(sipRequest('INVITE', { from, to: '+15550100', headers }));
      await r.fake.until(() => r.fake.forTxn(txn).length > 0);
      const first = r.fake.forTxn(txn)[0];
      return first?.verb === 'proxy' ? 'proxied' : status(first?.sip ?? '');
    };
    t.equal(
      await send('+15558880001', {
        'P-Asserted-Identity': '<sip:+15558880001;verstat=TN-Validation-Failed@carrier;user=phone>',
      }),
      '607',
      'failed verification rejected',
    );
    t.equal(
      await send('+15558880001', {
        'P-Asserted-Identity': '<sip:+15558880001;verstat=TN-Validation-Passed@carrier;user=phone>',
      }),
      'proxied',
      'passed: proxied',
    );
    t.equal(
      await send('anonymous', { 'Remote-Party-ID': '<sip:+15557770001@carrier>;party=calling;screen=yes' }),
      '607',
      'the RPID names a blocked caller',
    );
    t.equal(await send('+15550100', {}), '302', 'an own DID unattested: voicemail (302 to the PBX)');
    t.equal(
      await send('+15550100', { 'P-Asserted-Identity': '<sip:+15550100;verstat=TN-Validation-Passed-A@carrier>' }),
      'proxied',
      'attested A: let through',
    );
    await r.ctx.recorder.flush();
    const org = r.ctx.index.org('demo');
    const recent = org ? await r.ctx.recorder.recent(org.org.id, 10) : [];
    t.ok(
      recent.some((x) => x.attestation === 'failed' && x.action === 'reject' && x.rule_kind === 'attestation'),
      'recorded with the attestation',
    );
  },
);

t.test(
  'MESSAGE attestation (issue #16): verstat failed → held; "allow only when attested" counts only when attested',
  async (t) => {
    const r = await rig(t);
    await r.fake.until(() => r.fake.routes.length === 2);
    await listAttestedBank(r.ctx, 'voicemail');
    await r.ctx.feed.poll();
    const send = async (from: string, headers: Record<string, string>, body: string): Promise<string> => {
      const txn = r.fake.sendRequest(sipRequest('MESSAGE', { from, to: '+15550100', headers, body }));
      await r.fake.until(() => r.fake.forTxn(txn).length > 0);
      const first = r.fake.forTxn(txn)[0];
      return first?.verb === 'proxy' ? 'proxied' : status(first?.sip ?? '');
    };
    t.equal(
      await send(
        '+15558880001',
        { 'P-Asserted-Identity': '<sip:+15558880001;verstat=TN-Validation-Failed@carrier;user=phone>' },
        'failed-pai',
      ),
      '603',
      'verstat failed in the PAI: held and refused like any blocked message',
    );
    t.equal(
      await send('+15558880002;verstat=TN-Validation-Failed', {}, 'failed-from'),
      '603',
      'verstat failed in the From user part: held',
    );
    t.equal(
      await send(
        '+15558880003',
        { 'P-Asserted-Identity': '<sip:+15558880003;verstat=TN-Validation-Passed@carrier;user=phone>' },
        'passed',
      ),
      'proxied',
      'passed: passed on',
    );
    t.equal(
      await send(
        '+15557790001',
        { 'P-Asserted-Identity': '<sip:+15557790001;verstat=TN-Validation-Passed-A@carrier;user=phone>' },
        'bank-attested',
      ),
      'proxied',
      'the bank attested A: its allow entry counts',
    );
    t.equal(
      await send('+15557790001', {}, 'bank-unattested'),
      '603',
      'the bank unattested: screened as if the entry were not there (the prefix block holds it)',
    );
    const org = r.ctx.index.org('demo');
    const held = org ? await r.ctx.quarantine.list(org.org.id) : { messages: [] };
    t.same(
      held.messages.map((m) => m.body).sort(),
      ['bank-unattested', 'failed-from', 'failed-pai'],
      'the three held messages',
    );
    await r.ctx.recorder.flush();
    const recent = org ? await r.ctx.recorder.recent(org.org.id, 10) : [];
    t.ok(
      recent.some(
        (x) =>
          x.channel === 'sms' &&
          x.attestation === 'failed' &&
          x.rule_kind === 'attestation' &&
          x.action === 'quarantine',
      ),
      'recorded as an SMS with its attestation and the attestation rule',
    );
    t.ok(
      recent.some((x) => x.channel === 'sms' && x.attestation === 'passed-A' && x.action === 'allow'),
      'the attested bank recorded passed-A',
    );
  },
);

// The outbound Event Socket server against test/support/fake-freeswitch.ts, a protocol peer that
// plays FreeSWITCH's side in real ESL framing. Real daemon underneath (SQLite, index, screener).
import t from 'tap';
import net from 'node:net';
import { captureLogger, cliActor, services, startDaemon, type TapLike } from '../../support/harness.js';
import { channelData, dialOut, executed } from '../../support/fake-freeswitch.js';
import { EslServer } from '../../../daemon/pbx/freeswitch/esl-server.js';
import type { DaemonContext } from '../../../daemon/daemon-context.js';

interface Rig {
  ctx: DaemonContext;
  server: EslServer;
  port: number;
  lines: Array<Record<string, unknown>>;
}

async function rig(
  t: TapLike,
  toml = '',
  options: { sessionDeadlineMs?: number; maxHeaderBytes?: number; exchange?: 'one' | 'classic' } = {},
): Promise<Rig> {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100', '+15550101'], cliActor);
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', name: 'Spam Inc', reason: 'robocalls' },
    cliActor,
  );
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770003' },
    { mode: 'voicemail', reason: 'ex-customer' },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'voicemail', reason: 'no caller id' }, cliActor);
  const { logger, lines } = captureLogger('debug');
  let server: EslServer | undefined;
  const { ctx } = await startDaemon(t, s.dbPath, {
    clock: s.clock,
    toml,
    components: (ctx) => [
      (server = new EslServer(
        { screening: ctx.screening, config: () => ctx.config, logger },
        { listen: '127.0.0.1:0', ...options },
      )),
    ],
  });
  if (!server) throw new Error('no server');
  return { ctx, server, port: Number(server.address().split(':').at(-1)), lines };
}

const recorded = async (ctx: DaemonContext) => {
  await ctx.recorder.flush();
  const org = ctx.index.org('demo');
  return org ? ctx.recorder.recent(org.org.id, 100) : [];
};

t.test('blocked caller: rejected before answer with the org SIP code, one command, then FIN', async (t) => {
  const r = await rig(t);
  const call = await dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': '+15557770001' }));
  t.equal(call.commands[0], 'connect', 'connect is the first thing sent');
  t.same(executed(call), ['respond 603'], 'respond 603 alone (default reject code): no set before it');
  t.equal(call.commands.length, 2, 'connect and the respond: no exit, the server closes its side');
  t.equal(call.endedBy, 'server');

  await r.ctx.orgs.updateSettings('demo', { rejectCode: 486 }, cliActor);
  await r.ctx.feed.poll();
  const busy = await dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': '5557770001' }));
  t.same(executed(busy), ['respond 486'], 'the org reject code is used (486 Busy Here)');

  const rows = await recorded(r.ctx);
  t.ok(
    rows.length >= 2 &&
      rows.every((x) => x.adapter === 'esl' && x.action === 'reject' && typeof x.call_id === 'string'),
    'recorded as esl calls',
  );
  const log = r.lines.find((l) => l.msg === 'call screened' && l.verdict === 'reject');
  t.match(
    log,
    { org: 'demo', from: '+15557770001', to: '+15550100' },
    'per-call log line with org, call id, from, to, verdict',
  );
  t.type(log?.callId, 'string');
});

t.test('voicemail-mode caller: transferred to the DID in callscreen_voicemail; withheld caller too', async (t) => {
  const r = await rig(t);
  const vm = await dialOut(
    r.port,
    channelData({ 'Caller-Caller-ID-Number': '+15557770003', 'Caller-Destination-Number': '+15550101' }),
  );
  t.same(executed(vm), ['transfer +15550101 XML callscreen_voicemail']);
  const anon = await dialOut(
    r.port,
    channelData({ 'Caller-Caller-ID-Number': 'anonymous', variable_sip_h_Privacy: 'id' }),
  );
  t.same(executed(anon), ['transfer +15550100 XML callscreen_voicemail'], 'Privacy: id meets the unidentified rule');
});

t.test('allowed caller: one set, then FIN; P-Asserted-Identity beats the From number', async (t) => {
  const r = await rig(t);
  const ok = await dialOut(r.port, channelData());
  t.same(
    ok.commands,
    ['connect', 'sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: callscreen_action=allow'],
    'recorded exchange',
  );
  const pai = await dialOut(
    r.port,
    channelData({ 'variable_sip_h_P-Asserted-Identity': '"Spam" <sip:+15557770001@carrier.example>;party=calling' }),
  );
  t.same(executed(pai), ['respond 603'], 'the asserted identity is screened');
});

t.test(
  'exchange: classic — set callscreen_action, then respond/transfer, then exit (the bench compares the two)',
  async (t) => {
    const r = await rig(t, '', { exchange: 'classic' });
    const blocked = await dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': '+15557770001' }));
    t.same(executed(blocked), ['set callscreen_action=reject', 'respond 603']);
    t.equal(blocked.commands.at(-1), 'exit');
    const vm = await dialOut(
      r.port,
      channelData({ 'Caller-Caller-ID-Number': '+15557770003', 'Caller-Destination-Number': '+15550101' }),
    );
    t.same(executed(vm), ['set callscreen_action=voicemail', 'transfer +15550101 XML callscreen_voicemail']);
    const ok = await dialOut(r.port, channelData());
    t.same(ok.commands, [
      'connect',
      'sendmsg\ncall-command: execute\nexecute-app-name: set\nexecute-app-arg: callscreen_action=allow',
      'exit',
    ]);
  },
);

t.test('unknown DID: fail open by default, 503 when screening.fail_mode is closed', async (t) => {
  const open = await rig(t);
  const a = await dialOut(
    open.port,
    channelData({ 'Caller-Destination-Number': '+15559999999', 'Caller-Caller-ID-Number': '+15557770001' }),
  );
  t.same(executed(a), ['set callscreen_action=allow']);
  const closed = await rig(t, '[screening]\nfail_mode = "closed"\n');
  const b = await dialOut(closed.port, channelData({ 'Caller-Destination-Number': '+15559999999' }));
  t.same(executed(b), ['respond 503']);
});

t.test('agent dialling a blocked number: warned with api chat on the same socket', async (t) => {
  const r = await rig(t);
  await r.ctx.orgs.updateSettings('demo', { outboundPolicy: 'warn' }, cliActor);
  await r.ctx.feed.poll();
  const call = await dialOut(
    r.port,
    channelData({
      variable_callscreen_direction: 'outbound',
      'Caller-Caller-ID-Number': '1001',
      'Caller-Username': '1001',
      'Caller-Destination-Number': '5557770001',
    }),
  );
  t.same(executed(call), ['set callscreen_action=allow'], 'warn lets the call go on');
  const chat = call.commands.find((c) => c.startsWith('api chat '));
  t.match(
    chat,
    /^api chat sip\|callscreen@localhost\|1001@pbx\.example\|callscreen: You are calling \+15557770001 \(Spam Inc\)/,
  );
  t.notMatch(chat?.split('|').length, /[^4]/, 'exactly four fields: no | inside the text');

  await r.ctx.orgs.updateSettings('demo', { outboundPolicy: 'deny' }, cliActor);
  await r.ctx.feed.poll();
  const denied = await dialOut(
    r.port,
    channelData({
      variable_callscreen_direction: 'outbound',
      'Caller-Username': '1001',
      'Caller-Destination-Number': '5557770001',
    }),
  );
  t.same(executed(denied), ['set callscreen_action=reject', 'respond 603'], 'deny refuses the agent call');
  t.ok(
    denied.commands.some((c) => c.startsWith('api chat ')),
    'and tells the agent why',
  );
});

t.test('partial frames: a connect reply dribbled in 7-byte pieces gives the same answer', async (t) => {
  const r = await rig(t);
  const call = await dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': '+15557770001' }), { chunkBytes: 7 });
  t.same(executed(call), ['respond 603']);
});

t.test('malformed frames: garbage, oversize and silent peers are cut off; the server keeps serving', async (t) => {
  const r = await rig(t, '', { sessionDeadlineMs: 300, maxHeaderBytes: 4096 });
  const garbage = await dialOut(r.port, channelData(), {
    rawReply: Buffer.from('\x00\x01GET / HTTP/1.1\r\nHost: x\r\n\r\n\n\n'),
  });
  t.same(garbage.commands, ['connect'], 'nothing after connect');
  t.equal(garbage.endedBy, 'server', 'the server closed it');

  const huge = await dialOut(r.port, channelData(), { rawReply: `X-Pad: ${'a'.repeat(10_000)}` });
  t.same(huge.commands, ['connect']);
  t.equal(huge.endedBy, 'server', 'a header block past the limit is refused without waiting for its end');

  const silent = await dialOut(r.port, channelData(), { silent: true });
  t.equal(silent.endedBy, 'server', 'a peer that never replies is closed at the session deadline');
  t.ok(silent.ms >= 250 && silent.ms < 2000, `closed after ~300 ms (${Math.round(silent.ms)} ms)`);

  const ok = await dialOut(r.port, channelData({ 'Caller-Caller-ID-Number': '+15557770001' }));
  t.same(executed(ok), ['respond 603'], 'still serving');
  t.match(
    r.lines.filter((l) => l.msg === 'ESL session failed').map((l) => l.reason),
    ['not-esl', 'header-too-long', 'timeout'],
  );
  t.match(r.server.health(), { ok: true, state: 'listening', detail: { failed: 3 } });
});

t.test('daemon restart: FreeSWITCH is refused while down (dialplan fail mode), served again after', async (t) => {
  const r = await rig(t);
  const port = r.port;
  await r.server.stop();
  t.match(r.server.health(), { ok: false, state: 'stopped' });
  const refused = await new Promise<string>((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    s.on('connect', () => {
      s.destroy();
      resolve('connected');
    });
    s.on('error', (e: NodeJS.ErrnoException) => resolve(e.code ?? 'error'));
  });
  t.equal(refused, 'ECONNREFUSED', 'socket app fails at once, socket_resume lets the dialplan go on');
  const again = new EslServer(
    { screening: r.ctx.screening, config: () => r.ctx.config, logger: captureLogger().logger },
    { listen: `127.0.0.1:${port}` },
  );
  await again.start();
  t.teardown(() => again.stop());
  const call = await dialOut(port, channelData({ 'Caller-Caller-ID-Number': '+15557770001' }));
  t.same(executed(call), ['respond 603'], 'the restarted server answers on the same port');
});

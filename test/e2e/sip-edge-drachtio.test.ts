// The daemon's SIP edge behind a REAL drachtio-server 0.9.4 (scripts/drachtio-sandbox) in front of a
// real Asterisk 22 (scripts/pbx-sandbox), with SIPp playing the network. drachtio-server listens on
// 127.0.0.2:5090, so what it proxies reaches Asterisk from the address of Asterisk's `carrier`
// endpoint; SIPp sends from 127.0.0.4 (test/e2e/sipp/edge-inbound-call.xml: ACK and BYE to whoever
// answered, as the edge does not record-route); a second SIPp on 127.0.0.3:5070 plays the voicemail
// server (`voicemail_uri`, test/e2e/sipp/voicemail-uas.xml). The daemon also serves FastAGI, so an allowed call is answered by Asterisk with
// the dialplan's own verdict (disposition `allow`).
//
// Proves: blocked INVITE answered by the edge with the org's code (603, 607, 486); voicemail-mode
// caller proxied to voicemail_uri; allowed caller proxied to and answered by the PBX; MESSAGE from a
// blocked sender refused with 603 at the SIP level and held, allowed MESSAGE taken by the PBX;
// STIR/SHAKEN on a MESSAGE (verstat in the From, edge-message-verstat-from.xml): failed held by the
// edge, an "only when attested" allow entry counting only when attested — at the edge and again in
// Asterisk's own message route (FastAGI sms-inbound reads MESSAGE(from), verstat and all);
// STIR/SHAKEN on an INVITE (verstat in the PAI, edge-inbound-call-verstat.xml): failed refused by the
// edge, the attested-only bank proxied and answered by Asterisk (whose FastAGI verdict reads the same
// PAI), the unattested bank refused by its range block;
// drachtio-server with no app (503, measured); the app back (measured); drachtio-server restarted
// (the app reconnects, measured).
//
// Needs root and the drachtio-server build (../shared/vendor tarball, CALLSCREEN_DRACHTIO_BIN or PATH):
// without it the suite skips with one line; with CI=true it fails instead. Holds the PBX sandbox lock.
import t from 'tap';
import { buildFastAgiServer } from '../../daemon/pbx/asterisk/fastagi-component.js';
import type { FastAgiServer } from '../../daemon/pbx/asterisk/fastagi-server.js';
import { RECONNECT_MAX_MS, SipEdge } from '../../daemon/pbx/sip-edge/sip-edge.js';
import * as drachtio from '../support/drachtio-sandbox.js';
import { demoServices } from '../support/asterisk-suite.js';
import { captureLogger, cliActor, startDaemon, until } from '../support/harness.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { describeSipp, runSipp, startSipp, type SippResult } from '../support/sipp.js';
import { BANK, listAttestedBank } from '../support/attested-bank.js';

t.setTimeout(8 * 60_000);

const REJECTED = '+15557770001';
const VOICEMAIL = '+15557770003';
const ALLOWED = '+15557770004';
const SMS_BLOCKED = '+15557770666';
/** Failed STIR/SHAKEN verification (verstat in the From). */
const SMS_UNVERIFIED = '+15557770701';
/** Allowed only when attested, under a blocked prefix. */
const NETWORK_IP = '127.0.0.4';
const VOICEMAIL_SERVER = { ip: '127.0.0.3', port: 5070 };

// SIPp's control port defaults to 8888 on every address: give each run here its own so that a
// SIPp of another suite running at the same time cannot collide with ours.
let runs = 0;
const cp = (): string[] => ['-cp', String(8940 + (runs++ % 20))];

/** One SIPp run of `scenario` through drachtio-server (field2, `text`: a message's text or a verstat). */
const viaEdge = (scenario: string, caller: string, did: string, text?: string): Promise<SippResult> =>
  runSipp({
    scenario,
    remote: drachtio.DRACHTIO.sip,
    bindIp: NETWORK_IP,
    caller,
    did,
    ...(text === undefined ? {} : { text }),
    timeoutSec: 20,
    extraArgs: cp(),
  });
const call = (caller: string, did: string): Promise<SippResult> => viaEdge('edge-inbound-call.xml', caller, did);
const message = (caller: string, did: string, text: string): Promise<SippResult> =>
  viaEdge('edge-message.xml', caller, did, text);
const verstatMessage = (caller: string, did: string, verstat: string): Promise<SippResult> =>
  viaEdge('edge-message-verstat-from.xml', caller, did, verstat);
const verstatCall = (caller: string, did: string, verstat: string): Promise<SippResult> =>
  viaEdge('edge-inbound-call-verstat.xml', caller, did, verstat);
const disposition = (r: SippResult): string | undefined => r.records.find((x) => x.kind === 'RESULT')?.disposition;

const why = await drachtio.unavailable();
if (why !== null && drachtio.mustRun) {
  t.fail(`CI=true and the real drachtio-server cannot run: ${why}`);
} else if (why !== null) {
  t.test('SIP edge through a real drachtio-server', { skip: why }, () => undefined);
} else {
  t.test('SIP edge through a real drachtio-server in front of a real Asterisk', async (t) => {
    const s = await demoServices(t);
    await s.blocklist.block(
      'demo',
      { kind: 'exact', number: REJECTED },
      { mode: 'reject', reason: 'robocalls' },
      cliActor,
    );
    await s.blocklist.block(
      'demo',
      { kind: 'exact', number: VOICEMAIL },
      { mode: 'voicemail', reason: 'ex-customer' },
      cliActor,
    );
    await s.blocklist.block(
      'demo',
      { kind: 'exact', number: SMS_BLOCKED },
      { mode: 'reject', reason: 'sms spam' },
      cliActor,
    );
    await s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'reject', reason: 'no caller id' }, cliActor);

    const begun = Date.now();
    t.comment((await drachtio.start()).trim().split('\n').at(-1) ?? '');
    t.teardown(() => drachtio.stop());
    t.comment(`drachtio-server ready in ${Date.now() - begun} ms`);

    const { logger, lines } = captureLogger('debug');
    let edge: SipEdge | undefined;
    let agi: FastAgiServer | undefined;
    const { ctx } = await startDaemon(t, s.dbPath, {
      clock: s.clock,
      toml: [
        '[fastagi]',
        'listen = "127.0.0.1:0"',
        'default_org = "demo"',
        '[sip_edge]',
        `host = "${drachtio.DRACHTIO.adminHost}"`,
        `port = ${drachtio.DRACHTIO.adminPort}`,
        `secret = "${drachtio.DRACHTIO.secret}"`,
        `pbx_uri = "sip:${sandbox.SANDBOX.sip}"`,
        `voicemail_uri = "sip:vm-{did}@${VOICEMAIL_SERVER.ip}:${VOICEMAIL_SERVER.port}"`,
      ].join('\n'),
      components: (c) => [
        (agi = buildFastAgiServer(c)),
        (edge = new SipEdge({ screening: c.screening, quarantine: c.quarantine, config: () => c.config, logger })),
      ],
    });
    if (!edge || !agi) throw new Error('components not built');
    const theEdge = edge;
    const orgId = ctx.index.org('demo')?.org.id ?? 0;
    const records = async (from: string) => {
      await ctx.recorder.flush();
      return (await ctx.recorder.recent(orgId, 200)).filter((r) => r.number === from || r.from_raw.includes(from));
    };

    await sandbox.start({ agi: `127.0.0.1:${agi.address().port}`, failMode: 'open' });
    t.teardown(() => sandbox.stop());
    t.ok(
      await until(() => theEdge.state === 'connected', 30_000),
      `edge connected to drachtio-server (state ${theEdge.state})`,
    );
    t.comment(`drachtio-server, daemon and Asterisk ready in ${Date.now() - begun} ms`);

    await t.test('blocked INVITE: answered by the edge with the org’s code, never reaching the PBX', async (t) => {
      const r603 = await call(REJECTED, '+15550100');
      t.same(r603.codes, [603], describeSipp(r603));
      await ctx.orgs.updateSettings('demo', { rejectCode: 607 }, cliActor);
      await ctx.feed.poll();
      const r607 = await call(REJECTED, '+15550100');
      t.same(r607.codes, [607], `607 Unwanted really sent: ${describeSipp(r607)}`);
      await ctx.orgs.updateSettings('demo', { rejectCode: 486 }, cliActor);
      await ctx.feed.poll();
      const r486 = await call(REJECTED, '+15550100');
      t.same(r486.codes, [486], describeSipp(r486));
      const recs = await records(REJECTED);
      t.equal(
        recs.filter((x) => x.adapter === 'sip-edge' && x.action === 'reject').length,
        3,
        'three rejects recorded by the edge',
      );
      t.equal(
        recs.filter((x) => x.adapter === 'fastagi').length,
        0,
        'Asterisk never asked: the calls never reached it',
      );
      t.comment(
        `edge reject, INVITE→final response: ${[r603, r607, r486].map((r) => r.responseTimes.meanMs.toFixed(1)).join(' / ')} ms`,
      );
    });

    await t.test(
      'withheld callers through drachtio-server: P-Asserted-Identity screened; no identity meets the unidentified rule',
      async (t) => {
        const viaPai = await viaEdge('inbound-call-withheld-pai.xml', REJECTED, '+15550105');
        t.same(viaPai.codes, [486], `From anonymous, PAI the blocked number: ${describeSipp(viaPai)}`);
        const anonymous = await viaEdge('inbound-call-withheld.xml', ALLOWED, '+15550105');
        t.same(anonymous.codes, [486], `From anonymous, Privacy: id, no PAI: ${describeSipp(anonymous)}`);
        await ctx.recorder.flush();
        const recs = (await ctx.recorder.recent(orgId, 200)).filter(
          (x) => x.adapter === 'sip-edge' && x.to_raw === '+15550105',
        );
        t.ok(
          recs.some((x) => x.rule_kind === 'exact' && x.number === REJECTED),
          'the asserted number matched its exact entry',
        );
        t.ok(
          recs.some((x) => x.rule_kind === 'unidentified'),
          'the anonymous caller matched the unidentified rule',
        );
      },
    );

    await t.test('voicemail-mode caller: proxied to voicemail_uri', async (t) => {
      const vm = await startSipp({
        scenario: 'voicemail-uas.xml',
        bindIp: VOICEMAIL_SERVER.ip,
        bindPort: VOICEMAIL_SERVER.port,
        count: 1,
        timeoutSec: 20,
        extraArgs: cp(),
      });
      const r = await call(VOICEMAIL, '+15550101');
      const got = await vm.done;
      t.same(r.codes, [200], `answered: ${describeSipp(r)}`);
      t.equal(
        r.records.find((x) => x.kind === 'RESULT')?.answered_by,
        `${VOICEMAIL_SERVER.ip}:${VOICEMAIL_SERVER.port}`,
        'by the voicemail server',
      );
      t.equal(r.failedCalls, 0, 'and ended cleanly (ACK and BYE straight to it: the edge does not record-route)');
      t.equal(
        got.records.find((x) => x.kind === 'VOICEMAIL')?.dialled,
        'vm-+15550101',
        `voicemail_uri with {did} replaced: ${describeSipp(got)}`,
      );
      t.match(got.records.find((x) => x.kind === 'VOICEMAIL')?.from, /\+15557770003/, 'the caller kept');
    });

    await t.test('voicemail_uri empty: the edge redirects voicemail-mode callers to the PBX with 302', async (t) => {
      await theEdge.stop();
      const redirecting = new SipEdge({
        screening: ctx.screening,
        quarantine: ctx.quarantine,
        logger,
        config: () => ({ ...ctx.config, sip_edge: { ...ctx.config.sip_edge, voicemail_uri: '' } }),
      });
      await redirecting.start();
      t.teardown(() => redirecting.stop());
      t.ok(await until(() => redirecting.state === 'connected', 30_000, 5), 'connected');
      const r = await call(VOICEMAIL, '+15550107');
      await redirecting.stop();
      await theEdge.start();
      t.ok(await until(() => theEdge.state === 'connected', 30_000, 5), 'the first edge back');
      t.same(r.codes, [302], describeSipp(r));
      t.equal(
        r.records.find((x) => x.kind === 'RESULT')?.redirect,
        `sip:+15550107@${sandbox.SANDBOX.sip};callscreen=voicemail`,
        'Contact: the DID at the PBX, marked',
      );
    });

    await t.test('allowed caller: proxied to the PBX and answered there', async (t) => {
      const r = await call(ALLOWED, '+15550102');
      t.same(r.codes, [200], describeSipp(r));
      t.equal(disposition(r), 'allow', 'Asterisk answered it (its dialplan asked FastAGI too: allow)');
      t.equal(
        r.records.find((x) => x.kind === 'RESULT')?.answered_by,
        sandbox.SANDBOX.sip,
        'its 200 OK came from Asterisk',
      );
      t.equal(r.failedCalls, 0, 'and the call ended cleanly');
      const recs = await records(ALLOWED);
      t.ok(
        recs.some((x) => x.adapter === 'sip-edge' && x.action === 'allow'),
        'allowed by the edge',
      );
      t.ok(
        recs.some((x) => x.adapter === 'fastagi' && x.action === 'allow'),
        'then screened by Asterisk’s own dialplan',
      );
      t.comment(
        `allowed call through drachtio-server and Asterisk, INVITE→200: ${r.responseTimes.meanMs.toFixed(1)} ms`,
      );
    });

    await t.test(
      'MESSAGE: blocked sender refused with 603 at the SIP level and held; allowed one taken by the PBX',
      async (t) => {
        const bad = await message(SMS_BLOCKED, '+15550100', 'you won a prize');
        t.same(bad.codes, [603], describeSipp(bad));
        const held = await ctx.quarantine.list(orgId);
        t.match(
          held.messages,
          [{ from: SMS_BLOCKED, to: '+15550100', body: 'you won a prize', adapter: 'sip-edge' }],
          'held for supervisors with its text',
        );
        const good = await message(ALLOWED, '+15550100', 'see you at 5');
        t.same(good.codes, [202], `proxied to Asterisk, which accepted it: ${describeSipp(good)}`);
        t.ok(
          await until(
            async () => (await records(ALLOWED)).some((x) => x.channel === 'sms' && x.adapter === 'fastagi'),
            10_000,
          ),
          'Asterisk’s message dialplan ran for it',
        );
      },
    );

    await t.test(
      'MESSAGE with STIR/SHAKEN in the From: failed held at the edge; "only when attested" counts only when attested, at the edge and in Asterisk',
      async (t) => {
        await listAttestedBank(ctx, 'reject');
        await ctx.feed.poll();
        const failed = await verstatMessage(SMS_UNVERIFIED, '+15550101', 'TN-Validation-Failed');
        t.same(failed.codes, [603], `verification failed: refused and held: ${describeSipp(failed)}`);
        t.match(
          (await ctx.quarantine.list(orgId)).messages.find((m) => m.from === SMS_UNVERIFIED),
          { body: 'verstat TN-Validation-Failed', adapter: 'sip-edge' },
        );
        const bank = await verstatMessage(BANK, '+15550101', 'TN-Validation-Passed-A');
        t.same(bank.codes, [202], `the bank attested A: proxied, taken by Asterisk: ${describeSipp(bank)}`);
        const unattested = await message(BANK, '+15550101', 'no verstat');
        t.same(unattested.codes, [603], `the bank unattested: the prefix block holds it: ${describeSipp(unattested)}`);
        t.ok(
          await until(
            async () => (await records(BANK)).some((x) => x.channel === 'sms' && x.adapter === 'fastagi'),
            10_000,
          ),
          'Asterisk’s message dialplan ran for the attested one',
        );
        const rows = [...(await records(SMS_UNVERIFIED)), ...(await records(BANK))].filter((x) => x.channel === 'sms');
        t.comment(JSON.stringify(rows.map((x) => [x.adapter, x.from_raw, x.action, x.attestation])));
        t.ok(
          rows.some((x) => x.adapter === 'sip-edge' && x.action === 'quarantine' && x.attestation === 'failed'),
          'the edge recorded the failed verification',
        );
        t.ok(
          rows.some((x) => x.adapter === 'sip-edge' && x.action === 'allow' && x.attestation === 'passed-A'),
          'the edge recorded the attested bank',
        );
        t.ok(
          rows.some((x) => x.adapter === 'fastagi' && x.action === 'allow' && x.attestation === 'passed-A'),
          'Asterisk’s route read the verstat from MESSAGE(from) too, and let the attested bank through',
        );
      },
    );

    await t.test(
      'INVITE with STIR/SHAKEN in the P-Asserted-Identity: failed refused at the edge; "only when attested" proxied only when attested',
      async (t) => {
        // listAttestedBank ran in the MESSAGE test above: failed verification → reject, the bank's
        // range blocked, the bank allowed only when attested.
        const failed = await verstatCall(SMS_UNVERIFIED, '+15550102', 'TN-Validation-Failed');
        t.same(failed.codes, [486], `verification failed: refused with the org's code: ${describeSipp(failed)}`);
        const bank = await verstatCall(BANK, '+15550102', 'TN-Validation-Passed-A');
        t.same(bank.codes, [200], `the bank attested A: proxied and answered: ${describeSipp(bank)}`);
        t.equal(
          bank.records.find((x) => x.kind === 'RESULT')?.answered_by,
          sandbox.SANDBOX.sip,
          'its 200 OK came from Asterisk',
        );
        t.equal(disposition(bank), 'allow', 'Asterisk’s own dialplan let it through too');
        const unattested = await call(BANK, '+15550102');
        t.same(unattested.codes, [486], `the bank unattested: the range block holds it: ${describeSipp(unattested)}`);
        const rows = [...(await records(SMS_UNVERIFIED)), ...(await records(BANK))].filter((x) => x.channel === 'call');
        t.comment(JSON.stringify(rows.map((x) => [x.adapter, x.from_raw, x.action, x.attestation, x.rule_kind])));
        t.ok(
          rows.some((x) => x.adapter === 'sip-edge' && x.action === 'reject' && x.attestation === 'failed'),
          'the edge recorded the failed verification',
        );
        t.ok(
          rows.some((x) => x.adapter === 'sip-edge' && x.action === 'allow' && x.attestation === 'passed-A'),
          'the edge recorded the attested bank',
        );
        t.ok(
          rows.some((x) => x.adapter === 'fastagi' && x.action === 'allow' && x.attestation === 'passed-A'),
          'Asterisk got the PAI through the edge and its FastAGI verdict read the same attestation',
        );
        t.ok(
          rows.some(
            (x) =>
              x.adapter === 'sip-edge' && x.action === 'reject' && x.attestation === null && x.rule_kind === 'prefix',
          ),
          'the unattested bank rejected by the edge, by the range block',
        );
      },
    );

    await t.test('no app connected: drachtio-server answers 503 itself (fails closed); the app back', async (t) => {
      await theEdge.stop();
      const r = await call(ALLOWED, '+15550103');
      t.same(r.codes, [503], `INVITE with the edge stopped: ${describeSipp(r)}`);
      const m = await message(ALLOWED, '+15550103', 'hello');
      t.same(m.codes, [503], `MESSAGE with the edge stopped: ${describeSipp(m)}`);
      t.comment(
        `drachtio-server's own 503 came in ${r.responseTimes.meanMs.toFixed(1)} ms (INVITE), ${m.responseTimes.meanMs.toFixed(1)} ms (MESSAGE)`,
      );
      const startAt = Date.now();
      await theEdge.start();
      t.ok(await until(() => theEdge.state === 'connected', 30_000, 5), 'connected again');
      const connectedMs = Date.now() - startAt;
      const back = await call(REJECTED, '+15550103');
      t.same(back.codes, [486], `screened again: ${describeSipp(back)}`);
      t.comment(
        `edge start → connected: ${connectedMs} ms; start → first screened call answered: ${Date.now() - startAt} ms`,
      );
    });

    await t.test(
      'wrong secret: drachtio-server refuses and closes; logged once, health says so; stop ends the retries',
      async (t) => {
        const wrong = captureLogger('debug');
        const bad = new SipEdge({
          screening: ctx.screening,
          quarantine: ctx.quarantine,
          logger: wrong.logger,
          config: () => ({ ...ctx.config, sip_edge: { ...ctx.config.sip_edge, secret: 'not-the-secret' } }),
        });
        await bad.start();
        const refusedAgain = () => wrong.lines.filter((l) => l.msg === 'drachtio-server refused the edge again').length;
        t.ok(
          await until(() => refusedAgain() >= 2, 20_000, 20),
          'refused, again and again (drachtio-srf retries every 255 ms)',
        );
        t.equal(
          wrong.lines.filter((l) => l.msg === 'drachtio-server refused the edge (check sip_edge.secret)').length,
          1,
          'one error line',
        );
        t.match(bad.health(), { ok: false, detail: { refused: true } });
        await bad.stop();
        const after = refusedAgain();
        await new Promise((r) => setTimeout(r, 1000)); // ~4 retry periods of 255 ms
        t.equal(refusedAgain(), after, 'no retry after stop');
        const log = await drachtio.logTail(400);
        t.match(log, /secret validation failed/, 'drachtio-server logged the refusal');
        t.comment(`drachtio-server's own log line: ${/.*secret validation failed.*/.exec(log)?.[0] ?? ''}`);
        const r = await call(REJECTED, '+15550106');
        t.same(r.codes, [486], 'the right edge still serves');
      },
    );

    await t.test('drachtio-server restarted: the app reconnects by itself', async (t) => {
      const connectsBefore = Number(theEdge.health().detail?.connects ?? 0);
      const before = lines.filter((l) => l.msg === 'drachtio reconnect scheduled').length;
      const stopAt = Date.now();
      await drachtio.stop();
      const downAt = Date.now();
      t.ok(await until(() => theEdge.state !== 'connected', 10_000, 5), `edge noticed (state ${theEdge.state})`);
      // Down long enough for drachtio-srf's own backoff to reach the edge's ceiling (255, 433, 737,
      // 1252, then 2128 ms and on: capped at RECONNECT_MAX_MS).
      const delays = (): number[] =>
        lines.filter((l) => l.msg === 'drachtio reconnect scheduled').map((l) => Number(l.delayMs));
      t.ok(
        await until(() => delays().slice(before).includes(RECONNECT_MAX_MS), 30_000, 50),
        'backoff reached its ceiling while drachtio-server was down',
      );
      const backAt = Date.now();
      await drachtio.start();
      const upMs = Date.now() - backAt;
      t.ok(await until(() => theEdge.state === 'connected', 30_000, 5), 'reconnected');
      const reconnectMs = Date.now() - backAt;
      t.equal(Number(theEdge.health().detail?.connects ?? 0), connectsBefore + 1, 'one new connection');
      const r = await call(REJECTED, '+15550104');
      t.same(r.codes, [486], `screened again: ${describeSipp(r)}`);
      t.ok(
        delays()
          .slice(before)
          .every((d) => d <= RECONNECT_MAX_MS),
        `no retry waited longer than ${RECONNECT_MAX_MS} ms: ${delays().slice(before).join(', ')}`,
      );
      t.comment(`reconnect delays drachtio-srf scheduled (ms): ${delays().slice(before).join(', ')}`);
      t.comment(
        `drachtio-server restart: stop took ${downAt - stopAt} ms, then down ${backAt - downAt} ms; listening ${upMs} ms after its start; edge reconnected ${reconnectMs} ms after its start`,
      );
      t.ok(
        lines.some((l) => l.msg === 'SIP edge state' && l.to === 'reconnecting'),
        'the drop was logged',
      );
    });
  });
}

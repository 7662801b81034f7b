// Proves the PBX sandbox itself (scripts/pbx-sandbox, config/asterisk/, test/e2e/sipp/) against
// a real Asterisk, with a tiny FastAGI responder written here in place of the daemon.
//
// The sandbox has fixed ports (5060, 5038, 8088): test files that use it must not run at the
// same time. support/pbx-sandbox.ts serialises them with a machine-wide lock taken in start()
// and released in stop(), so tap's parallel runner only makes them wait for each other.
//
// Needs root (chroot, mount). The first run builds the Debian sid root (~1.5 min); after that
// the whole file takes well under a minute. Set CALLSCREEN_SKIP_SANDBOX=1 to skip it.
import t from 'tap';
import net from 'node:net';
import * as sandbox from '../support/pbx-sandbox.js';
import { registerSoftphone } from '../support/softphone.js';
import { describeSipp, runSipp, startSipp, type SippResult } from '../support/sipp.js';

t.setTimeout(20 * 60_000);

const skip = process.env.CALLSCREEN_SKIP_SANDBOX === '1' || process.getuid?.() !== 0;

// ------------------------------------------------------------------ a tiny FastAGI responder

interface AgiSession {
  env: Record<string, string>;
  /** Replies to the commands the handler sent, in order. */
  replies: string[];
}
type AgiHandler = (env: Record<string, string>, command: (line: string) => Promise<string>) => Promise<void>;

class TinyAgi {
  readonly sessions: AgiSession[] = [];
  private server: net.Server | undefined;
  port = 0;

  constructor(private readonly handler: AgiHandler) {}

  async listen(port = 0): Promise<number> {
    this.server = net.createServer((sock) => this.serve(sock));
    await new Promise<void>((resolve, reject) => {
      this.server?.once('error', reject);
      this.server?.listen(port, '127.0.0.1', () => resolve());
    });
    const addr = this.server.address();
    if (addr === null || typeof addr === 'string') throw new Error('no address');
    this.port = addr.port;
    return this.port;
  }

  async close(): Promise<void> {
    const server = this.server;
    this.server = undefined;
    if (server) await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  private serve(sock: net.Socket): void {
    const env: Record<string, string> = {};
    const session: AgiSession = { env, replies: [] };
    const waiting: Array<(line: string) => void> = [];
    let buffer = '';
    let inEnv = true;
    sock.setEncoding('utf8');
    sock.on('error', () => undefined);
    const command = (line: string): Promise<string> =>
      new Promise((resolve) => {
        waiting.push((reply) => {
          session.replies.push(reply);
          resolve(reply);
        });
        sock.write(`${line}\n`);
      });
    sock.on('data', (chunk: string) => {
      buffer += chunk;
      for (let nl = buffer.indexOf('\n'); nl >= 0; nl = buffer.indexOf('\n')) {
        const line = buffer.slice(0, nl).replace(/\r$/, '');
        buffer = buffer.slice(nl + 1);
        if (inEnv) {
          if (line === '') {
            inEnv = false;
            this.sessions.push(session);
            this.handler(env, command)
              .catch((err: unknown) => t.fail(`AGI handler: ${String(err)}`))
              .finally(() => sock.end());
          } else {
            const m = /^(agi_\w+): ?(.*)$/.exec(line);
            if (m?.[1]) env[m[1]] = m[2] ?? '';
          }
        } else if (line.startsWith('200 ') || line.startsWith('5')) {
          waiting.shift()?.(line);
        }
        // anything else (an out-of-band "HANGUP") is ignored
      }
    });
  }

  sessionsFor(script: string): AgiSession[] {
    return this.sessions.filter((s) => s.env.agi_network_script === script);
  }
}

// Decisions by caller number (inbound) or dialled number (outbound), like a tiny blocklist.
const REJECT_607 = '+15557770001';
const REJECT_DEFAULT = '+15557770002';
const VOICEMAIL = '+15557770003';
const ALLOWED = '+15557770004';
const DENIED_DEST = '+15559990666';
const QUARANTINE_FROM = '+15557770666';

const agi = new TinyAgi(async (env, command) => {
  const script = env.agi_network_script;
  if (script === 'call-inbound') {
    const caller = env.agi_callerid;
    if (caller === REJECT_607) {
      await command('SET VARIABLE CALLSCREEN_DETAIL "607|exact:1|a reason, with a comma | and a pipe"');
      await command('SET VARIABLE CALLSCREEN_ACTION reject');
    } else if (caller === REJECT_DEFAULT) {
      await command('SET VARIABLE CALLSCREEN_ACTION reject');
    } else if (caller === VOICEMAIL) {
      await command('SET VARIABLE CALLSCREEN_ACTION voicemail');
    } else {
      await command('SET VARIABLE CALLSCREEN_ACTION allow');
    }
  } else if (script === 'call-outbound') {
    await command(`SET VARIABLE CALLSCREEN_ACTION ${env.agi_extension === DENIED_DEST ? 'deny' : 'allow'}`);
  } else if (script === 'sms-inbound' || script === 'sms-outbound') {
    const from = await command('GET FULL VARIABLE ${MESSAGE(from)}');
    await command('GET FULL VARIABLE ${MESSAGE(to)}');
    await command('GET FULL VARIABLE ${MESSAGE(body)}');
    if (script === 'sms-inbound') {
      await command(`SET VARIABLE CALLSCREEN_ACTION ${from.includes(QUARANTINE_FROM) ? 'quarantine' : 'allow'}`);
    }
  }
});

/** The value inside "200 result=1 (value)". */
const agiValue = (reply: string | undefined): string => /\((.*)\)$/.exec(reply ?? '')?.[1] ?? '';

const inbound = (caller: string, did: string, scenario = 'inbound-call.xml'): Promise<SippResult> =>
  runSipp({ scenario, remote: sandbox.SANDBOX.sip, bindIp: sandbox.SANDBOX.carrierIp, caller, did, timeoutSec: 20 });

const firstResult = (r: SippResult): Record<string, string> => r.records.find((x) => x.kind === 'RESULT') ?? {};

if (skip) {
  t.plan(0, 'PBX sandbox needs root (and CALLSCREEN_SKIP_SANDBOX unset)');
} else {
  t.before(async () => {
    const port = await agi.listen();
    const begun = Date.now();
    const { startedByUs } = await sandbox.start({ agi: `127.0.0.1:${port}`, failMode: 'open' });
    t.comment(
      `sandbox ready in ${Date.now() - begun} ms (started by this test: ${String(startedByUs)}), FastAGI on ${port}`,
    );
  });

  t.teardown(async () => {
    await agi.close();
    await sandbox.stop();
  });

  t.test('the sandbox is Asterisk 22 with our endpoints', async (t) => {
    t.match(await sandbox.rx('core show version'), /^Asterisk 22\./);
    const endpoints = await sandbox.rx('pjsip show endpoints');
    for (const name of ['carrier', 'agent101', 'agent102']) t.match(endpoints, new RegExp(`Endpoint:\\s+${name}\\b`));
    t.match(await sandbox.rx('http show status'), /Bound to 127\.0\.0\.1:8088/);
    t.match(await sandbox.rx('manager show user callscreen'), /username: callscreen/);
  });

  t.test('a rejected caller gets the SIP code and never a 200', async (t) => {
    const r = await inbound(REJECT_607, '+15550100');
    t.equal(r.exitCode, 0, describeSipp(r));
    t.same(r.codes, [607], 'final response is the daemon’s 607');
    const s = agi.sessionsFor('call-inbound').find((x) => x.env.agi_callerid === REJECT_607);
    t.ok(s, 'the AGI was asked');
    t.equal(s?.env.agi_extension, '+15550100', 'agi_extension is the DID');
    t.equal(s?.env.agi_context, 'from-carrier');
    t.match(s?.env.agi_channel ?? '', /^PJSIP\/carrier-/);

    const d = await inbound(REJECT_DEFAULT, '+15550101');
    t.same(d.codes, [603], 'reject without CALLSCREEN_SIP_CODE is 603');
  });

  t.test('an allowed caller is answered', async (t) => {
    const r = await inbound(ALLOWED, '+15550102');
    t.equal(r.exitCode, 0, describeSipp(r));
    t.same(r.codes, [200]);
    t.equal(firstResult(r).disposition, 'allow');
    t.ok(r.responseTimes.count >= 1, 'response time measured');
  });

  t.test('a voicemail caller reaches VoiceMail', async (t) => {
    const r = await inbound(VOICEMAIL, '+15550103');
    t.equal(r.exitCode, 0, describeSipp(r));
    t.same(r.codes, [200]);
    t.equal(firstResult(r).disposition, 'voicemail', 'the 200 OK says voicemail');
  });

  t.test('withheld callers: Privacy and P-Asserted-Identity reach the AGI in its id2 argument', async (t) => {
    // Contract id2 (docs/asterisk-contract.md): `id2:` then PAI, Remote-Party-ID, Privacy,
    // Attestation-Info, X-Attestation-Info, From, each base64 of ":" + the header.
    const id2 = (arg: string | undefined): string[] =>
      (arg ?? '')
        .replace(/^id2:/, '')
        .split(':')
        .map((b) => Buffer.from(b, 'base64').toString('utf8').slice(1));
    const before = agi.sessionsFor('call-inbound').length;
    const noPai = await inbound('+15557770005', '+15550104', 'inbound-call-withheld.xml');
    t.same(noPai.codes, [200], describeSipp(noPai));
    const withPai = await inbound('+15557770006', '+15550104', 'inbound-call-withheld-pai.xml');
    t.same(withPai.codes, [200], describeSipp(withPai));
    const [a, b] = agi.sessionsFor('call-inbound').slice(before);
    t.equal(a?.env.agi_callerid, 'anonymous');
    t.match(a?.env.agi_arg_1, /^id2:/, 'the id2 form');
    t.equal(id2(a?.env.agi_arg_1)[2], 'id', 'Privacy is its third header');
    t.equal(id2(a?.env.agi_arg_1)[0], '', 'no PAI: its first header empty');
    t.equal(id2(b?.env.agi_arg_1)[2], 'id');
    t.equal(id2(b?.env.agi_arg_1)[0], '<sip:+15557770006@127.0.0.2>', 'PAI is its first header');
  });

  t.test('a burst of calls is screened correctly', async (t) => {
    const calls = Array.from({ length: 40 }, (_, i) => ({
      caller: i % 2 === 0 ? REJECT_607 : ALLOWED,
      did: `+1555010${i % 10}`,
    }));
    const r = await runSipp({
      scenario: 'inbound-call.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp: sandbox.SANDBOX.carrierIp,
      calls,
      rate: 40,
      timeoutSec: 30,
    });
    t.equal(r.exitCode, 0, describeSipp(r));
    t.equal(r.successfulCalls, 40);
    t.same(r.codeCounts, { 200: 20, 607: 20 });
    t.comment(
      `40 calls at 40/s: INVITE->final mean ${r.responseTimes.meanMs.toFixed(1)} ms, p95 ${r.responseTimes.p95Ms} ms, ` +
        `max ${r.responseTimes.maxMs} ms, ${r.retransmissions} retransmissions`,
    );
  });

  t.test('inbound SMS: AGI on the message channel, delivered to the DID’s agent or quarantined', async (t) => {
    const agent = sandbox.SANDBOX.agents.agent101;
    const phone = { bindIp: sandbox.SANDBOX.agentIps.agent101, bindPort: 5071 };
    const reg = await runSipp({
      scenario: 'agent-register.xml',
      remote: sandbox.SANDBOX.sip,
      ...phone,
      caller: agent.user,
      text: '120',
      auth: agent,
    });
    t.same(reg.codes, [200], `agent101 registered: ${describeSipp(reg)}`);
    t.teardown(async () => {
      await runSipp({
        scenario: 'agent-register.xml',
        remote: sandbox.SANDBOX.sip,
        ...phone,
        caller: agent.user,
        text: '0',
        auth: agent,
      });
    });

    // The phone: a SIPp UAS on the registered contact.
    const uas = await startSipp({ scenario: 'agent-message-uas.xml', ...phone, count: 1, timeoutSec: 15 });
    const before = agi.sessionsFor('sms-inbound').length;
    const sent = await runSipp({
      scenario: 'carrier-message.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp: sandbox.SANDBOX.carrierIp,
      caller: '+15557770009',
      did: '+15550100',
      text: 'hello agent, call me back',
    });
    t.same(sent.codes, [202], describeSipp(sent));
    const got = await uas.done;
    t.equal(got.exitCode, 0, describeSipp(got));
    const msg = got.records.find((x) => x.kind === 'MESSAGE');
    t.equal(msg?.body, 'hello agent, call me back', 'the agent got the text');
    t.match(msg?.from ?? '', /\+15557770009/, 'from the original sender');

    const s = agi.sessionsFor('sms-inbound')[before];
    t.equal(s?.env.agi_arg_1, 'pjsip:agent101', 'deliver-to is argument 1');
    t.equal(s?.env.agi_extension, '+15550100');
    t.equal(agiValue(s?.replies[0]), '<sip:+15557770009@127.0.0.2>', 'MESSAGE(from)');
    t.match(agiValue(s?.replies[1]), /\+15550100/, 'MESSAGE(to)');
    t.equal(agiValue(s?.replies[2]), 'hello agent, call me back', 'MESSAGE(body)');

    // Quarantined: nothing reaches the phone.
    const uas2 = await startSipp({ scenario: 'agent-message-uas.xml', ...phone, count: 1, timeoutSec: 15 });
    const q = await runSipp({
      scenario: 'carrier-message.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp: sandbox.SANDBOX.carrierIp,
      caller: QUARANTINE_FROM,
      did: '+15550100',
      text: 'you won a prize',
    });
    t.same(q.codes, [202]);
    for (let i = 0; i < 40 && agi.sessionsFor('sms-inbound').length < before + 2; i++) {
      await new Promise((r) => setTimeout(r, 50));
    }
    t.equal(agi.sessionsFor('sms-inbound').length, before + 2, 'the quarantined message was screened');
    await new Promise((r) => setTimeout(r, 1000));
    const none = await uas2.stop();
    t.same(
      none.records.filter((x) => x.kind === 'MESSAGE'),
      [],
      'the quarantined message was not delivered',
    );
  });

  t.test('a SIP.js agent registers over WebSocket and gets its DID’s SMS', async (t) => {
    const agent = sandbox.SANDBOX.agents.agent102;
    const received: Array<{ from: string; body: string }> = [];
    await registerSoftphone(t, agent, (m) => received.push(m));
    t.match(
      await sandbox.rx(`pjsip show contacts`),
      /agent102\/sip:\S+;transp/,
      'WS contact registered (the CLI cuts ";transport=ws" short)',
    );

    const sent = await runSipp({
      scenario: 'carrier-message.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp: sandbox.SANDBOX.carrierIp,
      caller: '+15557770010',
      did: '+15550101',
      text: 'to agent102 over websocket',
    });
    t.same(sent.codes, [202], describeSipp(sent));
    for (let i = 0; i < 60 && received.length === 0; i++) await new Promise((r) => setTimeout(r, 50));
    t.same(received, [{ from: 'sip:+15557770010@127.0.0.2', body: 'to agent102 over websocket' }]);
    t.equal(agi.sessionsFor('sms-inbound').at(-1)?.env.agi_arg_1, 'pjsip:agent102', '+15550101 delivers to agent102');
  });

  t.test('agents: outbound call screened then sent to the carrier; outbound SMS sent on', async (t) => {
    const agent = sandbox.SANDBOX.agents.agent102;
    const bindIp = sandbox.SANDBOX.agentIps.agent102;
    const carrier = await startSipp({
      scenario: 'carrier-uas.xml',
      bindIp: sandbox.SANDBOX.carrierIp,
      bindPort: 5060,
      count: 1,
      timeoutSec: 20,
    });
    const call = await runSipp({
      scenario: 'agent-call.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp,
      caller: agent.user,
      did: '+15559990001',
      auth: agent,
    });
    t.same(call.codes, [200], describeSipp(call));
    const carrierSaw = await carrier.done;
    t.equal(
      carrierSaw.records.find((x) => x.kind === 'CALL')?.dialled,
      '+15559990001',
      'carrier got the dialled number',
    );
    const s = agi.sessionsFor('call-outbound').at(-1);
    t.equal(s?.env.agi_extension, '+15559990001');
    t.equal(s?.env.agi_callerid, agent.extension);
    t.match(s?.env.agi_channel ?? '', /^PJSIP\/agent102-/);

    const denied = await runSipp({
      scenario: 'agent-call.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp,
      caller: agent.user,
      did: DENIED_DEST,
      auth: agent,
    });
    t.same(denied.codes, [403], `deny refuses the call: ${describeSipp(denied)}`);

    const carrierSms = await startSipp({
      scenario: 'carrier-message-uas.xml',
      bindIp: sandbox.SANDBOX.carrierIp,
      bindPort: 5060,
      count: 1,
      timeoutSec: 20,
    });
    const sms = await runSipp({
      scenario: 'agent-message.xml',
      remote: sandbox.SANDBOX.sip,
      bindIp,
      caller: agent.user,
      did: '+15559990002',
      text: 'on my way',
      auth: agent,
    });
    t.same(sms.codes, [202], describeSipp(sms));
    const got = await carrierSms.done;
    const msg = got.records.find((x) => x.kind === 'MESSAGE');
    t.equal(msg?.to, '+15559990002');
    t.equal(msg?.body, 'on my way');
    t.equal(agi.sessionsFor('sms-outbound').at(-1)?.env.agi_extension, '+15559990002', 'sms-outbound step ran');
  });

  t.test('fail-open: with no FastAGI server the call is still answered', async (t) => {
    await agi.close();
    const r = await inbound(REJECT_607, '+15550105');
    t.same(r.codes, [200], describeSipp(r));
    t.equal(firstResult(r).disposition, 'fail-open');
  });

  t.test('fail-closed: CALLSCREEN_FAIL_MODE=closed rejects with 503 when the daemon is down', async (t) => {
    await sandbox.configure({ agi: `127.0.0.1:${agi.port}`, failMode: 'closed' });
    t.match(await sandbox.rx('dialplan show globals'), /CALLSCREEN_FAIL_MODE=closed/);
    const r = await inbound(ALLOWED, '+15550106');
    t.same(r.codes, [503], describeSipp(r));
    await sandbox.configure({ agi: `127.0.0.1:${agi.port}`, failMode: 'open' });
  });
}

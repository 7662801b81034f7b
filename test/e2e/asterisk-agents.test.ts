// Agent warnings end to end against the real Asterisk 22 sandbox: the daemon's AMI link (built by
// main.ts buildPbxLinks from config) connects as user `callscreen`; agent101 dials a blocked
// number from a SIPp phone (127.0.0.11, digest auth); the DialWatcher hears DialBegin, screens
// the number and sends MessageSend; a SIP.js UserAgent registered over WebSocket as agent101 (in
// Node, `ws` as WebSocket, no media) must get the warning naming the number, the entry's name and
// reason within one second. Then the AMI session is kicked from the Asterisk CLI: the client
// reconnects with backoff and warnings resume.
//
// The dialplan's call-outbound AGI points at a port where nothing listens (the FastAGI server is
// not part of this test): the dialplan fails open and dials, which is the site without the AGI
// hook that DialWatcher exists for.
//
// Uses the sandbox (root, fixed ports; serialised by its lock). CALLSCREEN_SKIP_SANDBOX=1 skips.
import t, { type Test } from 'tap';
import { setTimeout as sleep } from 'node:timers/promises';
import { join } from 'node:path';
import net from 'node:net';
import { defaultComponents } from '../../daemon/main.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { registerSoftphone } from '../support/softphone.js';
import { describeSipp, runSipp, startSipp } from '../support/sipp.js';
import { sandboxTest } from '../support/asterisk-suite.js';
import { SANDBOX_AMI_TOML } from '../support/asterisk-mirror-daemon.js';
import { captureLogger, cliActor, startDaemon, tempDir, until } from '../support/harness.js';

t.setTimeout(10 * 60_000);

const BLOCKED = '+15559990666';
const BLOCKED_2 = '+15559990777';
/** Nothing listens here: the call-outbound AGI fails and the dialplan dials anyway (fail-open). */
const NO_AGI = '127.0.0.1:4599';

interface Received {
  at: number;
  from: string;
  body: string;
}

const agent = sandbox.SANDBOX.agents.agent101;

/** agent101's softphone: SIP.js over WebSocket, registered; collects MESSAGEs. */
async function registerAgent101(t: Test): Promise<Received[]> {
  const received: Received[] = [];
  await registerSoftphone(t, agent, (m) => received.push({ at: Date.now(), ...m }));
  return received;
}

/** agent101 dials `number` from its SIPp phone; resolves with the first MESSAGE after it and latencies. */
async function dial(received: Received[], lines: Array<Record<string, unknown>>, number: string, expectAnswer = true) {
  const before = received.length;
  const carrier = expectAnswer
    ? await startSipp({
        scenario: 'carrier-uas.xml',
        bindIp: sandbox.SANDBOX.carrierIp,
        bindPort: 5060,
        count: 1,
        timeoutSec: 20,
      })
    : null;
  const started = Date.now();
  const call = runSipp({
    scenario: 'agent-call.xml',
    remote: sandbox.SANDBOX.sip,
    bindIp: sandbox.SANDBOX.agentIps.agent101,
    caller: agent.user,
    did: number,
    auth: agent,
  });
  const got = await until(() => received.length > before, 5000, 5);
  const result = await call;
  if (carrier) await carrier.done;
  // Let a second (duplicate) warning arrive if one were coming.
  await sleep(300);
  const msg = received[before];
  const screenedAt = [...lines].reverse().find((l) => l.msg === 'agent dial screened' && l.number === number)?.time as
    number | undefined;
  return {
    got,
    msg,
    count: received.length - before,
    result,
    fromDialMs: msg ? msg.at - started : NaN,
    fromDialBeginMs: msg && screenedAt ? msg.at - screenedAt : NaN,
  };
}

void sandboxTest(t, 'agent warnings through a real Asterisk', async (t) => {
  await sandbox.start({ agi: NO_AGI, failMode: 'open' });
  t.teardown(() => sandbox.stop());

  t.test(
    'an agent dialling a blocked number is warned by SIP MESSAGE within 1 s, across an AMI reconnect',
    async (t) => {
      const dir = tempDir(t);
      const { logger, lines } = captureLogger('debug');
      const { ctx } = await startDaemon(t, join(dir, 'callscreen.db'), {
        logger,
        toml: [SANDBOX_AMI_TOML, '[fastagi]', 'enabled = false', 'default_org = "demo"'].join('\n'),
      });
      await ctx.orgs.add('demo', 'Demo', 'US', cliActor);
      await ctx.orgs.addDids('demo', sandbox.SANDBOX.dids, cliActor);
      await ctx.blocklist.block(
        'demo',
        { kind: 'exact', number: BLOCKED },
        { mode: 'reject', name: 'Acme Debt Collectors', reason: 'harassment complaint' },
        cliActor,
      );
      await ctx.blocklist.block(
        'demo',
        { kind: 'exact', number: BLOCKED_2 },
        { mode: 'reject', name: 'Spam Co', reason: 'robocalls' },
        cliActor,
      );
      await ctx.feed.poll();
      t.ok(ctx.agentNotifier, 'the AMI link gave the daemon an agent notifier');

      const amiState = (): string | undefined =>
        [...lines].reverse().find((l) => l.component === 'ami' && typeof l.to === 'string')?.to as string | undefined;
      t.ok(await until(() => amiState() === 'connected', 5000, 5), 'the daemon logged in to AMI');
      t.match(await sandbox.rx('manager show connected'), /callscreen/, 'Asterisk lists the daemon’s session');

      const received = await registerAgent101(t);
      const dialAndWait = (number: string) => dial(received, lines, number);

      const first = await dialAndWait(BLOCKED);
      t.same(
        first.result.codes,
        [200],
        `the call itself went through (warn, not block): ${describeSipp(first.result)}`,
      );
      t.ok(first.got, 'agent101 got a MESSAGE');
      t.match(
        first.msg?.body ?? '',
        /^callscreen: You are calling \+15559990666 \(Acme Debt Collectors\), which is on the block list\. Reason: harassment complaint\./,
      );
      t.equal(first.msg?.from, 'sip:callscreen@localhost', 'From is agents.message_from');
      t.ok(first.fromDialMs < 1000, `within 1 s of the dial (${first.fromDialMs} ms from starting SIPp)`);
      t.comment(
        `warning latency: ${first.fromDialMs} ms from SIPp start (includes the 401 round), ${first.fromDialBeginMs} ms from DialBegin screened to MESSAGE at the softphone`,
      );

      // An allowed number: no warning.
      const quiet = await dialAndWait('+15550000123');
      t.notOk(quiet.got, 'no warning for a number that is not listed');

      // Kick the daemon's AMI session from the Asterisk side.
      const connected = await sandbox.rx('manager show connected');
      const row = connected
        .split('\n')
        .map((l) => l.trim().split(/\s+/))
        .find((cols) => cols[0] === 'callscreen');
      const fd = row?.[4];
      t.ok(fd && /^\d+$/.test(fd), `found the session's file descriptor in:\n${connected}`);
      await sandbox.rx(`manager kick session ${String(fd)}`);
      t.ok(
        await until(() => lines.some((l) => l.component === 'ami' && l.to === 'backoff'), 5000, 5),
        'the client saw the session drop (backoff)',
      );
      t.ok(await until(() => amiState() === 'connected', 5000, 5), 'and reconnected');

      const second = await dialAndWait(BLOCKED_2);
      t.ok(second.got, 'warnings resume after the reconnect');
      t.match(second.msg?.body ?? '', /\+15559990777 \(Spam Co\).*Reason: robocalls\./);
      t.ok(second.fromDialMs < 1000, `within 1 s (${second.fromDialMs} ms)`);
      t.comment(
        `after reconnect: ${second.fromDialMs} ms from SIPp start, ${second.fromDialBeginMs} ms from DialBegin screened`,
      );
    },
  );

  t.test(
    'with the call-outbound AGI too: one warning per call (AGI and DialBegin deduplicated); deny is told',
    async (t) => {
      const probe = net.createServer();
      await new Promise<void>((resolve) => probe.listen(0, '127.0.0.1', () => resolve()));
      const agiPort = (probe.address() as net.AddressInfo).port;
      await new Promise<void>((resolve) => probe.close(() => resolve()));

      const dir = tempDir(t);
      const { logger, lines } = captureLogger('debug');
      const { ctx } = await startDaemon(t, join(dir, 'callscreen.db'), {
        logger,
        components: defaultComponents,
        toml: [
          '[ami]',
          'enabled = true',
          'secret = "callscreen-sandbox"',
          'reconnect_min_ms = 100',
          '[fastagi]',
          'enabled = true',
          `listen = "127.0.0.1:${agiPort}"`,
          'default_org = "demo"',
        ].join('\n'),
      });
      await sandbox.configure({ agi: `127.0.0.1:${agiPort}`, failMode: 'open' });
      t.teardown(() => sandbox.configure({ agi: NO_AGI, failMode: 'open' }));
      await ctx.orgs.add('demo', 'Demo', 'US', cliActor);
      await ctx.orgs.addDids('demo', sandbox.SANDBOX.dids, cliActor);
      await ctx.blocklist.block(
        'demo',
        { kind: 'exact', number: BLOCKED },
        { mode: 'reject', name: 'Acme Debt Collectors', reason: 'harassment complaint' },
        cliActor,
      );
      await ctx.feed.poll();
      const amiUp = (): boolean => lines.some((l) => l.component === 'ami' && l.to === 'connected');
      t.ok(await until(amiUp, 5000, 5), 'AMI connected');
      const received = await registerAgent101(t);

      const warned = await dial(received, lines, BLOCKED);
      t.same(warned.result.codes, [200], `warn: the call goes on: ${describeSipp(warned.result)}`);
      t.ok(warned.got, 'warning received');
      t.equal(warned.count, 1, 'exactly one MESSAGE although the AGI and DialBegin both saw the call');
      t.match(
        warned.msg?.body ?? '',
        /\+15559990666 \(Acme Debt Collectors\).*Reason: harassment complaint\. You may continue or hang up\./,
      );
      t.ok(
        lines.some((l) => l.msg === 'agent already warned for this call'),
        'the second sighting was deduplicated by call id',
      );
      t.ok(warned.fromDialMs < 1000, `within 1 s (${warned.fromDialMs} ms from SIPp start)`);
      t.comment(`AGI path: ${warned.fromDialMs} ms from SIPp start to the MESSAGE`);

      await ctx.orgs.updateSettings('demo', { outboundPolicy: 'deny' }, cliActor);
      await ctx.feed.poll();
      const denied = await dial(received, lines, BLOCKED, false);
      t.same(denied.result.codes, [403], `deny: the dialplan refuses the call: ${describeSipp(denied.result)}`);
      t.ok(denied.got, 'and the agent is told why');
      t.match(denied.msg?.body ?? '', /\+15559990666 \(Acme Debt Collectors\).*The call was not placed\./);
      t.ok(denied.fromDialMs < 1000, `within 1 s (${denied.fromDialMs} ms)`);
    },
  );
});

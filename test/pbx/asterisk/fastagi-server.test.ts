// The FastAGI server against a fake Asterisk written here: a socket that sends an AGI
// environment, answers every command with `200 result=1` (GET FULL VARIABLE with the value the
// test gives) and records what it was sent. Real daemon underneath (SQLite, index, screener).
import t from 'tap';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { cliActor, captureLogger, services, until, type TapLike } from '../../support/harness.js';
import { startFastAgiDaemon } from '../../support/fastagi-daemon.js';
import { callEnv } from '../../support/faults-agi.js';
import type { FastAgiServer, FastAgiDeps } from '../../../daemon/pbx/asterisk/fastagi-server.js';
import type { AgentWarning } from '../../../daemon/agents/agent-notifier.js';
import type { DaemonContext } from '../../../daemon/daemon-context.js';
import { ScreeningService } from '../../../daemon/services/screening-service.js';
import { closeSync, mkdtempSync, openSync, rmSync } from 'node:fs';
import fsp from 'node:fs/promises';
import { execFileSync } from 'node:child_process';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { listAttestedBank } from '../../support/attested-bank.js';

interface FakeCall {
  commands: string[];
  /** The socket was closed by the server. */
  closedBy: 'server' | 'timeout';
  ms: number;
}

/** Plays Asterisk: sends `env`, answers each command; `vars` answers GET FULL VARIABLE. */
function asterisk(
  port: number,
  env: Record<string, string>,
  opts: { vars?: Record<string, string>; onCommand?: (cmd: string, sock: net.Socket) => boolean } = {},
): Promise<FakeCall> {
  return new Promise((resolve, reject) => {
    const t0 = performance.now();
    const commands: string[] = [];
    const sock = net.connect(port, '127.0.0.1');
    let buf = '';
    const timer = setTimeout(() => {
      sock.destroy();
      resolve({ commands, closedBy: 'timeout', ms: performance.now() - t0 });
    }, 5000);
    sock.setEncoding('utf8');
    sock.on('connect', () => {
      sock.write(
        Object.entries(env)
          .map(([k, v]) => `${k}: ${v}\n`)
          .join('') + '\n',
      );
    });
    sock.on('data', (d: string) => {
      buf += d;
      for (let nl = buf.indexOf('\n'); nl >= 0; nl = buf.indexOf('\n')) {
        const cmd = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        commands.push(cmd);
        if (opts.onCommand?.(cmd, sock) === true) continue;
        const get = /^GET FULL VARIABLE (.*)$/.exec(cmd);
        if (get) {
          const v = opts.vars?.[get[1] ?? ''];
          sock.write(v === undefined ? '200 result=0\n' : `200 result=1 (${v})\n`);
        } else sock.write('200 result=1\n');
      }
    });
    sock.on('error', reject);
    sock.on('close', () => {
      clearTimeout(timer);
      resolve({ commands, closedBy: 'server', ms: performance.now() - t0 });
    });
  });
}

interface Rig {
  ctx: DaemonContext;
  server: FastAgiServer;
  port: number;
  warnings: AgentWarning[];
  lines: Array<Record<string, unknown>>;
  blockedId: number;
}

async function rig(t: TapLike, toml = '', override: Partial<FastAgiDeps> = {}): Promise<Rig> {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  await s.orgs.addDids('demo', ['+15550100', '+15550101'], cliActor);
  const blocked = await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770001' },
    { mode: 'reject', name: 'Spam "Inc"', reason: 'robo\\calls "daily"' },
    cliActor,
  );
  await s.blocklist.block(
    'demo',
    { kind: 'exact', number: '+15557770003' },
    { mode: 'voicemail', reason: 'ex-customer' },
    cliActor,
  );
  await s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'voicemail', reason: 'no caller id' }, cliActor);
  const warnings: AgentWarning[] = [];
  const { logger, lines } = captureLogger('info');
  const { ctx, server, port } = await startFastAgiDaemon(t, {
    dbPath: s.dbPath,
    clock: s.clock,
    logger,
    toml: `${toml.includes('idle_timeout_ms') ? '' : 'idle_timeout_ms = 300\n'}${toml}`,
    deps: {
      agentNotifier: {
        notify: async (w) => {
          warnings.push(w);
          return true;
        },
      },
      ...override,
    },
  });
  return { ctx, server, port, warnings, lines, blockedId: blocked.id };
}

const recorded = async (ctx: DaemonContext) => {
  await ctx.recorder.flush();
  const org = ctx.index.org('demo');
  return org ? ctx.recorder.recent(org.org.id, 100) : [];
};

t.test(
  'inbound calls: allow is one SET VARIABLE; reject and voicemail one more, the detail (code, rule, reason)',
  async (t) => {
    const r = await rig(t);
    const allowed = await asterisk(r.port, callEnv());
    t.same(allowed.commands, ['SET VARIABLE CALLSCREEN_ACTION "allow"'], 'exactly one command for an allowed call');
    t.equal(allowed.closedBy, 'server', 'the server ends the session (AGISTATUS=SUCCESS)');

    // Listed before the daemon started: the first call is answered from the key map alone (rule, mode,
    // no name or reason), and the entry's text is read in the background for the next one.
    const first = await asterisk(r.port, callEnv({ agi_callerid: '5557770001' }));
    t.same(
      first.commands,
      [
        `SET VARIABLE CALLSCREEN_DETAIL "603|exact:${r.blockedId}|rejected, +15557770001 is blocked"`,
        'SET VARIABLE CALLSCREEN_ACTION "reject"',
      ],
      "first call: the verdict and rule from memory, without waiting for the entry's text",
    );
    await r.ctx.index.settled();
    const rejected = await asterisk(r.port, callEnv({ agi_callerid: '5557770001' }));
    t.same(
      rejected.commands,
      [
        `SET VARIABLE CALLSCREEN_DETAIL "603|exact:${r.blockedId}|robo\\\\calls \\"daily\\""`,
        'SET VARIABLE CALLSCREEN_ACTION "reject"',
      ],
      'two commands; quotes and backslashes escaped; action last',
    );

    await r.ctx.screener.screen({
      org: 'demo',
      channel: 'call',
      direction: 'inbound',
      from: '+15557770003',
      to: '+15550100',
    });
    const vm = await asterisk(
      r.port,
      callEnv({ agi_callerid: '+15557770003', agi_extension: 's', agi_dnid: '+15550101' }),
    );
    t.equal(
      vm.commands.at(-1),
      'SET VARIABLE CALLSCREEN_ACTION "voicemail"',
      'DID from agi_dnid when the extension is "s"',
    );
    t.same(vm.commands.length, 2);
    t.match(vm.commands[0], /^SET VARIABLE CALLSCREEN_DETAIL "\|exact:\d+\|ex-customer"$/, 'no SIP code for voicemail');

    const rows = await recorded(r.ctx);
    t.equal(rows.length, 4, 'every screened call recorded');
    t.ok(rows.every((x) => x.adapter === 'fastagi' && typeof x.latency_us === 'number' && x.call_id !== null));
    t.same(rows.map((x) => x.action).sort(), ['allow', 'reject', 'reject', 'voicemail']);
    t.same(r.server.counters.verdicts.reject, 2);
    const log = r.lines.find((l) => l.msg === 'screened' && l.action === 'reject');
    t.match(
      log,
      { org: 'demo', from: '5557770001', to: '+15550100', rule: `exact:${r.blockedId}` },
      'per-call log line with org, from, to, verdict',
    );
    t.ok(typeof log?.callId === 'string');
  },
);

t.test(
  'the latency histogram times the whole session (accept → last command answered); latency_us the verdict',
  async (t) => {
    // A monotonic clock moved only by the fake Asterisk: each command it answers takes it 700 ms.
    let mono = 0;
    const r = await rig(t, '', { monotonicMs: () => mono });
    const call = await asterisk(r.port, callEnv({ agi_callerid: '5557770001' }), {
      onCommand: () => {
        mono += 700;
        return false;
      },
    });
    t.equal(call.commands.length, 2, 'DETAIL and ACTION: 1.4 s of Asterisk answering');
    const body = (await r.ctx.metrics.render()).body;
    const v = (series: string): number =>
      Number(new RegExp(`^${series.replace(/[{}"+.]/g, (c) => `\\${c}`)} (\\S+)$`, 'm').exec(body)?.[1]);
    t.equal(v('callscreen_verdict_duration_seconds_count{adapter="fastagi"}'), 1);
    t.equal(v('callscreen_verdict_duration_seconds_sum{adapter="fastagi"}'), 1.4, 'the session, as Asterisk waited it');
    t.equal(v('callscreen_verdict_duration_seconds_bucket{le="1",adapter="fastagi"}'), 0);
    t.equal(v('callscreen_verdict_duration_seconds_bucket{le="2.5",adapter="fastagi"}'), 1);
    const [row] = await recorded(r.ctx);
    t.equal(row?.latency_us, 0, 'the record keeps environment → verdict (no command answered yet then)');
    t.equal(r.lines.find((l) => l.msg === 'screened')?.sessionUs, 1_400_000, 'the log line has both');
  },
);

t.test(
  'withheld callers: Privacy id or an anonymous caller ID meet the unidentified rule; PAI stands in for anonymous',
  async (t) => {
    const r = await rig(t);
    const anon = await asterisk(r.port, callEnv({ agi_callerid: 'anonymous', agi_arg_1: 'id', agi_arg_2: '' }));
    t.equal(anon.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "voicemail"');
    t.match(anon.commands.join('\n'), /CALLSCREEN_DETAIL "\d*\|unidentified:\d+\|/);

    const privacyOnly = await asterisk(r.port, callEnv({ agi_callerid: '+15550000000', agi_arg_1: 'id' }));
    t.equal(
      privacyOnly.commands.at(-1),
      'SET VARIABLE CALLSCREEN_ACTION "voicemail"',
      'Privacy: id withholds even with a number',
    );

    // PAI with a comma in the display name arrives split over arguments 2..n.
    const pai = await asterisk(
      r.port,
      callEnv({
        agi_callerid: 'anonymous',
        agi_arg_1: 'id',
        agi_arg_2: '"Spam',
        agi_arg_3: ' Inc" <sip:+15557770001@127.0.0.2>',
      }),
    );
    t.match(
      pai.commands.join('\n'),
      /CALLSCREEN_DETAIL "\d*\|exact:\d+\|/,
      'the PAI number is screened: the exact block wins over unidentified',
    );
    t.equal(pai.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "reject"');
    t.equal(
      pai.commands[0],
      'GET FULL VARIABLE ${CALLSCREEN_PAI}',
      'the PAI is read again with its quotes (this fake has none: the arguments are used)',
    );

    // Asterisk's argument parsing strips the quotes: '"<sip:+1555…0009@x>" <sip:+1555…0001@h>' arrives
    // as '<sip:…0009@x> <sip:…0001@h>'. Read with its quotes, the display name is skipped.
    const header = '"<sip:+15550000009@x>, a<b>c" <sip:+15557770001@127.0.0.2>';
    const disguised = await asterisk(
      r.port,
      callEnv({
        agi_callerid: 'anonymous',
        agi_arg_1: 'id',
        agi_arg_2: '<sip:+15550000009@x>',
        agi_arg_3: ' a<b>c <sip:+15557770001@127.0.0.2>',
      }),
      { vars: { '${CALLSCREEN_PAI}': header } },
    );
    t.equal(
      disguised.commands.at(-1),
      'SET VARIABLE CALLSCREEN_ACTION "reject"',
      'a fake URI in the PAI display name does not unblock the caller',
    );
    t.match(disguised.commands.join('\n'), /CALLSCREEN_DETAIL "\d*\|exact:\d+\|/);
    // An ordinary caller with a number costs no extra round trip.
    const plain = await asterisk(
      r.port,
      callEnv({ agi_callerid: '+15550000000', agi_arg_1: '', agi_arg_2: '<sip:+15557770001@h>' }),
    );
    t.same(plain.commands, ['SET VARIABLE CALLSCREEN_ACTION "allow"'], 'From has a number: the PAI is not read');
  },
);

t.test('organisation: unknown DID fails open (counted, logged); org_from context and fixed', async (t) => {
  const r = await rig(t);
  const unknown = await asterisk(
    r.port,
    callEnv({ agi_callerid: '+15557770001', agi_extension: '+15559999999', agi_dnid: '+15559999999' }),
  );
  t.same(unknown.commands, ['SET VARIABLE CALLSCREEN_ACTION "allow"'], 'fail-open: allowed');
  t.equal(r.server.counters.unknownOrg, 1);
  t.equal(r.server.counters.failOpen, 1);
  t.ok(
    r.lines.some(
      (l) =>
        l.msg === 'not screened: let through (fail open)' && l.fallback === 'unknown-org' && l.from === '+15557770001',
    ),
    'logged as fail mode',
  );
  const rows = await recorded(r.ctx);
  t.equal(rows.length, 0, 'no org: not in the org’s records');

  const closed = await rig(t, 'org_from = "context"\n[screening]\nfail_mode = "closed"');
  const byContext = await asterisk(
    closed.port,
    callEnv({ agi_callerid: '+15557770001', agi_context: 'demo', agi_extension: 's' }),
  );
  t.equal(byContext.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "reject"', 'org from the context name');
  const noOrg = await asterisk(closed.port, callEnv({ agi_context: 'from-carrier' }));
  t.match(noOrg.commands[0], /^SET VARIABLE CALLSCREEN_DETAIL "503\|\|not screened/, 'fail closed: 503');
  t.equal(noOrg.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "reject"');
  t.equal(closed.server.counters.failClosed, 1);

  const fixed = await rig(t, 'org_from = "fixed"\ndefault_org = "demo"');
  const f = await asterisk(fixed.port, callEnv({ agi_callerid: '+15557770001', agi_extension: '+15559999999' }));
  t.equal(f.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "reject"', 'fixed: default_org whatever the DID');
});

t.test('a screener that throws: the fail-mode verdict, counted, recorded and logged with why', async (t) => {
  // The verdict itself never waits (memory); what is left to fail is an exception. No deadline race.
  const broken = (ctx: () => DaemonContext): Partial<FastAgiDeps> => ({
    screening: new ScreeningService({
      screener: {
        screenSync: () => {
          throw new Error('index broken');
        },
        screen: () => Promise.reject(new Error('index broken')),
        orgForDid: (raw: string) => ctx().screener.orgForDid(raw),
        org: (slug: string) => ctx().screener.org(slug),
        recordVerdict: (...a: Parameters<DaemonContext['screener']['recordVerdict']>) =>
          ctx().screener.recordVerdict(...a),
      },
      orgSlugs: () =>
        ctx()
          .index.orgs()
          .map((o) => o.org.slug),
      config: () => ctx().config,
      logger: captureLogger('info').logger,
    }),
  });
  let ctxRef: DaemonContext | undefined;
  const get = () => {
    if (!ctxRef) throw new Error('no ctx');
    return ctxRef;
  };
  const open = await rig(t, '', broken(get));
  ctxRef = open.ctx;
  const c = await asterisk(open.port, callEnv({ agi_callerid: '+15557770001' }));
  t.same(c.commands, ['SET VARIABLE CALLSCREEN_ACTION "allow"'], 'fail open: allowed');
  t.equal(open.server.counters.errors, 1);
  t.equal(open.server.counters.failOpen, 1);
  const rows = await recorded(open.ctx);
  t.equal(rows[0]?.fail_mode, 'open', 'recorded as fail-open');

  const closed = await rig(t, '[screening]\nfail_mode = "closed"', broken(get));
  ctxRef = closed.ctx;
  const d = await asterisk(closed.port, callEnv());
  t.match(d.commands[0], /^SET VARIABLE CALLSCREEN_DETAIL "503\|\|/);
  t.equal(d.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "reject"');
  const sms = await asterisk(closed.port, callEnv({ agi_network_script: 'sms-inbound', agi_arg_1: 'pjsip:agent101' }), {
    vars: { '${MESSAGE(from)}': '<sip:+15550000001@127.0.0.2>' },
  });
  t.equal(sms.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "quarantine"', 'fail closed SMS: held');
  const out = await asterisk(
    closed.port,
    callEnv({ agi_network_script: 'call-outbound', agi_extension: '+15557770001' }),
  );
  t.equal(out.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "allow"', 'agents are never stopped by a broken daemon');
});

t.test('listed numbers never seen since start are answered while the libuv thread pool is blocked', async (t) => {
  // Issue #13: a sign-in flood (scrypt) or a lock held every thread SQLite queries run on, and
  // uncached listed callers missed their deadline and were let through. Every libuv thread is held
  // here by an open() of a FIFO that no one writes: any SQLite read (or file I/O) now waits. The
  // verdicts must not.
  const r = await rig(t);
  const org = r.ctx.index.org('demo');
  if (!org) throw new Error('no org');
  org.cache.clear();
  const dir = mkdtempSync(join(tmpdir(), 'cs-pool-'));
  const size = Number(process.env.UV_THREADPOOL_SIZE ?? 4);
  const fifos = Array.from({ length: size }, (_, i) => join(dir, `f${i}`));
  for (const f of fifos) execFileSync('mkfifo', [f]);
  const held = fifos.map((f) => fsp.open(f, 'r'));
  let probeDone = false;
  const probe = fsp.stat(dir).then(() => {
    probeDone = true;
  });
  t.teardown(async () => {
    for (const f of fifos) closeSync(openSync(f, 'w')); // a writer releases each blocked open()
    for (const h of await Promise.all(held)) await h.close();
    await probe;
    rmSync(dir, { recursive: true, force: true });
  });
  const c = await asterisk(r.port, callEnv({ agi_callerid: '+15557770001' }));
  t.equal(c.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "reject"', 'rejected from memory with the pool held');
  t.match(c.commands[0], /^SET VARIABLE CALLSCREEN_DETAIL "603\|exact:\d+\|/, 'with the rule that decided');
  const v = await asterisk(r.port, callEnv({ agi_callerid: '+15557770003' }));
  t.equal(v.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "voicemail"', 'its mode too');
  const anon = await asterisk(r.port, callEnv({ agi_callerid: 'anonymous' }));
  t.equal(anon.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "voicemail"', 'the unidentified rule too');
  t.notOk(probeDone, 'the pool really was held throughout: a stat queued before the calls has not run');
  t.equal(r.server.counters.failOpen, 0, 'nothing let through');
});

t.test('outbound calls: warn/confirm/deny set and the agent is notified; allowed numbers are not', async (t) => {
  const r = await rig(t);
  const env = (to: string) =>
    callEnv({
      agi_network_script: 'call-outbound',
      agi_context: 'from-agents',
      agi_channel: 'PJSIP/agent101-0000002a',
      agi_callerid: '101',
      agi_extension: to,
      agi_uniqueid: 'u-1',
    });
  const ok = await asterisk(r.port, env('+15559990001'));
  t.same(ok.commands, ['SET VARIABLE CALLSCREEN_ACTION "allow"']);
  t.equal(r.warnings.length, 0);
  const warn = await asterisk(r.port, env('+15557770001'));
  t.equal(warn.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "warn"', 'only org, no default_org: its list applies');
  // The warning quotes the entry's name, read after the answer: it follows the call, never holds it.
  await until(() => r.warnings.length > 0, 30_000, 10);
  t.match(r.warnings[0], {
    org: 'demo',
    endpoint: 'agent101',
    number: '+15557770001',
    channel: 'call',
    callId: 'u-1',
    verdict: { action: 'warn', rule: { name: 'Spam "Inc"' } },
  });
  for (const policy of ['confirm', 'deny'] as const) {
    await r.ctx.orgs.updateSettings('demo', { outboundPolicy: policy }, cliActor);
    await r.ctx.feed.poll();
    const c = await asterisk(r.port, env('+15557770001'));
    t.equal(c.commands.at(-1), `SET VARIABLE CALLSCREEN_ACTION "${policy}"`);
    await until(() => r.warnings.at(-1)?.verdict.action === policy, 30_000, 10);
    t.equal(r.warnings.at(-1)?.verdict.action, policy);
  }
});

t.test(
  'inbound SMS: a blocked sender is quarantined with its body; an allowed one costs one GET and one SET',
  async (t) => {
    const r = await rig(t);
    const env = callEnv({
      agi_network_script: 'sms-inbound',
      agi_channel: 'Message/ast_msg_queue',
      agi_callerid: 'unknown',
      agi_dnid: 'unknown',
      agi_arg_1: 'pjsip:agent101',
      agi_uniqueid: 'same-for-all',
    });
    const ok = await asterisk(r.port, env, { vars: { '${MESSAGE(from)}': '<sip:+15550000001@127.0.0.2>' } });
    t.same(ok.commands, ['GET FULL VARIABLE ${MESSAGE(from)}', 'SET VARIABLE CALLSCREEN_ACTION "allow"']);

    const body = 'you won (a prize)\nreply "YES"';
    const q = await asterisk(r.port, env, {
      vars: {
        '${MESSAGE(from)}': '"Spam" <sip:+15557770001@127.0.0.2>',
        '${BASE64_ENCODE(${MESSAGE(body)})}': Buffer.from(body).toString('base64'),
      },
    });
    t.same(q.commands, [
      'GET FULL VARIABLE ${MESSAGE(from)}',
      'GET FULL VARIABLE ${BASE64_ENCODE(${MESSAGE(body)})}',
      'SET VARIABLE CALLSCREEN_ACTION "quarantine"',
    ]);
    const org = r.ctx.index.org('demo');
    const held = await r.ctx.quarantine.list(org?.org.id ?? 0);
    t.equal(held.total, 1);
    t.match(held.messages[0], {
      from: '+15557770001',
      to: '+15550100',
      body,
      deliverTo: 'pjsip:agent101',
      adapter: 'fastagi',
    });
    const rows = await recorded(r.ctx);
    t.same(
      rows.map((x) => [x.channel, x.action, x.call_id]),
      [
        ['sms', 'quarantine', null],
        ['sms', 'allow', null],
      ],
      'recorded; the shared uniqueid is not used as an id',
    );

    // No func_base64: the body is read plainly.
    await asterisk(r.port, env, {
      vars: { '${MESSAGE(from)}': '<sip:+15557770001@127.0.0.2>', '${MESSAGE(body)}': 'plain' },
    });
    t.equal((await r.ctx.quarantine.list(org?.org.id ?? 0)).messages[0]?.body, 'plain');
  },
);

t.test(
  'inbound SMS attestation (issue #16): the verstat of MESSAGE(from) reaches the screen, at no extra round trip',
  async (t) => {
    const r = await rig(t);
    await listAttestedBank(r.ctx, 'voicemail');
    await r.ctx.feed.poll();
    const env = callEnv({
      agi_network_script: 'sms-inbound',
      agi_channel: 'Message/ast_msg_queue',
      agi_arg_1: 'pjsip:agent101',
    });
    // res_pjsip_messaging prints the From's URI with its user parameters (ATIS puts verstat there).
    const sms = (from: string) =>
      asterisk(r.port, env, {
        vars: { '${MESSAGE(from)}': from, '${BASE64_ENCODE(${MESSAGE(body)})}': Buffer.from('hi').toString('base64') },
      });
    const failed = await sms('<sip:+15558880001;verstat=TN-Validation-Failed@127.0.0.2;user=phone>');
    t.equal(failed.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "quarantine"', 'verification failed: held');
    const passed = await sms('"Bank" <sip:+15557790001;verstat=TN-Validation-Passed-A@127.0.0.2;user=phone>');
    t.same(
      passed.commands,
      ['GET FULL VARIABLE ${MESSAGE(from)}', 'SET VARIABLE CALLSCREEN_ACTION "allow"'],
      'the bank attested A: its "only when attested" allow counts; still one GET and one SET',
    );
    const unattested = await sms('<sip:+15557790001@127.0.0.2>');
    t.equal(
      unattested.commands.at(-1),
      'SET VARIABLE CALLSCREEN_ACTION "quarantine"',
      'the bank unattested: the allow entry does not count, the prefix block holds it',
    );
    const rows = (await recorded(r.ctx)).filter((x) => x.channel === 'sms');
    t.same(
      rows.map((x) => [x.action, x.rule_kind, x.attestation]).reverse(),
      [
        ['quarantine', 'attestation', 'failed'],
        ['allow', 'allow', 'passed-A'],
        ['quarantine', 'prefix', null],
      ],
      'recorded with the attestation',
    );
  },
);

t.test('outbound SMS: always allowed; a blocked destination warns the agent named in MESSAGE(from)', async (t) => {
  const r = await rig(t);
  const env = (to: string) =>
    callEnv({
      agi_network_script: 'sms-outbound',
      agi_channel: 'Message/ast_msg_queue',
      agi_callerid: 'unknown',
      agi_extension: to,
    });
  const vars = { '${MESSAGE(from)}': '<sip:agent102@127.0.0.1>' };
  const ok = await asterisk(r.port, env('+15559990002'), { vars });
  t.same(ok.commands, ['GET FULL VARIABLE ${MESSAGE(from)}', 'SET VARIABLE CALLSCREEN_ACTION "allow"']);
  t.equal(r.warnings.length, 0);
  const w = await asterisk(r.port, env('+15557770001'), { vars });
  t.equal(w.commands.at(-1), 'SET VARIABLE CALLSCREEN_ACTION "allow"');
  await until(() => r.warnings.length > 0, 30_000, 10);
  t.match(r.warnings, [{ endpoint: 'agent102', channel: 'sms', number: '+15557770001' }]);
});

t.test('garbage never crashes the server or holds memory; it keeps serving', async (t) => {
  const r = await rig(t);
  const rawClient = (write: (s: net.Socket) => void): Promise<number> =>
    new Promise((resolve) => {
      const t0 = performance.now();
      const s = net.connect(r.port, '127.0.0.1', () => write(s));
      s.on('error', () => undefined);
      s.on('close', () => resolve(performance.now() - t0));
      s.resume();
    });
  await rawClient((s) => s.write(randomBytes(4096)));
  await rawClient((s) => s.write('GET / HTTP/1.1\r\nHost: x\r\n\r\n'));
  const mb = await rawClient((s) => s.write(Buffer.alloc(1024 * 1024, 0x61)));
  t.ok(mb < 2000, `a 1 MB line is cut at 8 KiB (${mb.toFixed(0)} ms)`);
  const tooMany = await rawClient((s) => s.write(Array.from({ length: 500 }, (_, i) => `agi_x${i}: y\n`).join('')));
  t.ok(tooMany < 2000, 'too many environment lines');
  const silent = await rawClient(() => undefined);
  t.ok(silent >= 250 && silent < 2000, `a silent client is closed after idle_timeout_ms=300 (${silent.toFixed(0)} ms)`);
  const unknown = await asterisk(r.port, callEnv({ agi_network_script: 'nope', agi_request: 'agi://x/nope' }));
  t.same(unknown.commands, [], 'unknown script: closed without commands');
  t.ok(r.server.counters.protocolErrors >= 6, `protocol errors counted (${r.server.counters.protocolErrors})`);
  t.equal(r.server.counters.connections, 0, 'no connection left open');
  const ok = await asterisk(r.port, callEnv());
  t.same(ok.commands, ['SET VARIABLE CALLSCREEN_ACTION "allow"'], 'still serving');
});

t.test('HANGUP: commands after an out-of-band HANGUP are not sent, the verdict is still recorded', async (t) => {
  const r = await rig(t);
  const c = await asterisk(r.port, callEnv({ agi_callerid: '+15557770001' }), {
    onCommand: (_cmd, sock) => {
      sock.write('HANGUP\n200 result=1\n');
      return true;
    },
  });
  t.equal(c.commands.length, 1, 'one command, then the caller was gone');
  t.equal(r.server.counters.hangups, 1);
  t.equal((await recorded(r.ctx))[0]?.action, 'reject');

  // The socket closes while a command waits for its reply.
  const d = await asterisk(r.port, callEnv({ agi_callerid: '+15557770001' }), {
    onCommand: (_c, sock) => {
      sock.end();
      return true;
    },
  });
  t.equal(d.commands.length, 1);
  const ok = await asterisk(r.port, callEnv());
  t.same(ok.commands, ['SET VARIABLE CALLSCREEN_ACTION "allow"'], 'still serving');
});

t.test('max_connections: beyond it a connection is refused at once (Asterisk fails open)', async (t) => {
  const r = await rig(t, 'max_connections = 2\nidle_timeout_ms = 2000');
  const held = await Promise.all(
    [0, 1].map(
      () =>
        new Promise<net.Socket>((res) => {
          const s = net.connect(r.port, '127.0.0.1', () => res(s));
          s.on('error', () => undefined);
        }),
    ),
  );
  // Decided by state, not by a sleep: both held sockets are the server's before the third comes.
  t.ok(await until(() => r.server.counters.connections === 2, 30_000, 5), 'two connections held');
  const third = await new Promise<{ data: number; idleTimerFired: boolean }>((resolve) => {
    let data = 0;
    const s = net.connect(r.port, '127.0.0.1');
    s.on('data', (d: Buffer) => {
      data += d.length;
    });
    s.on('error', () => undefined);
    // idle_timeout_ms is 2000: a close before the session's idle timer could fire is a refusal.
    s.on('close', () => resolve({ data, idleTimerFired: r.server.counters.protocolErrors > 0 }));
  });
  t.same(third, { data: 0, idleTimerFired: false }, 'third connection closed with nothing sent, not by the idle timer');
  t.equal(r.server.counters.refused, 1);
  for (const s of held) s.destroy();
});

t.test('many concurrent sessions are each answered correctly', async (t) => {
  const r = await rig(t);
  const n = 300;
  const t0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: n }, (_, i) =>
      asterisk(
        r.port,
        callEnv({ agi_callerid: i % 3 === 0 ? '+15557770001' : `+1555000${String(i).padStart(4, '0')}` }),
      ),
    ),
  );
  const ms = performance.now() - t0;
  const rejected = results.filter((x) => x.commands.at(-1) === 'SET VARIABLE CALLSCREEN_ACTION "reject"').length;
  const allowed = results.filter(
    (x) => x.commands.length === 1 && x.commands[0] === 'SET VARIABLE CALLSCREEN_ACTION "allow"',
  ).length;
  t.equal(rejected, n / 3);
  t.equal(allowed, n - n / 3);
  const rows = await recorded(r.ctx);
  t.equal(rows.length, 100, 'recent() is limited; all recorded below');
  const lat = (await r.ctx.db.all<{ l: number }>('SELECT latency_us AS l FROM screened ORDER BY l')).map((x) => x.l);
  t.equal(lat.length, n);
  t.comment(
    `${n} concurrent sessions in ${ms.toFixed(0)} ms; screening latency p50 ${String(lat[Math.floor(n / 2)])} µs, p99 ${String(lat[Math.floor(n * 0.99)])} µs`,
  );
});

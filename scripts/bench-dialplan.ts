/**
 * `npm run bench:dialplan`: what each piece of the AstDB mirror's dialplan costs Asterisk, in µs of
 * Asterisk CPU per evaluation (issue #20).
 *
 * The PBX bench (scripts/bench-pbx.ts) compares whole calls, and its ±15 % noise between points hides
 * pieces worth a few µs. Here one SIPp call reaches a bench-only extension that evaluates one piece
 * N times (default 20,000; BENCH_DIALPLAN_N) in a `While` loop, inside that one call; the Asterisk
 * process's CPU (every thread's /proc schedstat, ns) is read before and after the call. The same loop
 * with nothing in it is the baseline subtracted, so what is left is the piece alone. Cheap pieces are
 * written K times in one `NoOp()` (default 10; BENCH_DIALPLAN_K) so that they outweigh the loop.
 *
 * Pieces: `BLACKLIST()`, `DB_EXISTS()` hit and miss, `DB()`, `${EPOCH}`, `PJSIP_HEADER(read,…)` of an
 * absent and of a present header, `PJSIP_HEADERS()`, each `REGEX()` of the mirror, `SET()`, one more
 * priority; then the expressions of the mirror's priorities as shipped (taken from `[from-carrier]` in
 * config/asterisk/extensions.conf: from its first priority that jumps to a `mirror-…` label to the last
 * that jumps to `mirror-allowed`), alone, and as the priorities a call runs (the "path": listed and
 * unlisted callers, with and without a P-Asserted-Identity asserting them), the answers' jumps and the
 * jump to the AGI sent to the loop's end. `--compare REV[,REV…]` adds the same of other git revisions'
 * extensions.conf (say HEAD~1), measured in the same run, for a before/after.
 *
 * Every repetition (BENCH_DIALPLAN_REPS, default 3) runs every piece once, in an order rotated per
 * repetition; the table gives the median, and the same from the fastest repetition of each piece (less
 * the fastest baseline): on a loaded machine a repetition's CPU time only grows (cache misses, lock
 * waits, context switches), so the minimum is the least disturbed reading. The generated extensions (extensions-bench-dialplan.conf)
 * reach Asterisk through scripts/pbx-sandbox's CALLSCREEN_SANDBOX_EXTRA_CONF and the `#tryinclude` at
 * the end of the bench section of config/asterisk/extensions.conf: DIDs +15559400xxx, which belong to
 * no org, so nothing else changes; the next sandbox start without it removes the file. AstDB: the
 * mirror's keys for a bench org `csbench` (written here, family `callscreen` dropped at the end, as
 * the sandbox's test helpers do) and `/blacklist/<listed caller>`. No daemon runs.
 *
 * Holds the PBX sandbox lock (test/support/pbx-sandbox.ts) for the run. Needs root (the sandbox does).
 * Prints the load average with the table: the machine is shared, and a loaded machine inflates every
 * row (the baseline included), but the per-piece differences less so than whole-call figures.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect, type Socket } from 'node:net';
import { loadavg, tmpdir } from 'node:os';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { setTimeout as sleep } from 'node:timers/promises';
import * as sandbox from '../test/support/pbx-sandbox.js';
import { describeSipp, runSipp } from '../test/support/sipp.js';
import { at } from './checked.js';
import { median } from './pbx-bench-kit.js';
import { asteriskPid, cpuNs } from './proc-cpu.js';

const root = resolve(dirname(fileURLToPath(import.meta.url)), '..');
const argv = process.argv.slice(2);
const flag = (name: string): string | undefined => {
  const i = argv.indexOf(name);
  return i >= 0 ? argv[i + 1] : undefined;
};
/** Loop iterations per call (one call per piece and repetition). */
const N = Number(process.env.BENCH_DIALPLAN_N ?? 20_000);
/** Copies of a cheap piece in one NoOp() per iteration. */
const K = Number(process.env.BENCH_DIALPLAN_K ?? 10);
const REPS = Number(process.env.BENCH_DIALPLAN_REPS ?? 3);
/** BENCH_DIALPLAN_ONLY=regex,path: only the pieces whose name holds one of these words (and the baseline). */
const ONLY = (process.env.BENCH_DIALPLAN_ONLY ?? '').split(',').filter(Boolean);
const COMPARE = flag('--compare');
/**
 * BENCH_DIALPLAN_AMI=0: no AMI session during the run. By default one is logged in the way the daemon's
 * mirror logs in (Events: call,user; filters DialBegin and UserEvent): with a session logged in, the
 * manager has events to format, filter and write (a UserEvent reaches the socket), so what a priority
 * or a UserEvent costs may depend on it.
 */
const AMI_SESSION = process.env.BENCH_DIALPLAN_AMI !== '0';
/**
 * BENCH_DIALPLAN_PACE_MS (default 0: off): also run paced copies of the baseline, of one more priority,
 * of a header read and of the call paths, with a `Wait()` of this many ms in every iteration (N/10
 * iterations), so that Asterisk's other threads (the SIP serializer, stasis subscribers, the manager)
 * fall idle between iterations as they do between the priorities of real calls; back to back, a loop
 * finds them awake and pays no wake-ups. The paced baseline (the Wait alone) is subtracted.
 */
const PACE_MS = Number(process.env.BENCH_DIALPLAN_PACE_MS ?? 0);
const PACED_BASELINE = `paced (Wait ${PACE_MS} ms an iteration): baseline`;
const CARRIER_IP = sandbox.SANDBOX.carrierIp;
const SCENARIO = 'inbound-call-hostile-from.xml';
const INCLUDE_FILE = 'extensions-bench-dialplan.conf';
const ORG = 'csbench';
const LISTED = '+15557770001';
const UNLISTED = '+15557770004';
/** "Far future" for callscreen/alive (2100-01-01, epoch s). */
const ALIVE = 4_102_444_800;
/**
 * An exclusion pattern shaped like the daemon's for a US org with one prefix block and one timed block
 * (docs/asterisk-contract.md, `complete/<org>`): E.164 and national forms, own DIDs, lengths the plain
 * reading does not cover. Its length is what REGEX() pays for (compiled on every call).
 */
const EXCLUSIONS =
  '^([+](1900|15557770009$)|900|1900|5557770009$|15557770009$|5550100$|15550100$|5550101$|15550101$|0|00|011|[0-9]{1,6}$|[0-9]{7}$|[0-9]{8}$|[0-9]{9}$|1[0-9]{9}$|[02-9][0-9]{10}$|[0-9]{12})';

const started = Date.now();
const log = (msg: string): void =>
  void process.stderr.write(`[${((Date.now() - started) / 1000).toFixed(0).padStart(4)}s] ${msg}\n`);

// ------------------------------------------------------------------------------------------ pieces

/** One header line sent with the INVITE (scenario key cs_h1), or a harmless one. */
type Headers = 'none' | 'pai';

interface Piece {
  name: string;
  caller: string;
  headers: Headers;
  /** Priorities (application calls) run once per iteration. */
  body: string[];
  /** Evaluations of the piece per iteration (K for a piece copied into one NoOp, 1 otherwise). */
  evals: number;
  /** Priorities run once before the loop (variables a later piece reads). */
  prelude?: string[];
  /** Subtract this piece's result instead of the empty loop's (e.g. `${X}` alone from `${F(${X})}`). */
  minus?: string;
  /** Iterations of this piece's loop (default N). */
  n?: number;
}

const BASELINE = 'empty loop (baseline: While + NoOp() + EndWhile)';
const C = '[${CALLERID(num):0:1}]${CALLERID(num):1}';
const PAI_REGEX = `^x$|^x[A-Za-z0-9 ._-]*<(sips?:${C}@[^@>]*|tel:${C}(\\;[^@>]*)?)>`;
const RPID_REGEX = `^x$|^x[A-Za-z0-9 ._-]*<sips?:${C}@[^@>]*>(\\;party=calling|\\;screen=yes|\\;screen=no|\\;privacy=off)*$`;

/** `expr` K times in one NoOp(). */
const copies = (expr: string): string[] => [`NoOp(${Array.from({ length: K }, () => expr).join('')})`];

function basicPieces(): Piece[] {
  const p = (
    name: string,
    expr: string,
    caller = LISTED,
    headers: Headers = 'none',
    extra: Partial<Piece> = {},
  ): Piece => ({
    name,
    caller,
    headers,
    body: copies(expr),
    evals: K,
    ...extra,
  });
  return [
    { name: BASELINE, caller: LISTED, headers: 'none', body: ['NoOp()'], evals: 1 },
    { name: 'one more priority (NoOp())', caller: LISTED, headers: 'none', body: ['NoOp()', 'NoOp()'], evals: 1 },
    p('BLACKLIST() (listed caller)', '${BLACKLIST()}'),
    p('DB_EXISTS(callscreen/n/<org>/<caller>) hit', `\${DB_EXISTS(callscreen/n/${ORG}/\${CALLERID(num)})}`),
    p('DB_EXISTS(callscreen/n/<org>/<caller>) miss', `\${DB_EXISTS(callscreen/n/${ORG}/\${CALLERID(num)})}`, UNLISTED),
    p('DB(callscreen/alive)', '${DB(callscreen/alive)}'),
    p('DB(callscreen/did/${EXTEN})', '${DB(callscreen/did/${EXTEN})}'),
    p('${EPOCH}', '${EPOCH}'),
    p('${CALLERID(num)}', '${CALLERID(num)}'),
    p('PJSIP_HEADER(read,Privacy), absent', '${PJSIP_HEADER(read,Privacy)}'),
    p('PJSIP_HEADER(read,P-Asserted-Identity), present', '${PJSIP_HEADER(read,P-Asserted-Identity)}', LISTED, 'pai'),
    {
      name: 'PJSIP_HEADER(read,Privacy), absent, once an iteration',
      caller: LISTED,
      headers: 'none',
      body: ['NoOp(${PJSIP_HEADER(read,Privacy)})'],
      evals: 1,
    },
    {
      name: 'PJSIP_HEADER(read,…) of Privacy, P-Asserted-Identity, Remote-Party-ID, absent, in one NoOp()',
      caller: LISTED,
      headers: 'none',
      body: [
        'NoOp(${PJSIP_HEADER(read,Privacy)}${PJSIP_HEADER(read,P-Asserted-Identity)}${PJSIP_HEADER(read,Remote-Party-ID)})',
      ],
      evals: 1,
    },
    p('PJSIP_HEADERS() (names of all 9 headers)', '${PJSIP_HEADERS()}'),
    p('PJSIP_HEADERS(P) (names starting with P: none)', '${PJSIP_HEADERS(P)}'),
    p('REGEX(<PAI check>) on "x" (header absent)', `\${REGEX("${PAI_REGEX}" x)}`),
    p('REGEX(<RPID check>) on "x" (header absent)', `\${REGEX("${RPID_REGEX}" x)}`),
    p('REGEX(<caller form>)', '${REGEX("^([+][1-9])?[0-9]+$" ${CALLERID(num)})}'),
    p('REGEX(<exclusions>) (pattern in a variable)', '${REGEX("${CSB_EXCL}" ${CALLERID(num)})}', UNLISTED, 'none', {
      prelude: [`Set(CSB_EXCL=${EXCLUSIONS})`],
    }),
    p('$[a = "" & b & c] (an expression of five terms)', '$["" = "" & 1 & 1 & 5 >= 4 & 1]'),
    p('SET(CSB_V=1) (a channel variable written inside an expression)', '${SET(CSB_V=1)}'),
    {
      name: 'one more priority: MSet(CALLSCREEN_ACTION=…,CALLSCREEN_DETAIL=…) as the mirror-listed answer',
      caller: LISTED,
      headers: 'none',
      body: ['NoOp()', 'MSet(CALLSCREEN_ACTION=reject,CALLSCREEN_DETAIL=603|exact:1|)'],
      evals: 1,
    },
    {
      name: 'one more priority: UserEvent(CallScreen,From: …,To: …,Action: reject) (the daemon reads it)',
      caller: LISTED,
      headers: 'none',
      body: ['NoOp()', 'UserEvent(CallScreen,From: ${CALLERID(num)},To: ${EXTEN},Action: reject)'],
      evals: 1,
    },
  ];
}

// ------------------------------------------------------------------------------------------ the shipped mirror

/** One priority: its label (n(label)), if any, and its application call. */
interface Priority {
  label?: string;
  app: string;
}

/**
 * The mirror's priorities as shipped: in `[from-carrier]`'s inbound extension (_+1555010X), from the
 * first priority that jumps to a `mirror-…` label to the last that jumps to `mirror-allowed`.
 */
function mirrorPriorities(conf: string): Priority[] {
  const all: Priority[] = [];
  let context = '';
  let inExten = false;
  for (const line of conf.split('\n')) {
    const ctx = /^\[([^\]]+)\]/.exec(line);
    if (ctx) {
      context = at(ctx, 1);
      inExten = false;
      continue;
    }
    if (context !== 'from-carrier') continue;
    const first = /^exten\s*=>\s*_\+1555010X,1,(.*)$/.exec(line);
    if (first) {
      inExten = true;
      all.push({ app: at(first, 1) });
      continue;
    }
    if (!inExten || /^\s*;/.test(line)) continue;
    const next = /^\s*same\s*=>\s*n(?:\(([^)]*)\))?,(.*)$/.exec(line);
    if (!next) break;
    all.push({ ...(next[1] ? { label: next[1] } : {}), app: at(next, 2) });
  }
  const from = all.findIndex((p) => /\?mirror-[a-z-]+\)$/.test(p.app));
  const to = all.findLastIndex((p) => p.app.endsWith('?mirror-allowed)'));
  if (from < 0 || to < from) throw new Error('no mirror priorities found in [from-carrier] _+1555010X');
  return all.slice(from, to + 1);
}

/** What a priority evaluates: the condition of a `GotoIf(<cond>?label)`, else the whole call (a `Set`). */
const evaluated = (app: string): string => {
  const m = /^GotoIf\((.*)\?[a-z-]+\)$/.exec(app);
  return m ? `NoOp(${at(m, 1)})` : app;
};

/** The priorities as a loop body: the answers (`mirror-listed`, `mirror-allowed`) and the way to the AGI (`mirror-miss`) become the loop's end. */
const asLoopBody = (ps: Priority[]): string[] =>
  ps.map((p) => {
    const app = p.app.replace(/\?mirror-(listed|allowed|miss)\)$/, '?csb-end)');
    return p.label ? `(${p.label}),${app}` : app;
  });

function mirrorPieces(label: string, ps: Priority[]): Piece[] {
  const pieces: Piece[] = [];
  // Each priority's expression alone, after the ones before it (a later one reads what an earlier one set).
  ps.forEach((p, i) => {
    const before = ps.slice(0, i).map((q) => evaluated(q.app));
    const callers = i === 0 ? [LISTED, UNLISTED] : [UNLISTED];
    for (const caller of callers) {
      pieces.push({
        name: `${label}: priority ${i + 1}'s expression, ${caller === LISTED ? 'listed' : 'unlisted'} caller`,
        caller,
        headers: 'none',
        body: [evaluated(p.app)],
        evals: 1,
        prelude: before,
      });
    }
  });
  for (const [what, caller, headers] of [
    ['listed caller', LISTED, 'none'],
    ['unlisted caller', UNLISTED, 'none'],
    ['listed caller, PAI asserting it', LISTED, 'pai'],
    ['unlisted caller, PAI asserting it', UNLISTED, 'pai'],
  ] as const) {
    pieces.push({
      name: `${label}: the priorities a call runs, ${what}`,
      caller,
      headers,
      body: asLoopBody(ps),
      evals: 1,
    });
  }
  return pieces;
}

/** Paced copies (BENCH_DIALPLAN_PACE_MS) of the pieces whose cost may be wake-ups of other threads. */
function pacedPieces(all: Piece[]): Piece[] {
  const wait = `Wait(${PACE_MS / 1000})`;
  const n = Math.max(1, Math.round(N / 10));
  const pick = all.filter(
    (p) =>
      p.name.startsWith('one more priority') ||
      p.name.includes('once an iteration') ||
      p.name.includes('in one NoOp') ||
      p.name.startsWith('BLACKLIST') ||
      p.name.includes('a call runs'),
  );
  return [
    { name: PACED_BASELINE, caller: LISTED, headers: 'none', body: [wait], evals: 1, n },
    ...pick.map((p) => ({
      ...p,
      name: `paced: ${p.name}`,
      body: [wait, ...p.body],
      evals: p.evals,
      minus: PACED_BASELINE,
      n,
    })),
  ];
}

// ------------------------------------------------------------------------------------------ the dialplan

const didOf = (i: number): string => `+15559400${String(i).padStart(3, '0')}`;

function renderInclude(pieces: Piece[]): string {
  const out = [
    '; Generated by scripts/bench-dialplan.ts for one run: not a template (see that script).',
    '[from-carrier](+)',
    'include => callscreen-bench-dialplan',
    '',
    '[callscreen-bench-dialplan]',
  ];
  pieces.forEach((p, i) => {
    out.push(`exten => ${didOf(i)},1,NoOp(${p.name.replace(/[,;()$\\]/g, ' ')})`);
    for (const app of p.prelude ?? []) out.push(` same => n,${app}`);
    out.push(' same => n,Set(CSB_I=0)');
    out.push(` same => n,While($[\${INC(CSB_I)} <= ${p.n ?? N}])`);
    for (const app of p.body) out.push(app.startsWith('(') ? ` same => n${app}` : ` same => n,${app}`);
    out.push(' same => n(csb-end),EndWhile()');
    out.push(' same => n,PJSIPHangup(486)');
  });
  return out.join('\n') + '\n';
}

// ------------------------------------------------------------------------------------------ run

/** An AMI session like the daemon's mirror (login, the same event filters); what it receives is dropped. */
async function amiSession(): Promise<Socket> {
  const sock = connect({ host: '127.0.0.1', port: 5038 });
  let text = '';
  const loggedIn = new Promise<void>((res, rej) => {
    sock.on('data', (d: Buffer) => {
      if (text.length < 100_000) text += d.toString('latin1');
      if (/Response: Success\r\nMessage: Authentication accepted/.test(text)) res();
      if (/Response: Error/.test(text)) rej(new Error(`AMI login refused: ${text.slice(0, 300)}`));
    });
    sock.once('error', rej);
  });
  sock.write(
    'Action: Login\r\nUsername: callscreen\r\nSecret: callscreen-sandbox\r\nEvents: call,user\r\n\r\n' +
      'Action: Filter\r\nOperation: Add\r\nFilter: Event: DialBegin\r\n\r\n' +
      'Action: Filter\r\nOperation: Add\r\nFilter: Event: UserEvent\r\n\r\n',
  );
  await Promise.race([
    loggedIn,
    sleep(10_000).then(() => {
      throw new Error('AMI login: no answer within 10 s');
    }),
  ]);
  return sock;
}

async function place(p: Piece, did: string): Promise<number> {
  const apid = asteriskPid();
  const c0 = cpuNs(apid);
  const r = await runSipp({
    scenario: SCENARIO,
    remote: sandbox.SANDBOX.sip,
    bindIp: CARRIER_IP,
    caller: 'bench',
    did,
    timeoutSec: 120,
    extraArgs: [
      '-key',
      'cs_from',
      `<sip:${p.caller}@${CARRIER_IP}>`,
      '-key',
      'cs_h1',
      p.headers === 'pai' ? `P-Asserted-Identity: <sip:${p.caller}@${CARRIER_IP}>` : 'X-Callscreen-Pad: -',
      '-key',
      'cs_h2',
      'X-Callscreen-Pad: -',
    ],
  });
  const c1 = cpuNs(apid);
  if (r.codes[0] !== 486) throw new Error(`${p.name}: expected 486 after the loop\n${describeSipp(r)}`);
  return c1 - c0;
}

async function main(): Promise<void> {
  const current = readFileSync(join(root, 'config/asterisk/extensions.conf'), 'utf8');
  let pieces = [...basicPieces(), ...mirrorPieces('as in this tree', mirrorPriorities(current))];
  for (const rev of COMPARE?.split(',').filter(Boolean) ?? []) {
    const old = execFileSync('git', ['show', `${rev}:config/asterisk/extensions.conf`], {
      cwd: root,
      encoding: 'utf8',
    });
    pieces.push(...mirrorPieces(rev, mirrorPriorities(old)));
  }
  if (PACE_MS > 0) pieces.push(...pacedPieces(pieces));
  if (ONLY.length)
    pieces = pieces.filter(
      (p) => p.name === BASELINE || p.name === PACED_BASELINE || ONLY.some((w) => p.name.includes(w)),
    );

  const dir = mkdtempSync(join(tmpdir(), 'callscreen-bench-dialplan-'));
  writeFileSync(join(dir, INCLUDE_FILE), renderInclude(pieces));
  log(`${pieces.length} pieces, N=${N} iterations a call, K=${K} copies of a cheap piece, ${REPS} repetitions`);
  await sandbox.start({ extraConfDir: dir });
  let ami: Socket | null = null;
  try {
    const shown = await sandbox.rx(`dialplan show ${didOf(0)}@callscreen-bench-dialplan`);
    if (!shown.includes('While')) throw new Error(`the bench extensions did not load:\n${shown}`);
    const puts: Array<[string, string]> = [
      ['callscreen', `alive ${ALIVE}`],
      ['callscreen', `n/${ORG}/${LISTED} "reject|603|exact:1|"`],
      ['callscreen', `complete/${ORG} "${EXCLUSIONS}"`],
      ['blacklist', `${LISTED} 1`],
      ...pieces.map((_, i) => ['callscreen', `did/${didOf(i)} ${ORG}`] as [string, string]),
    ];
    for (const [family, kv] of puts) await sandbox.rx(`database put ${family} ${kv}`);
    const excl = await sandbox.astdbGet('callscreen', `complete/${ORG}`);
    if (excl !== EXCLUSIONS) throw new Error(`complete/${ORG} reads back as ${String(excl)}`);
    ami = AMI_SESSION ? await amiSession() : null;

    const ns = new Map<string, number[]>(pieces.map((p) => [p.name, []]));
    const loads: number[] = [];
    for (let rep = 0; rep < REPS; rep++) {
      const order = pieces.map((p, i) => ({ p, i }));
      const shift = Math.round((rep * order.length) / REPS);
      const rotated = [...order.slice(shift), ...order.slice(0, shift)];
      for (const { p, i } of rotated) {
        ns.get(p.name)?.push(await place(p, didOf(i)));
        await sleep(200);
      }
      loads.push(at(loadavg(), 0));
      log(`repetition ${rep + 1}/${REPS} done, load average ${at(loadavg(), 0).toFixed(2)}`);
    }

    const iters = (name: string): number => pieces.find((q) => q.name === name)?.n ?? N;
    const perIter = (name: string): number => median(ns.get(name) ?? []) / iters(name) / 1000; // µs per iteration
    const base = perIter(BASELINE);
    const minIter = (name: string): number => Math.min(...(ns.get(name) ?? []).map((x) => x / iters(name) / 1000));
    const minBase = minIter(BASELINE);
    const rows = pieces.map((p) => {
      const all = (ns.get(p.name) ?? []).map((x) => x / iters(p.name) / 1000);
      const net = (perIter(p.name) - (p.minus ? perIter(p.minus) : base)) / p.evals;
      const fastest = (Math.min(...all) - (p.minus ? minIter(p.minus) : minBase)) / p.evals;
      return { p, net, fastest, spread: `${Math.min(...all).toFixed(1)}–${Math.max(...all).toFixed(1)}` };
    });
    const out = [
      '',
      `Asterisk CPU per evaluation, µs (median of ${REPS}; N=${N} iterations in one call, less the empty loop's ${base.toFixed(2)} µs an iteration; K=${K}).`,
      `Load average (1 min) after each repetition: ${loads.map((l) => l.toFixed(2)).join(', ')}. ` +
        (AMI_SESSION ? 'An AMI session logged in as the daemon logs in.' : 'No AMI session.'),
      '',
      '| piece | µs per evaluation (median) | from the fastest repetitions | µs per iteration, min–max |',
      '| --- | ---: | ---: | ---: |',
      ...rows.map(({ p, net, fastest, spread }) =>
        p.name === BASELINE
          ? `| ${p.name} | (${base.toFixed(2)} per iteration) | (${minBase.toFixed(2)}) | ${spread} |`
          : `| ${p.name.replace(/\|/g, '\\|')} | ${net.toFixed(2)} | ${fastest.toFixed(2)} | ${spread} |`,
      ),
      '',
    ];
    process.stdout.write(out.join('\n'));
  } finally {
    ami?.destroy();
    await sandbox.rx('database deltree callscreen').catch(() => undefined);
    await sandbox.rx(`database del blacklist ${LISTED}`).catch(() => undefined);
    await sandbox.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

await main();

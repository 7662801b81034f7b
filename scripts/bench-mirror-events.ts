/**
 * `npm run bench:mirror`: the daemon's CPU per call answered by the AstDB mirror (#20's target:
 * ≤ 0.1 ms), without Asterisk.
 *
 * A call the dialplan answers from AstDB costs the daemon one `UserEvent(CallScreen)` over AMI: the
 * frame is parsed (Asterisk 22 adds the channel snapshot, ~20 lines), the call is screened from memory
 * to record its rule, recorded (batched SQLite insert), counted and logged. Here the frames are the
 * bytes Asterisk 22 sends, fed through the AMI client's own parser and the mirror's event handler in
 * this process, on a real daemon (SQLite store, index, recorder); CPU is read with
 * process.cpuUsage() around each stage, so the figures are per event and hardly depend on the
 * machine's other load. Stages, interleaved, median of BENCH_REPS runs:
 *   parse     the AMI frames only;
 *   handle    parse + the mirror's handler (screen, record, count) at log level warn;
 *   handle+log the same at log level info (one "screened" line per call, written to /dev/null).
 * The recorder's flushes are inside the measured time (the last one awaited).
 *
 *   BENCH_EVENTS  events per run (default 20,000)
 *   BENCH_REPS    runs per stage (default 5)
 *   --cpu-prof    print the top functions of the handle+log stage by self time
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino, type Logger } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { Daemon } from '../daemon/main.js';
import { AstdbMirror } from '../daemon/pbx/asterisk/astdb-mirror.js';
import type { AmiEvent } from '../daemon/pbx/asterisk/ami-client.js';
import type { LinkState } from '../daemon/net/reconnecting-link.js';
import { AmiParser, type AmiMessage } from '../daemon/pbx/asterisk/ami-protocol.js';
import { backgroundScheduler } from '../daemon/core/clock.js';
import { NumberNormalizer } from '../daemon/core/phone-number.js';
import { profileTable } from './cpu-profile.js';
import { at, must } from './checked.js';

const EVENTS = Number(process.env.BENCH_EVENTS ?? 20_000);
const REPS = Number(process.env.BENCH_REPS ?? 5);
const PROFILE = process.argv.includes('--cpu-prof');
const DID = '+15559200000';
const BLOCKED = 1000;
const ACTOR = { name: 'bench', source: 'cli', origin: 'bench' } as const;

/** What Asterisk 22 sends for the contract's `UserEvent(CallScreen,From: …,To: …,Action: …)`. */
function frame(i: number): string {
  const from =
    i % 2 === 0 ? `+1555700${String(i % BLOCKED).padStart(4, '0')}` : `+1555800${String(i % 10_000).padStart(4, '0')}`;
  const action = i % 2 === 0 ? 'reject' : 'allow';
  const id = `1733350000.${i}`;
  return [
    'Event: UserEvent',
    'Privilege: user,all',
    `Channel: PJSIP/carrier-${String(i).padStart(8, '0')}`,
    'ChannelState: 4',
    'ChannelStateDesc: Ring',
    `CallerIDNum: ${from}`,
    'CallerIDName: <unknown>',
    'ConnectedLineNum: <unknown>',
    'ConnectedLineName: <unknown>',
    'Language: en',
    'AccountCode: ',
    'Context: from-carrier',
    `Exten: ${DID}`,
    'Priority: 5',
    `Uniqueid: ${id}`,
    `Linkedid: ${id}`,
    'UserEvent: CallScreen',
    `From: ${from}`,
    `To: ${DID}`,
    `Action: ${action}`,
    '',
    '',
  ].join('\r\n');
}

/** The AMI side the mirror needs; actions succeed at once (the sync is not what is measured). */
class BenchAmi {
  currentState: LinkState = 'connected';
  readonly listeners = new Set<(e: AmiEvent) => void>();
  action(): Promise<AmiMessage> {
    return Promise.resolve({ Response: 'Success' });
  }
  onState(): () => void {
    return () => undefined;
  }
  onEvent(l: (e: AmiEvent) => void): () => void {
    this.listeners.add(l);
    return () => this.listeners.delete(l);
  }
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return at(s, Math.floor(s.length / 2));
}

const dir = mkdtempSync(join(tmpdir(), 'cs-bench-mirror-'));
const config = new ConfigLoader().fromText(
  `[store]\npath = "${join(dir, 'cs.db')}"\n[fastagi]\nenabled = false\n[admin]\nenabled = false\n`,
  'bench.toml',
);
const daemon = new Daemon(config, pino({ level: 'warn' }), { components: () => [] });
const ctx = await daemon.start();
await ctx.orgs.add('bench', 'Bench', 'US', ACTOR);
await ctx.orgs.addDids('bench', [DID], ACTOR);
for (let i = 0; i < BLOCKED; i++) {
  await ctx.blocklist.block(
    'bench',
    { kind: 'exact', number: `+1555700${String(i).padStart(4, '0')}` },
    { mode: 'reject', reason: 'bench' },
    ACTOR,
  );
}
await ctx.feed.poll();

const text = Array.from({ length: EVENTS }, (_, i) => frame(i));
const devnull = pino.destination({ dest: '/dev/null', sync: false });

async function run(stage: 'parse' | 'handle' | 'handle+log'): Promise<number> {
  const ami = new BenchAmi();
  let mirror: AstdbMirror | null = null;
  if (stage !== 'parse') {
    const logger: Logger = pino({ level: stage === 'handle' ? 'warn' : 'info' }, devnull);
    mirror = new AstdbMirror(
      { family: 'callscreen', aliveTtlMs: 60_000, window: 256, writeDids: true },
      {
        ami,
        index: ctx.index,
        feed: ctx.feed,
        screener: ctx.screener,
        normalizer: new NumberNormalizer(),
        clock: ctx.clock,
        timers: backgroundScheduler,
        logger,
      },
    );
    await mirror.start();
    await mirror.idle();
  }
  const parser = new AmiParser();
  parser.push('Asterisk Call Manager/9.0.0\r\n');
  const t0 = process.cpuUsage();
  // Asterisk writes events as they happen; the client reads them in chunks of a few at a time.
  for (let i = 0; i < EVENTS; i += 4) {
    for (const f of parser.push(text.slice(i, i + 4).join(''))) {
      if (f.kind !== 'message') continue;
      const e: AmiEvent = { name: f.fields.Event ?? '', fields: f.fields };
      for (const l of ami.listeners) l(e);
    }
  }
  await ctx.recorder.flush();
  const used = process.cpuUsage(t0);
  await mirror?.stop();
  return (used.user + used.system) / 1000 / EVENTS;
}

const stages = ['parse', 'handle', 'handle+log'] as const;
const results = new Map<string, number[]>(stages.map((s) => [s, []]));
await run('handle+log'); // warm-up: JIT, caches
for (let r = 0; r < REPS; r++) for (const s of stages) must(results.get(s), s).push(await run(s));

let profile = '';
if (PROFILE) {
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.start');
  await run('handle+log');
  const { profile: p } = await session.post('Profiler.stop');
  writeFileSync(join(dir, 'handle.cpuprofile'), JSON.stringify(p));
  profile = profileTable(dir, 20);
}

process.stdout.write(
  `AstDB mirror: daemon CPU per mirror-answered call (${EVENTS} UserEvents, median of ${REPS}, ms)\n`,
);
for (const s of stages)
  process.stdout.write(
    `  ${s.padEnd(11)} ${median(must(results.get(s), s)).toFixed(4)}   runs: ${must(results.get(s), s)
      .map((x) => x.toFixed(4))
      .join(' ')}\n`,
  );
process.stdout.write(`  target ≤ 0.1 ms per call (handle+log, the daemon's default level)\n`);
if (profile) process.stdout.write(`\n${profile}\n`);
await daemon.stop();
rmSync(dir, { recursive: true, force: true });

/**
 * The FastAGI call's work above the AGI layer, in one process, without sockets: what
 * `npm run bench:agi` cannot split (BENCHMARKS.md, "the screening and record path"). A real daemon
 * (its index, recorder, metrics, flood detector and logger) answers calls as fastagi-server.ts does
 * after the environment: the verdict (ScreeningService.inbound), the record and metrics
 * (ScreeningService.record), the `screened` line. Stages are added one at a time, so the CPU of
 * each is the difference between rows; the recorder is flushed every `BENCH_BATCH` calls, as its
 * 500 ms timer would at 500 calls/s.
 *
 *   node --import tsx scripts/bench-agi-path.ts [--cpu-prof …] > /dev/null   (the table is on stderr;
 *   the log lines go to stdout, as the daemon's do)
 *   BENCH_N      blocked numbers loaded (default 20,000)
 *   BENCH_CALLS  calls per stage and repetition (default 20,000)
 *   BENCH_BATCH  calls per recorder flush (default 250)
 *   BENCH_REPS   repetitions, interleaved (default 3)
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { pino } from 'pino';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { createLogger } from '../daemon/logger.js';
import { Daemon, openServices } from '../daemon/main.js';
import { blocked, importBenchList, random } from './bench-list.js';

const N = Number(process.env.BENCH_N ?? 20_000);
const CALLS = Number(process.env.BENCH_CALLS ?? 20_000);
const BATCH = Number(process.env.BENCH_BATCH ?? 250);
const REPS = Number(process.env.BENCH_REPS ?? 3);
const DID = '+15559200000';

type Stage = 'screen' | 'record' | 'line';
const STAGES: readonly Stage[] = ['screen', 'record', 'line'];

/** CPU µs of this process, or of its main thread alone (`/proc`, 10 ms ticks: runs last seconds). */
const cpuUs = (mainOnly = false): number => {
  const path = mainOnly ? `/proc/self/task/${process.pid}/stat` : '/proc/self/stat';
  const f = (readFileSync(path, 'utf8').split(') ')[1] ?? '').split(' ');
  return (Number(f[11]) + Number(f[12])) * 10_000;
};

const work = mkdtempSync(join(tmpdir(), 'callscreen-bench-agi-path-'));
try {
  const dbPath = join(work, 'bench.db');
  const text = (level: string): string =>
    `[store]\npath = ${JSON.stringify(dbPath)}\n[log]\nlevel = "${level}"\n[fastagi]\nenabled = false\n[admin]\nenabled = false\n[ami]\nenabled = false\n`;
  const setup = await openServices(
    new ConfigLoader().fromText(text('silent'), 'bench.toml'),
    pino({ level: 'silent' }),
  );
  await importBenchList(setup, work, { n: N, dids: [DID], floodOff: true });
  await setup.close();

  const config = new ConfigLoader().fromText(text('info'), 'bench.toml');
  const logger = createLogger({ level: 'info', format: 'json' });
  const daemon = new Daemon(config, logger);
  await daemon.start();
  const ctx = daemon.context;
  const log = logger.child({ component: 'fastagi' });
  const routing = { orgFrom: 'did', defaultOrg: '' } as const;
  let seq = 0;

  const run = async (stage: Stage, calls: number): Promise<{ all: number; off: number }> => {
    const t0 = cpuUs();
    const m0 = cpuUs(true);
    for (let i = 0; i < calls; i++) {
      const n = seq++;
      const from = n % 2 === 0 ? blocked(n % N) : random(n);
      const s = ctx.screening.inbound(
        routing,
        { channel: 'call', direction: 'inbound', from, to: DID, withheld: false, callId: `1700000000.${n}` },
        'callscreen-bench',
      );
      if (stage !== 'screen') ctx.screening.record(s, 'fastagi', 12.3, log, 456.7);
      if (stage === 'line') {
        const v = s.verdict;
        log.info(
          {
            org: s.req.org || null,
            callId: s.req.callId ?? null,
            from: s.req.from,
            to: s.req.to,
            script: 'call-inbound',
            action: v.action,
            rule: v.rule ? `${v.rule.kind}:${v.rule.id}` : null,
            reason: v.reason,
            latencyUs: 12,
            sessionUs: 457,
            commands: v.action === 'allow' ? 1 : 2,
          },
          'screened',
        );
      }
      if ((i + 1) % BATCH === 0) await ctx.recorder.flush();
    }
    await ctx.recorder.flush();
    const all = cpuUs() - t0;
    return { all: all / calls, off: (all - (cpuUs(true) - m0)) / calls };
  };

  await run('line', 5_000); // warm-up: JIT, caches
  const rows = new Map<Stage, Array<{ all: number; off: number }>>(STAGES.map((s) => [s, []]));
  for (let r = 0; r < REPS; r++) for (const stage of STAGES) rows.get(stage)?.push(await run(stage, CALLS));
  await daemon.stop();
  const med = (xs: number[]): number => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)] ?? Number.NaN;
  const out = [
    `FastAGI call path in process: ${N.toLocaleString('en-US')} numbers, ${CALLS.toLocaleString('en-US')} calls × ${REPS}, flush every ${BATCH}; CPU µs per call (all threads)`,
    '',
    '| stage | runs | median | stage alone (median − previous) | off the main thread (median) |',
    '| --- | --- | ---: | ---: | ---: |',
  ];
  let prev = 0;
  for (const stage of STAGES) {
    const xs = rows.get(stage) ?? [];
    const m = med(xs.map((x) => x.all));
    out.push(
      `| ${stage} | ${xs.map((x) => x.all.toFixed(1)).join(', ')} | ${m.toFixed(1)} | ${(m - prev).toFixed(1)} | ${med(xs.map((x) => x.off)).toFixed(1)} |`,
    );
    prev = m;
  }
  process.stderr.write(out.join('\n') + '\n');
} finally {
  rmSync(work, { recursive: true, force: true });
}

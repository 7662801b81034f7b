/**
 * The daemon under test for scripts/bench-pbx.ts, in its own process so that its CPU time and memory
 * can be read from /proc/<pid>. Usage: node --import tsx scripts/bench-pbx-daemon.ts <config.toml>
 * Prints "ready" on stdout once FastAGI listens; stops cleanly (records flushed) on SIGTERM.
 *
 * CS_BENCH_PROF_DIR=<dir>: SIGUSR2 starts the V8 CPU profiler, the next SIGUSR2 stops it and writes
 * <dir>/point-<n>.cpuprofile (and prints "profiled <n>" on stdout), so that a bench profiles only the
 * points it cares about, not the first sync that `node --cpu-prof` would mostly show.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { join } from 'node:path';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { Daemon } from '../daemon/main.js';
import { createLogger } from '../daemon/logger.js';

const path = process.argv[2];
if (!path) throw new Error('usage: bench-pbx-daemon <config.toml>');
const config = new ConfigLoader().fromText(readFileSync(path, 'utf8'), path);
// The daemon's own logger (redaction, destination), so that its cost per line is measured too.
const logger = createLogger({ level: config.log.level, format: 'json' });
const daemon = new Daemon(config, logger);
await daemon.start();
process.stdout.write('ready\n');

const profDir = process.env.CS_BENCH_PROF_DIR;
if (profDir) {
  mkdirSync(profDir, { recursive: true });
  const session = new Session();
  session.connect();
  await session.post('Profiler.enable');
  // 1 ms sampling (V8's default): the points last seconds.
  let profiling = false;
  let n = 0;
  let busy: Promise<void> = Promise.resolve();
  process.on('SIGUSR2', () => {
    busy = busy.then(async () => {
      if (!profiling) {
        await session.post('Profiler.start');
        profiling = true;
        process.stdout.write('profiling\n');
        return;
      }
      const { profile } = await session.post('Profiler.stop');
      profiling = false;
      writeFileSync(join(profDir, `point-${String(++n).padStart(3, '0')}.cpuprofile`), JSON.stringify(profile));
      process.stdout.write(`profiled ${n}\n`);
    });
  });
}

let stopping = false;
process.on('SIGTERM', () => {
  if (stopping) return;
  stopping = true;
  daemon.stop().then(
    () => process.exit(0),
    (err: unknown) => {
      process.stderr.write(String(err) + '\n');
      process.exit(1);
    },
  );
});

/**
 * CPU time and memory of another process, read from /proc (Linux), for the benchmarks that run the
 * daemon or Asterisk in a process of their own. `cpuTicks` counts clock ticks of user + system time;
 * `TICK_MS` is one tick in ms (10 ms at the usual CLK_TCK of 100), so ticks are coarse: compare
 * deltas over seconds, not single calls.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { SANDBOX_DIR } from '../test/support/pbx-sandbox.js';

/** utime + stime of `pid` in clock ticks (NaN when it is gone). */
export function cpuTicks(pid: number): number {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]); // fields 14 and 15 of proc(5), counted after the command name
  } catch {
    return Number.NaN;
  }
}

/** Resident memory of `pid` in MB. */
export function rssMb(pid: number): number {
  const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
  return m ? Number(m[1]) / 1024 : Number.NaN;
}

/** One clock tick in ms. */
export const TICK_MS = 1000 / Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim() || 100);

/** The sandbox Asterisk's pid: its own pid file, else the one pbx-sandbox wrote (setsid → chroot → asterisk exec in place); 0 when neither exists. */
export function asteriskPid(): number {
  for (const f of [
    join(SANDBOX_DIR, 'var/run/asterisk/asterisk.pid'),
    join(SANDBOX_DIR, 'run/callscreen-sandbox.pid'),
  ]) {
    if (existsSync(f)) return Number(readFileSync(f, 'utf8').trim());
  }
  return 0;
}

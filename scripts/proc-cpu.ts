/**
 * CPU time and memory of another process, read from /proc (Linux), for the benchmarks that run the
 * daemon or Asterisk in a process of their own. `cpuTicks` counts clock ticks of user + system time;
 * `TICK_MS` is one tick in ms (10 ms at the usual CLK_TCK of 100), so ticks are coarse: compare
 * deltas over seconds, not single calls.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
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

/**
 * CPU time of `pid` in ns, summed over its threads' /proc/<pid>/task/<tid>/schedstat (first field:
 * time on a CPU, ns), NaN when it is gone. Fine-grained where `cpuTicks` counts 10 ms ticks: a daemon
 * idling at 1 % of a core shows 0 or 1 tick a second. Time of threads that have exited is not counted
 * (Node's main, V8 and libuv pool threads live as long as the process).
 */
export function cpuNs(pid: number): number {
  try {
    let ns = 0;
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        ns += Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
    return ns;
  } catch {
    return Number.NaN;
  }
}

/**
 * CPU time of `pid`'s threads, ns: `main` (the event loop, JS) and the rest by name
 * (/proc/<pid>/task/<tid>/comm; Node's libuv pool, which runs sqlite3's statements and fs writes, and
 * V8's helpers are all `other threads` on Node 20); see `cpuNs`.
 */
export function cpuNsByThread(pid: number): Map<string, number> {
  const out = new Map<string, number>();
  try {
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        // Node 20 leaves its pool and V8 threads named after the process: the main thread is told apart by its id.
        const comm = readFileSync(`/proc/${pid}/task/${tid}/comm`, 'utf8').trim();
        const name = tid === String(pid) ? 'main' : comm === 'node' ? 'other threads' : comm;
        const ns = Number(readFileSync(`/proc/${pid}/task/${tid}/schedstat`, 'utf8').split(' ')[0]);
        out.set(name, (out.get(name) ?? 0) + ns);
      } catch {
        // The thread exited between the listing and the read.
      }
    }
  } catch {
    // The process is gone: an empty map.
  }
  return out;
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

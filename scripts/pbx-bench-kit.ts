/**
 * What the benchmarks against the sandbox Asterisk share (scripts/bench-pbx.ts,
 * scripts/bench-realtime-lookup.ts): the numbering of blocked and never-blocked callers, medians and
 * percentiles, the sqlite3 shell, the sandbox script, and waiting for Asterisk to drain between points.
 */
import { execFile, execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import * as sandbox from '../test/support/pbx-sandbox.js';
import { blocked } from './bench-list.js';
import { at } from './checked.js';
import { asteriskPid, cpuTicks, TICK_MS } from './proc-cpu.js';

/** The numbering of blocked and never-blocked callers (bench-list.ts, shared with the benches without Asterisk). */
export { blocked, random } from './bench-list.js';
export const rnd = (n: number): number => Math.floor(Math.random() * n);

/** The median of the finite values (NaN when there are none). */
export const median = (xs: number[]): number => {
  const s = xs.filter((x) => Number.isFinite(x)).sort((a, b) => a - b);
  return s.length ? at(s, Math.floor(s.length / 2)) : Number.NaN;
};
/** The p-th quantile (0..1, nearest rank) of an ascending array (NaN when empty). */
export const pctl = (sorted: number[], p: number): number =>
  sorted.length ? at(sorted, Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))) : Number.NaN;

/** Runs `sql` (or `input`, e.g. `.import` lines) in the sqlite3 shell on `db`; its output (64 MiB at most). */
export function sqlite(db: string, sql: string, input?: string): string {
  return execFileSync('sqlite3', [db], { input: input ?? sql, encoding: 'utf8', maxBuffer: 64 * 1024 * 1024 });
}

/** scripts/pbx-sandbox with `args` (start, stop…), at most 120 s; rejects with its stderr. */
export async function sandboxScript(args: string[]): Promise<void> {
  await new Promise<void>((res, rej) =>
    execFile(sandbox.SANDBOX_SCRIPT, args, { timeout: 120_000 }, (err, _o, stderr) =>
      err ? rej(new Error(`pbx-sandbox ${args.join(' ')}: ${stderr}`)) : res(),
    ),
  );
}

/**
 * Waits until Asterisk has no channel left and is idle (< 10 % of a core over 500 ms), at most 60 s;
 * returns the seconds waited. Without it, a point after an overloaded one (1000/s here) inherited
 * Asterisk's backlog: a 200/s point of BLACKLIST() showed 3,589 retransmissions right after a failed
 * 1000/s point.
 */
export async function settle(): Promise<number> {
  const t0 = Date.now();
  while (Date.now() - t0 < 60_000) {
    const apid = asteriskPid();
    const c0 = cpuTicks(apid);
    await sleep(500);
    const busy = (cpuTicks(apid) - c0) / (500 / TICK_MS); // share of one core over the 500 ms
    const channels = await sandbox.activeChannels().catch(() => -1);
    if (channels === 0 && busy < 0.1) break;
  }
  return (Date.now() - t0) / 1000;
}

/** The sandbox's AstDB file, as seen from the host. Read or write it only while Asterisk is stopped. */
export const ASTDB = join(sandbox.SANDBOX_DIR, 'var/lib/asterisk/astdb.sqlite3');

/**
 * Writes `/blacklist/<number>` (what `BLACKLIST()` reads) for the first `n` blocked numbers into
 * AstDB through a CSV in `dir`, after removing any left by an earlier run (and the mirror's family,
 * which the daemon rewrites once Asterisk is up). Asterisk must be stopped. Returns the seconds taken.
 */
export function loadBlacklist(dir: string, n: number): number {
  const t0 = performance.now();
  const csv = join(dir, 'astdb.csv');
  const lines: string[] = [];
  for (let i = 0; i < n; i++) lines.push(`/blacklist/${blocked(i)},1`);
  writeFileSync(csv, lines.join('\n') + '\n');
  sqlite(
    ASTDB,
    '',
    [
      'CREATE TABLE IF NOT EXISTS astdb(key VARCHAR(256), value VARCHAR(256), PRIMARY KEY(key));',
      "DELETE FROM astdb WHERE key LIKE '/blacklist/%' OR key LIKE '/callscreen/%';",
      'BEGIN;',
      '.mode csv',
      `.import ${csv} astdb`,
      'COMMIT;',
    ].join('\n') + '\n',
  );
  const got = Number(sqlite(ASTDB, "SELECT count(*) FROM astdb WHERE key LIKE '/blacklist/%';").trim());
  if (got !== n) throw new Error(`AstDB holds ${got} /blacklist keys, expected ${n}`);
  return (performance.now() - t0) / 1000;
}

/** Removes what loadBlacklist and the mirror wrote, and gives the space back. Asterisk must be stopped. */
export function clearBlacklist(): void {
  sqlite(ASTDB, "DELETE FROM astdb WHERE key LIKE '/blacklist/%' OR key LIKE '/callscreen/%'; VACUUM;");
}

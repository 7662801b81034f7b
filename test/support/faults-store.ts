/**
 * Fault-suite helpers for the store: another process holding the SQLite write lock, and a CLI
 * child to SIGKILL in the middle of an import. Every child ends by itself (bounded hold, timeouts).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';

export const ROOT = fileURLToPath(new URL('../..', import.meta.url));
export const FULL = process.env.CS_FAULTS_FULL === '1';
export const CI = process.env.CI === 'true' || process.env.CI === '1';

/**
 * A child node process that opens `dbPath`, takes `BEGIN IMMEDIATE` (the write lock), holds it for
 * `holdMs`, then rolls back and exits. Resolves once the lock is held; `done` when it has exited.
 */
export async function holdWriteLock(
  dbPath: string,
  holdMs: number,
): Promise<{ child: ChildProcess; done: Promise<number | null> }> {
  const script = `
    const sqlite3 = require('sqlite3');
    const db = new sqlite3.Database(process.argv[1]);
    db.exec('BEGIN IMMEDIATE', (err) => {
      if (err) { console.error(err.message); process.exit(2); }
      console.log('locked');
      setTimeout(() => db.exec('ROLLBACK', () => db.close(() => process.exit(0))), Number(process.argv[2]));
    });`;
  const child = spawn(process.execPath, ['-e', script, dbPath, String(holdMs)], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const killer = setTimeout(() => child.kill('SIGKILL'), holdMs + 30_000);
  const done = new Promise<number | null>((resolve) =>
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve(code);
    }),
  );
  await new Promise<void>((resolve, reject) => {
    child.stdout.on('data', (d: Buffer) => {
      if (d.toString().includes('locked')) resolve();
    });
    child.on('exit', (code) => reject(new Error(`lock holder exited early (${String(code)})`)));
  });
  return { child, done };
}

/** Runs the CLI (`node --import tsx daemon/cli/bin.ts …`) as a child; resolves with its exit. */
export function cli(
  args: string[],
  timeoutMs = 120_000,
): {
  child: ChildProcess;
  done: Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>;
} {
  const child = spawn(process.execPath, ['--import', 'tsx', 'daemon/cli/bin.ts', ...args], {
    cwd: ROOT,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr.on('data', (d: Buffer) => (err += d.toString()));
  const killer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  const done = new Promise<{ code: number | null; signal: NodeJS.Signals | null; out: string; err: string }>(
    (resolve) =>
      child.on('exit', (code, signal) => {
        clearTimeout(killer);
        resolve({ code, signal, out, err });
      }),
  );
  return { child, done };
}

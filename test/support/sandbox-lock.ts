/**
 * One test process at a time may drive a sandbox (the Asterisk chroot, the FreeSWITCH run): a lock
 * directory created atomically with mkdir, holding the owner's pid. A lock whose owner has died, or
 * never wrote its pid within 5 s, is taken over; the lock is released on stop and at process exit.
 */
import { readFileSync, rmSync } from 'node:fs';
import { mkdir, readFile, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class SandboxLock {
  private heldNow = false;
  private readonly owner: string;

  /** `dir`: the lock directory; `what`: named in the time-out error. */
  constructor(
    private readonly dir: string,
    private readonly what: string,
  ) {
    this.owner = join(dir, 'owner');
  }

  get held(): boolean {
    return this.heldNow;
  }

  /** Waits for the lock (default 15 min: another suite may hold the sandbox that long). */
  async acquire(timeoutMs = 15 * 60_000): Promise<void> {
    if (this.heldNow) return;
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        await mkdir(this.dir);
        await writeFile(this.owner, `${process.pid}\n`);
        this.heldNow = true;
        process.once('exit', () => this.releaseSync());
        return;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      }
      // Held by someone: take it over if the owner is gone (or never wrote its pid: give it 5 s).
      const pid = Number((await readFile(this.owner, 'utf8').catch(() => '')).trim());
      const abandoned =
        pid > 0
          ? !pidAlive(pid)
          : await sleep(5000).then(async () => (await readFile(this.owner, 'utf8').catch(() => '')).trim() === '');
      if (abandoned) {
        await rm(this.dir, { recursive: true, force: true });
        continue;
      }
      if (Date.now() > deadline)
        throw new Error(`timed out waiting for the ${this.what} lock ${this.dir} (pid ${pid})`);
      await sleep(250);
    }
  }

  releaseSync(): void {
    if (!this.heldNow) return;
    try {
      if (readFileSync(this.owner, 'utf8').trim() === String(process.pid))
        rmSync(this.dir, { recursive: true, force: true });
    } catch {
      // already gone
    }
    this.heldNow = false;
  }
}

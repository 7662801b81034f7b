/**
 * A hang detector for a test's waits on events (a client connected, a command arrived, an outcome):
 * the wait's own result, or after `ms` a rejection that names the step and says what the test could
 * see then. Without it a lost event holds the file until tap's timeout (600 s) and names nothing.
 *
 * The bound decides nothing about speed: it is far above any wait on a busy 2-core machine
 * (default HANG_MS, 60 s), so it only turns a hang into a failure that says where.
 */

/** Default bound of a wait (ms): a hang, never a slow machine. */
export const HANG_MS = 60_000;

export interface BoundOptions {
  /** The bound (ms), default HANG_MS. */
  readonly ms?: number;
  /** What the test can see when the bound is reached (link state, commands received, log lines), for the message. */
  readonly state?: () => unknown;
}

/** `wait`, or a rejection `<step>: not done within <ms> ms` with `state()` when it takes longer. */
export function bounded<T>(step: string, wait: Promise<T>, options: BoundOptions = {}): Promise<T> {
  const ms = options.ms ?? HANG_MS;
  const started = Date.now();
  let timer: NodeJS.Timeout | undefined;
  // A real timer, not a test's manual clock (which may never be moved), and not unref'd: when the
  // wait is all that is left, the test must fail here rather than the process end with nothing said.
  const limit = new Promise<never>((_, reject) => {
    timer = setTimeout(() => {
      let seen = '';
      if (options.state) {
        try {
          seen = `; state then: ${JSON.stringify(options.state())}`;
        } catch (err) {
          seen = `; state unreadable: ${err instanceof Error ? err.message : String(err)}`;
        }
      }
      reject(new Error(`${step}: not done within ${ms} ms (waited ${Date.now() - started} ms)${seen}`));
    }, ms);
  });
  return Promise.race([wait, limit]).finally(() => {
    clearTimeout(timer);
  });
}

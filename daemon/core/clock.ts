/**
 * Time, the one way it comes in: `Clock` to read it (epoch ms), `Scheduler` to wait on it. Both are
 * injected (constructors, the composition root) so that expiry, throttling, batching, deadlines,
 * timeouts and backoff are tested by moving a fake clock (test/support/manual-clock.ts), never by
 * sleeping. Core modules only take these interfaces; the real ones below are what main.ts passes.
 */
export interface Clock {
  /** Epoch milliseconds. */
  now(): number;
}

/** Timers (delays and periods in ms). Handles are opaque: give them back to the matching clear. */
export interface Scheduler extends Clock {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
  setInterval(fn: () => void, ms: number): unknown;
  clearInterval(handle: unknown): void;
}

export const systemClock: Clock = Object.freeze({ now: () => Date.now() });

/**
 * The daemon's scheduler: a pending deadline (FastAGI, Event Socket sessions) keeps the process
 * alive until it fires or is cleared; periodic work (change feed poll, recorder flush, readiness)
 * is unref'd and never does on its own.
 */
export const systemScheduler: Scheduler = Object.freeze({
  now: () => Date.now(),
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms),
  clearTimeout: (h: unknown): void => clearTimeout(h as NodeJS.Timeout),
  setInterval: (fn: () => void, ms: number): unknown => setInterval(fn, ms).unref(),
  clearInterval: (h: unknown): void => clearInterval(h as NodeJS.Timeout),
});

/**
 * For links kept up in the background (AMI, the inbound Event Socket, the AstDB mirror): every timer
 * unref'd, because a reconnect, keep-alive or command timer must never keep the process alive.
 */
export const backgroundScheduler: Scheduler = Object.freeze({
  ...systemScheduler,
  setTimeout: (fn: () => void, ms: number): unknown => setTimeout(fn, ms).unref(),
});

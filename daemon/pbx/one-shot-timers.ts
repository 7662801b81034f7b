/**
 * One-shot timers and reconnect backoff shared by the PBX adapters (FastAGI and Event Socket
 * deadlines, the AMI and inbound Event Socket links, the SIP edge). Injected everywhere so that
 * deadlines, timeouts and backoff are tested by advancing time, never by sleeping.
 */

export interface OneShotTimers {
  setTimeout(fn: () => void, ms: number): unknown;
  clearTimeout(handle: unknown): void;
}

/** Plain timers: a pending deadline keeps the process alive until it fires or is cleared. */
export const realOneShotTimers: OneShotTimers = {
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

/**
 * Timers of links kept up in the background (AMI, inbound Event Socket): unref'd, because a
 * reconnect or keep-alive timer must never keep the process alive on its own.
 */
export const backgroundOneShotTimers: OneShotTimers = {
  setTimeout: (fn, ms) => {
    const h = setTimeout(fn, ms);
    h.unref();
    return h;
  },
  clearTimeout: (h) => clearTimeout(h as NodeJS.Timeout),
};

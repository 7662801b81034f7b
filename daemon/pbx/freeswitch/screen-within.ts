/**
 * One verdict within `screening.deadline_ms`, or the fail-mode verdict: memory answers almost
 * every request synchronously (no promise, no timer); a SQLite read races the deadline. Shared by
 * the Event Socket server and the SIP edge, which answer the same way when the list cannot.
 */
import type { Config } from '../../config/schema.js';
import type { ScreenRequest } from '../../core/screen-request.js';
import type { Verdict } from '../../core/verdict.js';
import type { OrgState } from '../../store/screening-index.js';
import type { OneShotTimers } from '../one-shot-timers.js';
import { unscreenedVerdict } from './unscreened-verdict.js';

export interface VerdictSource {
  screenSync(req: ScreenRequest): Verdict | undefined;
  screen(req: ScreenRequest): Promise<Verdict>;
}

export async function screenWithin(screener: VerdictSource, req: ScreenRequest, state: OrgState | undefined, config: Config, timers: OneShotTimers): Promise<Verdict> {
  const mode = config.screening.fail_mode;
  if (!state) return unscreenedVerdict(req.channel, req.direction, mode, 'no organisation');
  try {
    const sync = screener.screenSync(req);
    if (sync !== undefined) return sync;
    const deadlineMs = config.screening.deadline_ms;
    let handle: unknown;
    const timeout = new Promise<null>((resolve) => { handle = timers.setTimeout(() => resolve(null), deadlineMs); });
    const v = await Promise.race([screener.screen(req), timeout]);
    timers.clearTimeout(handle);
    return v ?? unscreenedVerdict(req.channel, req.direction, mode, `no verdict within ${deadlineMs} ms`);
  } catch {
    return unscreenedVerdict(req.channel, req.direction, mode, 'screening failed');
  }
}

/**
 * The screener with metrics: every adapter already reports each answer through
 * `Screener.recordVerdict` (for the call records), so counting there covers FastAGI, ESL, SIP edge
 * and the HTTP pre-dial check without each adapter calling the metrics itself.
 */
import type { Verdict } from '../core/verdict.js';
import type { ScreenRequest } from '../core/screen-request.js';
import { Screener } from '../services/screener.js';
import type { DaemonMetrics } from './metrics.js';

export class MeteredScreener extends Screener {
  constructor(
    private readonly metrics: DaemonMetrics,
    ...args: ConstructorParameters<typeof Screener>
  ) {
    super(...args);
  }

  override recordVerdict(
    req: ScreenRequest,
    orgId: number | null,
    verdict: Verdict,
    adapter: string,
    latencyUs: number | null,
    sessionUs: number | null = null,
  ): void {
    super.recordVerdict(req, orgId, verdict, adapter, latencyUs, sessionUs);
    // The histogram times what the PBX waited for: the whole session when the adapter measured it.
    const us = sessionUs ?? latencyUs;
    this.metrics.recordVerdict(
      adapter,
      verdict.action,
      us === null ? null : us / 1e6,
      verdict.failMode,
      verdict.observed,
    );
  }
}

/** Builds the drachtio SIP edge from the daemon context (`sip_edge.enabled`). */
import type { DaemonContext } from '../../daemon-context.js';
import { SipEdge } from './sip-edge.js';

export function buildSipEdge(ctx: DaemonContext): SipEdge {
  return new SipEdge({
    screening: ctx.screening,
    quarantine: ctx.quarantine,
    config: () => ctx.config,
    logger: ctx.logger.child({ component: 'sip-edge' }),
  });
}

/**
 * Wires the FastAGI server to the daemon: its screener (metered), the quarantine, the agent
 * notifier (null without AMI: no warnings, calls still screened) and the live config.
 */
import type { DaemonContext } from '../../main.js';
import { FastAgiServer } from './fastagi-server.js';

export function buildFastAgiServer(ctx: DaemonContext): FastAgiServer {
  return new FastAgiServer({
    screener: ctx.screener,
    quarantine: ctx.quarantine,
    agentNotifier: ctx.agentNotifier,
    orgSlugs: () => ctx.index.orgs().map((o) => o.org.slug),
    config: () => ctx.config,
    logger: ctx.logger.child({ component: 'fastagi' }),
  });
}

/**
 * Wires the FastAGI server to the daemon: the screening service, the quarantine, the agent
 * notifier (null without AMI: no warnings, calls still screened) and the live config.
 */
import type { DaemonContext } from '../../daemon-context.js';
import { FastAgiServer } from './fastagi-server.js';

export function buildFastAgiServer(ctx: DaemonContext): FastAgiServer {
  return new FastAgiServer({
    screening: ctx.screening,
    quarantine: ctx.quarantine,
    agentNotifier: ctx.agentNotifier,
    handset: ctx.handset,
    config: () => ctx.config,
    logger: ctx.logger.child({ component: 'fastagi' }),
  });
}

/** Builds the outbound Event Socket server from the daemon context (`esl.enabled`). */
import type { DaemonContext } from '../../daemon-context.js';
import { EslServer } from './esl-server.js';

export function buildEslServer(ctx: DaemonContext): EslServer {
  return new EslServer({
    screening: ctx.screening,
    handset: ctx.handset,
    config: () => ctx.config,
    logger: ctx.logger.child({ component: 'esl' }),
  });
}

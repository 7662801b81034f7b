/**
 * FastAGI route `block-caller` (docs/asterisk-contract.md "Handset feature codes"):
 *
 *   AGI(agi://host:4573/block-caller,<how>,<caller>)
 *
 * how: `last-caller` (the feature code, `*32` in config/asterisk/extensions-callscreen-features.conf,
 * which passes AstDB CALLTRACE/<extension>, the number that last rang it) or `current-call` (the
 * mid-call DTMF code, features.conf, which passes the caller of the bridged call). The phone is the
 * channel's endpoint (agents.endpoint_pattern, group 2), looked up as the callscreen user who acts.
 * The org is the one agents' calls use (fastagi.default_org, or the only org).
 *
 * Answers `CALLSCREEN_BLOCK_RESULT` = blocked | already-blocked | queued | refused; the dialplan
 * plays a prompt for it. A fault answers refused: nothing was blocked, and the phone says so.
 */
import type { Logger } from 'pino';
import type { HandsetHow } from '../../services/handset-block-service.js';
import { agentEndpoint, argsOf, setVariable } from './agi-protocol.js';
import type { RouteContext } from './fastagi-routes.js';

const HOWS: readonly HandsetHow[] = ['last-caller', 'current-call'];

export type BlockResult = 'blocked' | 'already-blocked' | 'queued' | 'refused';

export async function blockCaller(ctx: RouteContext, log: Logger): Promise<BlockResult> {
  const { env, session, config, deps } = ctx;
  const args = argsOf(env);
  const how = args[0] as HandsetHow;
  const caller = args.slice(1).join(',').trim();
  const endpoint = agentEndpoint(new RegExp(config.agents.endpoint_pattern), env.agi_channel ?? '');
  const org = deps.screening.outboundOrg({ orgFrom: config.fastagi.org_from, defaultOrg: config.fastagi.default_org });
  const where = {
    endpoint: endpoint ?? null,
    how: args[0] ?? '',
    caller,
    org: org?.org.slug ?? null,
    callId: env.agi_uniqueid ?? null,
  };
  let result: BlockResult = 'refused';
  try {
    if (!HOWS.includes(how)) {
      log.warn(where, 'block-caller: the first argument must be last-caller or current-call');
    } else if (endpoint === undefined) {
      log.warn(
        { ...where, channel: env.agi_channel },
        'block-caller: the channel is no phone of agents.endpoint_pattern',
      );
    } else if (!org) {
      log.warn(where, 'block-caller: no organisation (set fastagi.default_org)');
    } else if (!deps.handset) {
      log.warn(where, 'block-caller: handset blocking is not wired');
    } else {
      const out = await deps.handset.block({ org: org.org.slug, endpoint, caller, how });
      result = out.result;
      log.info({ ...where, ...out }, `block-caller: ${out.result}`);
    }
  } catch (err) {
    log.warn({ ...where, err }, 'block-caller failed: nothing was blocked');
    result = 'refused';
  }
  await session.command(setVariable('CALLSCREEN_BLOCK_RESULT', result));
  return result;
}

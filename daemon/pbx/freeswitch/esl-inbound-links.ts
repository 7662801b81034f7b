/**
 * Builds what the inbound Event Socket link gives the daemon (`esl_inbound.enabled`): the client (a
 * component kept connected), the SMS screener that hears the chatplan's messages, the agent notifier
 * and the released-SMS deliverer that use it. Called from main.ts `buildPbxLinks`.
 *
 * What the client asks for once logged in:
 * - `event plain MESSAGE` and `filter <marker> screen`: only the copies the chatplan fires for
 *   screening cross the socket (FreeSWITCH filters), not every message event;
 * - `api global_setvar <marker>_sms=screen`: the chatplan screens only while this global variable
 *   says so. On a clean stop with screening.fail_mode = open the daemon sets it to `off`, and the
 *   chatplan delivers unscreened (fail open); with closed it is left on (messages are not delivered).
 *   A daemon that dies cannot unset it: see docs/freeswitch-and-sip-edge.md.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Component } from '../../main.js';
import type { HoldInput } from '../../services/quarantine-service.js';
import type { OrgService } from '../../services/org-service.js';
import { EslAgentNotifier } from './esl-agent-notifier.js';
import { EslInboundClient, type EslInboundDeps } from './esl-inbound-client.js';
import { EslMessageDeliverer } from './esl-message-deliverer.js';
import { EslSmsScreener, type EslSmsVerdicts } from './esl-sms-screener.js';

export interface EslInboundLinkParts {
  readonly client: EslInboundClient;
  readonly sms: EslSmsScreener;
  readonly notifier: EslAgentNotifier;
  readonly deliverer: EslMessageDeliverer;
  /** Started in this order by the daemon, stopped in reverse (the SMS screener finishes first). */
  readonly components: Component[];
}

export interface EslInboundLinkDeps extends EslInboundDeps {
  readonly screener: EslSmsVerdicts;
  readonly quarantine: { hold(input: HoldInput): Promise<number> };
  readonly orgs: Pick<OrgService, 'list'>;
}

export function buildEslInboundLinks(config: Config, logger: Logger, deps: EslInboundLinkDeps): EslInboundLinkParts {
  const e = config.esl_inbound;
  const marker = e.chatplan_marker;
  const client: EslInboundClient = new EslInboundClient(
    {
      host: e.host,
      port: e.port,
      password: e.password,
      commandTimeoutMs: e.command_timeout_ms,
      reconnectMinMs: e.reconnect_min_ms,
      reconnectMaxMs: e.reconnect_max_ms,
      setup: ['event plain MESSAGE', `filter ${marker} screen`, `api global_setvar ${marker}_sms=screen`],
      // Read at stop: `sms` exists by then, and a reloaded fail mode counts.
      teardown: (): readonly string[] => (sms.failMode() === 'open' ? [`api global_setvar ${marker}_sms=off`] : []),
    },
    logger.child({ component: 'esl-inbound' }),
    { ...(deps.timers ? { timers: deps.timers } : {}), ...(deps.random ? { random: deps.random } : {}), ...(deps.now ? { now: deps.now } : {}) },
  );
  const notifier = new EslAgentNotifier(client, config.agents.message_from, logger.child({ component: 'agent-notifier' }));
  const deliverer = new EslMessageDeliverer(client, marker);
  const sms: EslSmsScreener = new EslSmsScreener({
    screener: deps.screener,
    quarantine: deps.quarantine,
    notifier,
    events: client,
    commands: client,
    orgSlugs: async () => (await deps.orgs.list()).map((o) => o.slug),
    config,
    logger: logger.child({ component: 'esl-sms' }),
    ...(deps.timers ? { timers: deps.timers } : {}),
  });
  // Both are components as they are (start, stop, health; the screener also reload).
  return { client, sms, notifier, deliverer, components: [client, sms] };
}

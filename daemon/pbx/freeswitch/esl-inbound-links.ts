/**
 * Builds what the inbound Event Socket link gives the daemon (`esl_inbound.enabled`): the client (a
 * component kept connected), the SMS screener that hears the chatplan's messages, the watchdog that
 * switches screening on in the chatplan, the agent notifier and the released-SMS deliverer that use
 * it. Called from main.ts `buildPbxLinks`; `buildEslInboundClient` also by the CLI, which logs in
 * only to deliver a released message.
 *
 * What the client asks for once logged in:
 * - `event plain MESSAGE` and `filter <marker> screen`: only the copies the chatplan fires for
 *   screening cross the socket (FreeSWITCH filters), not every message event;
 * - then EslSmsWatchdog sets `<marker>_sms=screen`, which the chatplan screens on, only while a
 *   FreeSWITCH task is scheduled that sets it back (`off`, or `closed` with fail_mode closed) should
 *   the daemon stop renewing it: see esl-sms-watchdog.ts and docs/freeswitch-and-sip-edge.md.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Component } from '../../component.js';
import type { HoldInput } from '../../services/quarantine-service.js';
import { EslAgentNotifier } from './esl-agent-notifier.js';
import { backgroundScheduler } from '../../core/clock.js';
import { EslInboundClient, type EslInboundDeps } from './esl-inbound-client.js';
import { EslMessageDeliverer } from './esl-message-deliverer.js';
import type { ScreeningService } from '../../services/screening-service.js';
import { EslSmsScreener } from './esl-sms-screener.js';
import { EslSmsWatchdog } from './esl-sms-watchdog.js';

export interface EslInboundLinkParts {
  readonly client: EslInboundClient;
  readonly sms: EslSmsScreener;
  readonly notifier: EslAgentNotifier;
  readonly deliverer: EslMessageDeliverer;
  readonly watchdog: EslSmsWatchdog;
  /**
   * Started in this order by the daemon, stopped in reverse: the watchdog first (screening switched
   * off in the chatplan), then the SMS screener finishes the messages in hand, then the client exits.
   */
  readonly components: Component[];
}

export interface EslInboundLinkDeps extends EslInboundDeps {
  readonly screening: ScreeningService;
  readonly quarantine: { hold(input: HoldInput): Promise<number> };
}

/** What this login asks FreeSWITCH for: the daemon subscribes; the CLI sends nothing but its command. */
export interface EslInboundSession {
  readonly setup: readonly string[];
  readonly teardown?: () => readonly string[];
}

/** The client for `[esl_inbound]`: one place maps the config onto it (the daemon's link and the CLI's). */
export function buildEslInboundClient(
  config: Config,
  logger: Logger,
  session: EslInboundSession,
  deps: EslInboundDeps = {},
): EslInboundClient {
  const e = config.esl_inbound;
  return new EslInboundClient(
    {
      host: e.host,
      port: e.port,
      password: e.password,
      commandTimeoutMs: e.command_timeout_ms,
      reconnectMinMs: e.reconnect_min_ms,
      reconnectMaxMs: e.reconnect_max_ms,
      setup: session.setup,
      ...(session.teardown ? { teardown: session.teardown } : {}),
    },
    logger,
    deps,
  );
}

export function buildEslInboundLinks(config: Config, logger: Logger, deps: EslInboundLinkDeps): EslInboundLinkParts {
  const marker = config.esl_inbound.chatplan_marker;
  const client = buildEslInboundClient(
    config,
    logger.child({ component: 'esl-inbound' }),
    {
      setup: ['event plain MESSAGE', `filter ${marker} screen`],
    },
    deps,
  );
  const notifier = new EslAgentNotifier(
    client,
    config.agents.message_from,
    logger.child({ component: 'agent-notifier' }),
  );
  const deliverer = new EslMessageDeliverer(client, marker);
  const sms = new EslSmsScreener({
    screening: deps.screening,
    quarantine: deps.quarantine,
    notifier,
    events: client,
    commands: client,
    config,
    logger: logger.child({ component: 'esl-sms' }),
  });
  // Renewed on the client's timers: unref'd in the daemon (the link is best effort), a test's manual ones.
  const watchdog = new EslSmsWatchdog({
    commands: client,
    states: client,
    config,
    timers: deps.timers ?? backgroundScheduler,
    logger: logger.child({ component: 'esl-sms-watchdog' }),
    ...(deps.clock ? { clock: deps.clock } : {}),
  });
  // All three are components as they are (start, stop, health; the screener and watchdog also reload).
  return { client, sms, notifier, deliverer, watchdog, components: [client, sms, watchdog] };
}

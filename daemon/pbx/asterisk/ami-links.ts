/**
 * Builds what the AMI link gives the daemon: the client (a component kept connected), the agent
 * notifier and the SMS deliverer that use it, and the DialWatcher (warnings for sites whose
 * dialplan does not call the `call-outbound` AGI). Called from main.ts `buildPbxLinks`.
 */
import type { Logger } from 'pino';
import { backgroundScheduler, type Clock, type Scheduler } from '../../core/clock.js';
import type { Config } from '../../config/schema.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import type { ScreeningService } from '../../services/screening-service.js';
import { AmiAgentNotifier } from './ami-agent-notifier.js';
import { AmiClient, type AmiClientDeps } from './ami-client.js';
import { AmiMessageDeliverer } from './ami-message-deliverer.js';
import { AstdbMirror, type AstdbMirrorDeps } from './astdb-mirror.js';
import { DialWatcher } from './dial-watcher.js';
import { DialplanFailCounter } from './dialplan-fail-counter.js';

export interface AmiLinkParts {
  readonly client: AmiClient;
  readonly notifier: AmiAgentNotifier;
  readonly deliverer: AmiMessageDeliverer;
  readonly watcher: DialWatcher;
  /** Started in this order by the daemon, stopped in reverse. */
  readonly components: Array<{
    name: string;
    start(): Promise<void>;
    stop(): Promise<void>;
    health?(): ComponentHealth;
  }>;
  /**
   * The AstDB mirror (`astdb_mirror = true`), built once the daemon has its index and change feed;
   * started after the AMI client and stopped before it, so it can withdraw its heartbeat.
   */
  readonly mirror: ((deps: Omit<AstdbMirrorDeps, 'ami' | 'timers' | 'logger'>) => AstdbMirror) | null;
  /** Reads the dialplan's fail-mode counters from AstDB into the daemon's metrics (built once metrics exist). */
  readonly failCounter: (
    metrics: ConstructorParameters<typeof DialplanFailCounter>[0]['metrics'],
  ) => DialplanFailCounter;
}

export interface AmiLinkDeps {
  /** The agent's org (default_org, else the only org) and the verdict with its text for the warning. */
  readonly screening: ScreeningService;
  readonly clock: Clock;
  readonly timers?: Scheduler;
}

/** The AMI client as `[ami]` describes it (the daemon's link, and the CLI's one-shot login with `events: 'off'`). */
export function buildAmiClient(
  config: Config,
  logger: Logger,
  options: { events?: string; eventFilters?: readonly string[] } = {},
  deps: AmiClientDeps = {},
): AmiClient {
  const a = config.ami;
  return new AmiClient(
    {
      host: a.host,
      port: a.port,
      username: a.username,
      secret: a.secret,
      actionTimeoutMs: a.action_timeout_ms,
      reconnectMinMs: a.reconnect_min_ms,
      reconnectMaxMs: a.reconnect_max_ms,
      keepaliveMs: a.keepalive_ms,
      readHoldMs: a.event_batch_ms,
      ...(options.events !== undefined ? { events: options.events } : {}),
      ...(options.eventFilters !== undefined ? { eventFilters: options.eventFilters } : {}),
    },
    logger,
    deps,
  );
}

export function buildAmiLinks(config: Config, logger: Logger, deps: AmiLinkDeps): AmiLinkParts {
  // The dial watcher needs DialBegin (class `call`), the mirror the dialplan's UserEvent (class
  // `user`); a filter keeps the rest of those classes (four events per call) off this session.
  // On by default (#20); it needs the DID to name the org in the dialplan, so other org_from modes
  // leave it off (said once at start).
  const mirrorOn = config.ami.astdb_mirror && config.fastagi.org_from === 'did';
  if (config.ami.astdb_mirror && !mirrorOn) {
    logger
      .child({ component: 'astdb-mirror' })
      .info(
        { org_from: config.fastagi.org_from },
        'AstDB mirror off: it needs fastagi.org_from = did to name the org in the dialplan; every call goes through FastAGI',
      );
  }
  const events = mirrorOn
    ? { events: 'call,user', eventFilters: ['Event: DialBegin', 'Event: UserEvent'] }
    : { eventFilters: ['Event: DialBegin'] };
  const client = buildAmiClient(config, logger.child({ component: 'ami' }), events, {
    ...(deps.timers ? { timers: deps.timers } : {}),
    clock: deps.clock,
  });
  const notifier = new AmiAgentNotifier(
    client,
    { messageFrom: config.agents.message_from },
    deps.clock,
    logger.child({ component: 'agent-notifier' }),
  );
  const deliverer = new AmiMessageDeliverer(client);
  const fixedOrg = config.fastagi.default_org;
  const watcher = new DialWatcher(
    client,
    deps.screening.screener,
    notifier,
    {
      endpointPattern: new RegExp(config.agents.endpoint_pattern),
      // default_org, else the only org (a single-tenant site); several orgs and no default: skip.
      resolveOrg: () =>
        Promise.resolve(deps.screening.outboundOrg({ orgFrom: 'did', defaultOrg: fixedOrg })?.org.slug ?? null),
    },
    logger.child({ component: 'dial-watcher' }),
  );
  const amiComponent = {
    name: client.name,
    start: () => client.start(),
    stop: () => client.stop(),
    health: (): ComponentHealth => {
      const s = client.status();
      // Not required: calls are screened by FastAGI without AMI; only warnings and SMS release wait.
      return { ok: s.state === 'connected', state: s.state, required: false, detail: { ...s, ...notifier.counters } };
    },
  };
  const watcherComponent = {
    name: watcher.name,
    start: () => watcher.start(),
    stop: () => watcher.stop(),
    health: (): ComponentHealth => ({ ok: true, state: 'watching', required: false, detail: { ...watcher.counters } }),
  };
  const mirror = mirrorOn
    ? (d: Omit<AstdbMirrorDeps, 'ami' | 'timers' | 'logger'>): AstdbMirror =>
        new AstdbMirror(
          {
            family: config.ami.astdb_family,
            aliveTtlMs: config.ami.astdb_alive_ttl_ms,
            window: config.ami.astdb_window,
            writeDids: true,
            callerForms: config.ami.astdb_caller_forms,
            readTimeoutMs: config.ami.action_timeout_ms,
          },
          {
            ...d,
            ami: client,
            timers: deps.timers ?? backgroundScheduler,
            logger: logger.child({ component: 'astdb-mirror' }),
          },
        )
    : null;
  const failCounter = (metrics: ConstructorParameters<typeof DialplanFailCounter>[0]['metrics']): DialplanFailCounter =>
    new DialplanFailCounter({
      ami: client,
      metrics,
      logger: logger.child({ component: 'dialplan-fail-counter' }),
      timers: deps.timers ?? backgroundScheduler,
      eventTimeoutMs: config.ami.action_timeout_ms,
    });
  return { client, notifier, deliverer, watcher, components: [watcherComponent, amiComponent], mirror, failCounter };
}

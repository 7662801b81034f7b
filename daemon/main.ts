/**
 * The composition root: the one place where parts are built and wired together. Nothing else
 * constructs services or holds global state; every part gets what it needs through its constructor.
 *
 * - `openServices` is what the CLI needs: the database and the services that write to it.
 * - `Daemon` adds the in-memory screening index, the change feed, the write-behind recorder and the
 *   adapters (FastAGI, AMI, admin HTTP, Event Socket, SIP edge), each a `Component`.
 */
import type { Logger } from 'pino';
import { systemClock, systemScheduler, type Clock, type Scheduler } from './core/clock.js';
import { NumberNormalizer } from './core/phone-number.js';
import type { Config } from './config/schema.js';
import { AuditLog } from './services/audit-log.js';
import { BlocklistService } from './services/blocklist-service.js';
import { RuleService } from './services/rule-service.js';
import { ContactService } from './services/contact-service.js';
import { Importer } from './services/importer.js';
import { OrgService } from './services/org-service.js';
import { QuarantineService } from './services/quarantine-service.js';
import { askedRules, liveRules, privateRules } from './services/current-rules.js';
import { WhatIfService } from './services/what-if.js';
import { StaleReportService } from './services/stale-report.js';
import type { MessageDeliverer } from './services/message-deliverer.js';
import type { AgentNotifier } from './agents/agent-notifier.js';
import { AdminServer } from './admin/admin-server.js';
import type { Component } from './component.js';
import type { DaemonContext, Services } from './daemon-context.js';
import { ScreenRecorder } from './services/screen-recorder.js';
import type { Screener } from './services/screener.js';
import { ScreeningService } from './services/screening-service.js';
import { DaemonMetrics } from './ops/metrics.js';
import { floodMetrics } from './ops/flood-metrics.js';
import { FloodDetector } from './services/flood-detector.js';
import { FloodHolds } from './services/flood-holds.js';
import { FloodPolicyCache, FloodPolicyService } from './services/flood-policy-service.js';
import { HandsetBlockService } from './services/handset-block-service.js';
import { UserService } from './admin/user-service.js';
import { DEFAULT_SCRYPT } from './admin/password-hash.js';
import { MeteredScreener } from './ops/metered-screener.js';
import { identitySettingsFrom } from './services/identity-settings.js';
import { OpsView } from './ops/ops-view.js';
import { AdjustableTimers } from './ops/adjustable-timers.js';
import { DAEMON_LIVE_KEYS, diffConfig, type ReloadResult } from './ops/config-reload.js';
import { DaemonLock, type LockSystem } from './ops/daemon-lock.js';
import { describeStartFailure } from './ops/start-failure.js';
import { ReadinessMonitor } from './ops/readiness-monitor.js';
import { StoreHealth } from './ops/store-health.js';
import { ChangeFeed } from './store/change-feed.js';
import { ChangeLog } from './store/change-log.js';
import { packageVersion } from './cli/version.js';
import { volatileNumbers } from './store/volatile-numbers.js';
import { ScreeningIndex } from './store/screening-index.js';
import { openReader, openRecordsWriter, openStore } from './store/store.js';
import type { Database } from './store/database.js';
import { SharedStore } from './store/shared-store.js';
import { buildAmiLinks } from './pbx/asterisk/ami-links.js';
import type { ResyncSource } from './pbx/asterisk/astdb-generation.js';
import { buildFastAgiServer } from './pbx/asterisk/fastagi-component.js';
import { buildEslServer } from './pbx/freeswitch/esl-component.js';
import { buildEslInboundLinks } from './pbx/freeswitch/esl-inbound-links.js';
import { pbxMessagingLink } from './pbx/pbx-link-choice.js';
import { buildSipEdge } from './pbx/sip-edge/sip-edge-component.js';

export interface ServiceOptions {
  readonly clock?: Clock;
  /** Overrides config.store.path (the CLI's --db). */
  readonly dbPath?: string;
}

export async function openServices(config: Config, logger: Logger, options: ServiceOptions = {}): Promise<Services> {
  const clock = options.clock ?? systemClock;
  const path = options.dbPath ?? config.store.path;
  const db = await openStore(path, {
    busyTimeoutMs: config.store.busy_timeout_ms,
    backupBeforeMigrate: config.store.backup_before_migrate,
    onBackup: (file) => logger.info({ file }, 'database backed up before schema migration'),
    clock,
  });
  const normalizer = new NumberNormalizer();
  const audit = new AuditLog(db, clock);
  const orgs = new OrgService(db, audit, normalizer, clock);
  const contacts = new ContactService(db, orgs, audit, normalizer, clock);
  const blocklist = new BlocklistService(db, orgs, audit, normalizer, clock);
  const importer = new Importer(db, orgs, blocklist, audit, normalizer, clock);
  // The CLI's what-if reads only the rules of the numbers it replays (askedRules), not the whole org.
  const whatIf = new WhatIfService({
    db,
    orgs,
    blocklist,
    clock,
    currentRules: askedRules,
    busyTimeoutMs: config.store.busy_timeout_ms,
  });
  // The stale report asks about every entry: always a private index, never the daemon's live one.
  const stale = new StaleReportService({
    db,
    orgs,
    audit,
    clock,
    currentRules: privateRules,
    busyTimeoutMs: config.store.busy_timeout_ms,
  });
  const rules = new RuleService(db, orgs, audit, normalizer, clock);
  const flood = new FloodPolicyService(db, orgs, audit);
  const handset = new HandsetBlockService(
    db,
    orgs,
    blocklist,
    audit,
    normalizer,
    clock,
    new UserService(db, orgs, audit, clock, DEFAULT_SCRYPT),
  );
  if (config.store.backend === 'postgres') {
    // Writes go to PostgreSQL through the gate; reads stay on this file, made fresh here when possible.
    const shared = new SharedStore(config, db, logger, () => clock.now());
    await shared.syncOnce();
    const close = async (): Promise<void> => {
      await shared.close();
      await db.close();
    };
    return {
      config,
      logger,
      clock,
      db,
      normalizer,
      audit,
      orgs,
      contacts,
      blocklist,
      importer,
      whatIf,
      stale,
      flood,
      handset,
      rules,
      shared,
      close,
    };
  }
  return {
    config,
    logger,
    clock,
    db,
    normalizer,
    audit,
    orgs,
    contacts,
    blocklist,
    importer,
    whatIf,
    stale,
    flood,
    handset,
    rules,
    close: () => db.close(),
  };
}

/**
 * Links to the PBX that services need (delivering released SMS, warning agents), built before the
 * components so that QuarantineService and the adapters can be given them. Each PBX link module
 * (AMI, ESL) contributes here; `components` are started with the rest.
 */
export interface PbxLinks {
  readonly deliverer: MessageDeliverer | null;
  readonly notifier: AgentNotifier | null;
  readonly components: Component[];
  /** Components that need the daemon's context (the AstDB mirror); started after `components`. */
  readonly late?: (ctx: DaemonContext) => Component[];
}

/**
 * `scheduler`: timers of the inbound Event Socket link (backoff, command timeouts, the SMS
 * watchdog's renewals); the unref'd background scheduler when absent. Tests pass a ManualClock.
 */
export function buildPbxLinks(
  config: Config,
  logger: Logger,
  services: Services,
  screening?: ScreeningService,
  scheduler?: Scheduler,
): PbxLinks {
  const link = pbxMessagingLink(config);
  if (link === 'ami' && screening !== undefined) {
    const ami = buildAmiLinks(config, logger, { screening, clock: services.clock });
    const mirror = ami.mirror;
    return {
      deliverer: ami.deliverer,
      notifier: ami.notifier,
      components: ami.components,
      // The fail counter reads what the dialplan let through while the daemon was unreachable.
      late: (ctx: DaemonContext) => [
        ...(mirror
          ? [
              mirror({
                index: ctx.index,
                feed: ctx.feed,
                screener: ctx.screener,
                normalizer: services.normalizer,
                clock: ctx.clock,
                observe: (s) => ctx.screening.observe(s),
                resync: mirrorResyncSource(ctx),
              }),
            ]
          : []),
        ami.failCounter(ctx.metrics),
      ],
    };
  }
  if (link === 'esl_inbound' && screening !== undefined) {
    // The SMS screener holds messages before the daemon's QuarantineService exists (that one is
    // built from these links' deliverer): holding is one INSERT, so it gets a deliverer-less instance.
    const holder = new QuarantineService(services.db, services.audit, services.clock, null);
    const esl = buildEslInboundLinks(config, logger, {
      screening,
      quarantine: holder,
      clock: services.clock,
      ...(scheduler ? { timers: scheduler } : {}),
    });
    return { deliverer: esl.deliverer, notifier: esl.notifier, components: esl.components };
  }
  return { deliverer: null, notifier: null, components: [] };
}

/**
 * What the AstDB mirror replays from on a reconnect (astdb-generation.ts): this file's change log,
 * its volatile numbers, and how far the change feed has applied the log to the index.
 */
export function mirrorResyncSource(ctx: DaemonContext): ResyncSource {
  const log = new ChangeLog(ctx.reader);
  return {
    program: packageVersion(),
    identity: () => log.identity(),
    head: () => log.head(),
    fingerprint: (seq) => log.fingerprint(seq),
    changesBetween: (after, upTo) => log.changesBetween(after, upTo),
    volatileNumbers: (orgId, prefixes) => volatileNumbers(ctx.reader, orgId, prefixes),
    position: () => ctx.feed.getStatus().lastSeq,
  };
}

export interface DaemonOptions extends ServiceOptions {
  /** Timers of the change feed, recorder and readiness monitor (default: the system scheduler). */
  readonly timers?: Scheduler;
  /** Build the adapters; defaults to `defaultComponents`. Tests pass their own. */
  readonly components?: (ctx: DaemonContext) => Component[];
  /** Replace the PBX links (tests pass fakes). */
  readonly pbxLinks?: typeof buildPbxLinks;
  /** The process checks behind the one-daemon-per-database lock (tests); the real ones by default. */
  readonly lockSystem?: LockSystem;
}

/** The adapters enabled by config. Each adapter module adds itself here. */
export function defaultComponents(ctx: DaemonContext): Component[] {
  const out: Component[] = [];
  if (ctx.config.admin.enabled) out.push(new AdminServer(ctx));
  if (ctx.config.fastagi.enabled) out.push(buildFastAgiServer(ctx));
  if (ctx.config.esl.enabled) out.push(buildEslServer(ctx));
  if (ctx.config.sip_edge.enabled) out.push(buildSipEdge(ctx));
  return out;
}

export class Daemon {
  private ctx: DaemonContext | null = null;
  private components: Component[] = [];
  readyAt = 0;
  private current: Config;
  private feedTimers: AdjustableTimers | null = null;
  private recorderTimers: AdjustableTimers | null = null;
  /** The recorder's own connection (store.ts, openRecordsWriter); closed after its last flush. */
  private recordsDb: Database | null = null;
  private reloading: Promise<unknown> = Promise.resolve();
  private lock: DaemonLock | null = null;
  private readiness: ReadinessMonitor | null = null;
  /** Holds the database file open for its header; closed last, after the database (store-health.ts). */
  private storeHealth: StoreHealth | null = null;
  /** Flood holds still being written and settings being read: waited for before the database closes. */
  private floodIdle: (() => Promise<void>) | null = null;

  constructor(
    private readonly config: Config,
    private readonly logger: Logger,
    private readonly options: DaemonOptions = {},
  ) {
    this.current = config;
  }

  get context(): DaemonContext {
    if (!this.ctx) throw new Error('daemon not started');
    return this.ctx;
  }

  /**
   * Takes the database's daemon lock, opens the store and starts every component. When anything
   * fails, what was started is stopped again, the lock released and the error thrown names what
   * to fix (CS_ERR_LISTEN_FAILED with the config key, CS_ERR_ALREADY_RUNNING with the other pid):
   * never a half-started daemon serving the panel with no screening behind it.
   */
  async start(): Promise<DaemonContext> {
    const path = this.options.dbPath ?? this.config.store.path;
    if (path !== ':memory:') {
      const lock = new DaemonLock(path, this.options.lockSystem);
      lock.acquire((owner) =>
        this.logger.warn({ lock: lock.path, owner }, 'removed a stale daemon lock: the daemon that held it is gone'),
      );
      this.lock = lock;
    }
    const cleanups: Array<() => Promise<void>> = [];
    try {
      return await this.startLocked(cleanups);
    } catch (err) {
      this.logger.error({ err }, 'callscreen could not start; stopping what had started');
      for (const c of cleanups.reverse()) {
        try {
          await c();
        } catch (e) {
          this.logger.warn({ err: e }, 'cleanup after a failed start did not finish cleanly');
        }
      }
      this.ctx = null;
      this.components = [];
      this.lock?.release();
      this.lock = null;
      throw err;
    }
  }

  private async startLocked(cleanups: Array<() => Promise<void>>): Promise<DaemonContext> {
    const t0 = performance.now();
    const services = await openServices(this.config, this.logger, this.options);
    cleanups.push(() => services.close());
    const timers = this.options.timers ?? systemScheduler;
    const reader = await openReader(services.db.path, this.config.store.busy_timeout_ms);
    cleanups.push(() => reader.close());
    const index = new ScreeningIndex(reader, { cacheMax: this.config.store.cache_max_entries });
    const feed = new ChangeFeed(
      reader,
      index,
      this.logger.child({ component: 'change-feed' }),
      { pollMs: this.config.store.change_poll_ms },
      (this.feedTimers = new AdjustableTimers(timers)),
      services.clock,
    );
    await feed.init();
    await index.loadAll();
    const recordsDb = await openRecordsWriter(services.db.path, this.config.store.busy_timeout_ms);
    cleanups.push(() => recordsDb.close());
    this.recordsDb = recordsDb;
    const recorder = new ScreenRecorder(
      recordsDb,
      services.clock,
      this.logger.child({ component: 'recorder' }),
      {
        flushMs: this.config.records.flush_ms,
        keepRecords: this.config.records.keep,
      },
      (this.recorderTimers = new AdjustableTimers(timers)),
    );
    const metrics = new DaemonMetrics();
    const screener: Screener = new MeteredScreener(
      metrics,
      index,
      services.normalizer,
      services.clock,
      recorder,
      this.config.screening.default_region,
      identitySettingsFrom(() => this.current),
    );
    // Flood detection (issue #16): counts after each verdict, writes holds in the background.
    const floodLog = this.logger.child({ component: 'flood' });
    const floodPolicies = new FloodPolicyCache(services.db, services.clock, (err) =>
      floodLog.warn({ err }, 'flood settings could not be read'),
    );
    await floodPolicies.load();
    let flood: FloodDetector | null = null;
    const floodHolds = new FloodHolds({
      blocklist: services.blocklist,
      db: services.db,
      clock: services.clock,
      logger: floodLog,
      onHeld: floodMetrics(metrics.registry, () => flood),
    });
    cleanups.push(() => floodHolds.idle());
    this.floodIdle = async () => {
      await floodPolicies.settled();
      await floodHolds.idle();
    };
    flood = new FloodDetector({
      clock: services.clock,
      policy: (id) => floodPolicies.policy(id),
      onHold: (h) => floodHolds.hold(h),
      parseNumber: (raw, region) => services.normalizer.parseCallerId(raw, region),
    });
    const detector = flood;
    const screening = new ScreeningService({
      screener,
      orgSlugs: () => index.orgs().map((o) => o.org.slug),
      config: () => this.current,
      logger: this.logger.child({ component: 'screening' }),
      observe: (s) => detector.observeScreened(s),
    });
    const links = (this.options.pbxLinks ?? buildPbxLinks)(this.config, this.logger, services, screening);
    const quarantine = new QuarantineService(services.db, services.audit, services.clock, links.deliverer);
    const ops = new OpsView(
      () => this.context,
      () => this.components,
      () => this.readyAt,
    );
    // The daemon's what-if reads the current rules from its live index (no second load of the org).
    const whatIf = new WhatIfService({
      db: services.db,
      orgs: services.orgs,
      blocklist: services.blocklist,
      clock: services.clock,
      currentRules: liveRules(index),
      busyTimeoutMs: this.config.store.busy_timeout_ms,
    });
    this.ctx = {
      ...services,
      whatIf,
      reader,
      index,
      feed,
      recorder,
      screener,
      screening,
      quarantine,
      agentNotifier: links.notifier,
      timers,
      metrics,
      ops,
    };
    Object.defineProperty(this.ctx, 'config', { get: () => this.current, enumerable: true });
    metrics.attach(ops);
    // Which file was opened, so readiness can tell when it is deleted or replaced under us.
    const storeHealth = new StoreHealth(services.db.path);
    // First in the list, so undone last on a failed start: after every connection has closed.
    cleanups.unshift(() => storeHealth.close());
    await storeHealth.remember();
    this.storeHealth = storeHealth;
    const readiness = new ReadinessMonitor(ops, storeHealth, this.logger.child({ component: 'readiness' }), timers);
    ops.attachMonitor(readiness);
    feed.start();
    cleanups.push(() => feed.stop());
    recorder.start();
    cleanups.push(() => recorder.stop());
    // Replicated changes reach memory as soon as they are in the file, not a feed interval later.
    services.shared?.replicator.onApplied(() => void feed.poll());
    services.shared?.start();
    this.components = [
      ...links.components,
      ...(links.late?.(this.ctx) ?? []),
      ...(this.options.components ?? defaultComponents)(this.ctx),
    ];
    for (const c of this.components) {
      try {
        await c.start();
      } catch (err) {
        // It may have half-opened something (a socket): stop it too, then the ones before it.
        cleanups.push(() => c.stop());
        throw describeStartFailure(c.name, err, this.config);
      }
      cleanups.push(() => c.stop());
      this.logger.info({ component: c.name }, 'component started');
    }
    readiness.start();
    this.readiness = readiness;
    this.readyAt = services.clock.now();
    const stats = index.stats();
    this.logger.info(
      { ms: Math.round(performance.now() - t0), orgs: stats.orgs, numbers: stats.keys, db: services.db.path },
      'callscreen ready',
    );
    return this.ctx;
  }

  /**
   * Applies a new, already validated config to the running daemon (SIGHUP). Nothing is restarted, so
   * no call in flight is dropped; keys that cannot change live keep their old value and are listed
   * in `restartRequired`. Reloads run one at a time.
   */
  reload(next: Config): Promise<ReloadResult> {
    const run = this.reloading.then(async (): Promise<ReloadResult> => {
      const changed = diffConfig(this.current, next);
      const applied = new Set<string>(changed.filter((k) => DAEMON_LIVE_KEYS.includes(k)));
      for (const c of this.components) {
        if (!c.reload) continue;
        try {
          for (const k of await c.reload(next, changed)) applied.add(k);
        } catch (err) {
          this.logger.error({ err, component: c.name }, 'component could not apply the reloaded config');
        }
      }
      if (applied.has('log.level')) this.logger.level = next.log.level;
      if (applied.has('store.change_poll_ms')) this.feedTimers?.setPeriod(next.store.change_poll_ms);
      if (applied.has('records.flush_ms')) this.recorderTimers?.setPeriod(next.records.flush_ms);
      // Keys not applied keep their running value, so the config the daemon reports stays true.
      const merged = mergeKeys(this.current, next, applied);
      this.current = merged;
      return {
        applied: changed.filter((k) => applied.has(k)),
        restartRequired: changed.filter((k) => !applied.has(k)),
      };
    });
    this.reloading = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops every part, in reverse order of start. Every step runs even when an earlier one failed
   * (a database that will not close must not leave the daemon lock held or the health probe's file
   * open); the first failure is thrown once all have run, each one logged.
   */
  async stop(): Promise<void> {
    const ctx = this.ctx;
    if (!ctx) return;
    for (const c of [...this.components].reverse()) {
      try {
        await c.stop();
      } catch (err) {
        this.logger.warn({ err, component: c.name }, 'component did not stop cleanly');
      }
    }
    const failures: unknown[] = [];
    const step = async (what: string, run: () => unknown): Promise<void> => {
      try {
        await run();
      } catch (err) {
        failures.push(err);
        this.logger.error({ err, step: what }, 'a stop step failed; the rest of the shutdown goes on');
      }
    };
    await step('readiness', async () => this.readiness?.stop());
    this.readiness = null;
    await step('shared store', async () => ctx.shared?.stop());
    await step('change feed', () => ctx.feed.stop());
    await step('call recorder', () => ctx.recorder.stop());
    await step('records connection', async () => this.recordsDb?.close());
    this.recordsDb = null;
    await step('flood holds', async () => this.floodIdle?.());
    this.floodIdle = null;
    await step('reader connection', () => ctx.reader.close());
    await step('database', () => ctx.close());
    // Only now: closing the file earlier would drop the locks SQLite holds on it (store-health.ts).
    await step('store health', async () => this.storeHealth?.close());
    this.storeHealth = null;
    await step('metrics', () => ctx.metrics.close());
    this.ctx = null;
    await step('daemon lock', () => this.lock?.release());
    this.lock = null;
    if (failures.length > 0) throw failures[0];
    this.logger.info('callscreen stopped');
  }
}

/** `base` with the keys in `take` (dotted) copied from `from`; frozen like a loaded config. */
function mergeKeys(base: Config, from: Config, take: ReadonlySet<string>): Config {
  const out = JSON.parse(JSON.stringify(base)) as Record<string, Record<string, unknown>>;
  const src = from as unknown as Record<string, Record<string, unknown>>;
  for (const k of take) {
    const [section, key] = k.split('.') as [string, string];
    (out[section] ??= {})[key] = src[section]?.[key];
  }
  for (const v of Object.values(out)) Object.freeze(v);
  return Object.freeze(out) as unknown as Config;
}

/**
 * Prometheus metrics for one daemon. Each daemon owns its own `Registry` (never prom-client's
 * global one) so two daemons in one process (tests) never share counters.
 *
 * Two kinds of series:
 * - pushed: verdicts by adapter and action, their latency, fail-mode verdicts. The screener's
 *   `recordVerdict` is the one place every adapter reports an answer, so `MeteredScreener` feeds
 *   `recordVerdict` here and adapters need no extra call.
 * - pulled at scrape time from the context: cache hit ratio, change-feed lag, recorder queue,
 *   quarantine size, component (AMI/ESL/FastAGI…) state.
 */
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { VerdictAction } from '../core/verdict.js';
import type { OpsView } from './ops-view.js';

/**
 * Latency buckets (seconds): the hot path answers in well under 1 ms; the deadline is 250 ms by
 * default; a FastAGI session (accept → last command answered) under load can take seconds.
 */
export const VERDICT_BUCKETS = [
  0.00005, 0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5,
];

/**
 * prom-client's default gauges whose names end in `_total`, which Prometheus reserves for counters
 * (rate() over a gauge is meaningless): dropped. Each is the sum of a by-type gauge prom-client
 * also registers (callscreen_nodejs_active_resources{type}, _handles{type}, _requests{type}).
 */
const TOTAL_NAMED_GAUGES = [
  'nodejs_active_resources_total',
  'nodejs_active_handles_total',
  'nodejs_active_requests_total',
];

/**
 * How often the event-loop lag histogram samples the loop (ms; prom-client's default is 10). Each
 * sample is a timer that wakes an idle daemon: at 10 ms that was ~6.5 ms of CPU a second on the
 * bench machine, half of an idle daemon's CPU (BENCHMARKS.md, "The daemon's CPU per mirror-answered
 * call"); at 100 ms, ~0.9. A stall of 100 ms or more is still seen whole; shorter ones are sampled.
 */
export const EVENT_LOOP_SAMPLE_MS = 100;

export class DaemonMetrics {
  readonly registry = new Registry();
  private readonly verdicts: Counter<'adapter' | 'action'>;
  private readonly latency: Histogram<'adapter'>;
  private readonly failModes: Counter<'adapter' | 'mode'>;
  private readonly observed: Counter<'adapter' | 'would'>;
  private view: OpsView | null = null;

  constructor(options: { defaultMetrics?: boolean } = {}) {
    const registers = [this.registry];
    // Process metrics (CPU, memory, event-loop lag) with the same registry; off in most tests.
    if (options.defaultMetrics !== false) {
      collectDefaultMetrics({
        register: this.registry,
        prefix: 'callscreen_',
        eventLoopMonitoringPrecision: EVENT_LOOP_SAMPLE_MS,
      });
      for (const name of TOTAL_NAMED_GAUGES) this.registry.removeSingleMetric(`callscreen_${name}`);
    }
    this.verdicts = new Counter({
      name: 'callscreen_verdicts_total',
      help: 'Verdicts given, by adapter and action',
      labelNames: ['adapter', 'action'],
      registers,
    });
    this.latency = new Histogram({
      name: 'callscreen_verdict_duration_seconds',
      help: 'What the PBX waited for a verdict, as the adapter measures it: FastAGI from accepting the connection to the last command answered; the others from request to verdict (seconds)',
      labelNames: ['adapter'],
      buckets: VERDICT_BUCKETS,
      registers,
    });
    this.failModes = new Counter({
      name: 'callscreen_fail_mode_verdicts_total',
      help: 'Verdicts given by fail mode (no list answer in time or an error), by adapter and mode',
      labelNames: ['adapter', 'mode'],
      registers,
    });
    this.observed = new Counter({
      name: 'callscreen_observed_verdicts_total',
      help: 'Calls and messages let through by an entry in observe mode, by adapter and what the entry would have done (issue #16)',
      labelNames: ['adapter', 'would'],
      registers,
    });
    this.pulled(registers);
  }

  /** Gives the collectors something to read; until then pulled series are absent. */
  attach(view: OpsView): void {
    this.view = view;
  }

  /**
   * Lets go of the daemon on stop: the pulled gauges no longer read its view, and the registry drops
   * its metrics (prom-client's default-metric observers are process-wide and keep the registry).
   */
  close(): void {
    this.view = null;
    this.registry.clear();
  }

  /** One answered request. `seconds` null when the adapter did not measure. */
  recordVerdict(
    adapter: string,
    action: VerdictAction,
    seconds: number | null,
    failMode?: 'open' | 'closed',
    observed?: VerdictAction,
  ): void {
    this.verdicts.inc({ adapter, action });
    if (observed !== undefined) this.observed.inc({ adapter, would: observed });
    if (seconds !== null && Number.isFinite(seconds) && seconds >= 0) this.latency.observe({ adapter }, seconds);
    if (failMode) this.failModes.inc({ adapter, mode: failMode });
  }

  /**
   * Calls and SMS the dialplan let through (or refused) without a verdict because the daemon could
   * not be asked (AGISTATUS not SUCCESS): counted by Asterisk in AstDB and read over AMI by
   * DialplanFailCounter. Same series as the daemon's own fail-mode verdicts, adapter "dialplan",
   * so the one alert on callscreen_fail_mode_verdicts_total covers both.
   */
  recordDialplanFailMode(mode: 'open' | 'closed', count: number): void {
    if (count > 0) this.failModes.inc({ adapter: 'dialplan', mode }, count);
  }

  /** Text exposition format for /metrics. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }

  private pulled(registers: Registry[]): void {
    // prom-client calls collect() with `this` = the metric, so the view is read through a closure.
    const viewNow = (): OpsView | null => this.view;
    const gauge = (name: string, help: string, read: (v: OpsView) => number | null | Promise<number | null>): void => {
      new Gauge({
        name,
        help,
        registers,
        async collect() {
          this.reset();
          const view = viewNow();
          if (!view) return;
          const v = await read(view);
          if (v !== null) this.set(v);
        },
      });
    };
    // Counters the index and recorder keep themselves; exposed as counters so rate() works.
    // A null reading (the counted component is not configured) leaves the series at 0.
    const counter = (name: string, help: string, read: (v: OpsView) => number | null): void => {
      new Counter({
        name,
        help,
        registers,
        collect() {
          this.reset();
          const view = viewNow();
          const v = view ? read(view) : null;
          if (v !== null && v > 0) this.inc(v);
        },
      });
    };
    counter(
      'callscreen_cache_hits_total',
      'Exact-number lookups answered from the in-memory LRU',
      (v) => v.ctx.index.stats().cacheHits,
    );
    counter(
      'callscreen_cache_misses_total',
      'Exact-number lookups that had to read SQLite',
      (v) => v.ctx.index.stats().cacheMisses,
    );
    gauge(
      'callscreen_cache_hit_ratio',
      'cache hits / (hits + misses) since start; 1 when nothing was looked up',
      (v) => {
        const s = v.ctx.index.stats();
        const total = s.cacheHits + s.cacheMisses;
        return total === 0 ? 1 : s.cacheHits / total;
      },
    );
    gauge('callscreen_cache_entries', 'Entries held in the LRU', (v) => v.ctx.index.stats().cacheSize);
    gauge('callscreen_index_numbers', 'Listed numbers known to the in-memory index', (v) => v.ctx.index.stats().keys);
    gauge('callscreen_index_orgs', 'Organisations loaded', (v) => v.ctx.index.stats().orgs);
    gauge(
      'callscreen_change_feed_last_seq',
      'Last change-log sequence applied to memory',
      (v) => v.ctx.feed.getStatus().lastSeq,
    );
    gauge(
      'callscreen_change_feed_pending',
      'Changes committed to the database and not yet applied to memory',
      async (v) => (await v.changeLag()).pending,
    );
    gauge(
      'callscreen_change_feed_lag_seconds',
      'Seconds since memory last caught up, while changes are pending (0 when up to date)',
      async (v) => (await v.changeLag()).lagSeconds,
    );
    gauge(
      'callscreen_change_feed_poll_age_seconds',
      'Seconds since the change feed last polled',
      (v) => v.changeLagSync().pollAgeSeconds,
    );
    // A node of a shared PostgreSQL store (issue #15); absent for a single node.
    gauge(
      'callscreen_replica_applied_seq',
      'Last change of the shared store applied to this replica',
      (v) => v.ctx.shared?.status().replica.appliedSeq ?? null,
    );
    gauge(
      'callscreen_replica_lag_changes',
      'Changes in the shared store not yet applied to this replica',
      (v) => v.ctx.shared?.status().lagChanges ?? null,
    );
    gauge(
      'callscreen_replica_lag_seconds',
      'Seconds this replica has been behind the shared store (0 when caught up)',
      (v) => {
        const s = v.ctx.shared?.status();
        return s ? s.lagMs / 1000 : null;
      },
    );
    gauge('callscreen_replica_connected', '1 when the last exchange with PostgreSQL worked', (v) => {
      const s = v.ctx.shared?.status();
      return s ? (s.replica.connected ? 1 : 0) : null;
    });
    counter(
      'callscreen_replica_resyncs_total',
      'Whole resyncs of this replica since start',
      (v) => v.ctx.shared?.status().replica.resyncs ?? null,
    );
    gauge(
      'callscreen_outbox_pending_records',
      'Call records not yet shipped to the shared store',
      (v) => v.ctx.shared?.status().outbox.pendingRecords ?? null,
    );
    counter(
      'callscreen_shared_writes_refused_total',
      'Writes refused because PostgreSQL was unreachable',
      (v) => v.ctx.shared?.gate.getStats().refused ?? null,
    );
    counter(
      'callscreen_change_feed_errors_total',
      'Change-feed polls that failed',
      (v) => v.ctx.feed.getStatus().errors,
    );
    gauge('callscreen_recorder_queued', 'Call records waiting to be written', (v) => v.ctx.recorder.stats().queued);
    counter(
      'callscreen_recorder_dropped_total',
      'Call records dropped because the queue was full (database unavailable)',
      (v) => v.ctx.recorder.stats().dropped,
    );
    counter('callscreen_recorder_failures_total', 'Record flushes that failed', (v) => v.ctx.recorder.stats().failures);
    gauge('callscreen_quarantine_held', 'SMS held in quarantine for supervisors', async (v) =>
      v.ctx.quarantine.heldCount(),
    );
    counter(
      'callscreen_fastagi_refused_total',
      'FastAGI connections closed at once because fastagi.max_connections were open (Asterisk then applies its dialplan fail mode)',
      (v) => {
        const d = v.componentHealth().find((h) => h.component === 'fastagi')?.detail;
        return typeof d?.refused === 'number' ? d.refused : 0;
      },
    );
    gauge('callscreen_uptime_seconds', 'Seconds since the daemon became ready', (v) => v.uptimeSeconds());
    new Gauge({
      name: 'callscreen_component_up',
      help: 'Component state: 1 up/connected, 0 down (AMI, ESL, FastAGI, admin…)',
      labelNames: ['component'],
      registers,
      collect() {
        this.reset();
        const view = viewNow();
        if (!view) return;
        for (const h of view.componentHealth()) this.set({ component: h.component }, h.ok ? 1 : 0);
      },
    });
  }
}

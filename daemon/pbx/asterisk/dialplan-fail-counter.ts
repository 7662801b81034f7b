/**
 * Counts the calls and SMS Asterisk's dialplan handled by its own fail mode because the daemon
 * could not be asked (AGISTATUS not SUCCESS: daemon down, FastAGI refused at max_connections,
 * a crash mid-call). The daemon cannot see those itself — it was not there — so the shipped
 * dialplan counts them in AstDB, outside the mirror's family (which is wiped at each sync):
 *
 *   callscreen_stats/unscreened_open     +1 per call/SMS let through  (CALLSCREEN_FAIL_MODE open)
 *   callscreen_stats/unscreened_closed   +1 per call/SMS refused      (CALLSCREEN_FAIL_MODE closed)
 *
 * Only the dialplan writes those. The daemon reads them over AMI (DBGet) at each AMI login and
 * every `pollMs`, and writes what it has accounted for to `seen_open` / `seen_closed`; the
 * difference is added to callscreen_fail_mode_verdicts_total{adapter="dialplan",mode} and logged.
 * Keeping "seen" in AstDB (not in memory) is what makes calls that failed while the daemon was
 * down count once the new daemon logs in; the dialplan never resets its counter, so no increment
 * is lost between a read and a write.
 */
import type { Logger } from 'pino';
import type { ComponentHealth } from '../../ops/component-health.js';
import type { Scheduler } from '../../core/clock.js';
import type { AmiActions, AmiEventSource } from './ami-client.js';
import type { LinkState } from '../../net/reconnecting-link.js';
import { AstdbReader } from './astdb-reader.js';
import { CoalescedTask } from '../../core/coalesced-task.js';

export const STATS_FAMILY = 'callscreen_stats';
/** How often the counters are read while AMI is up (ms): 30 s, well inside a 5-minute alert window. */
export const FAIL_COUNTER_POLL_MS = 30_000;

type Mode = 'open' | 'closed';
const MODES: readonly Mode[] = ['open', 'closed'];

export interface FailCounterAmi extends AmiActions, AmiEventSource {
  onState(listener: (s: LinkState) => void): () => void;
  readonly currentState: LinkState;
}

export interface FailCounterDeps {
  readonly ami: FailCounterAmi;
  readonly metrics: { recordDialplanFailMode(mode: Mode, count: number): void };
  readonly logger: Logger;
  readonly timers: Scheduler;
  /** How long to wait for a DBGet's value event after its response (ms; the AMI action timeout). */
  readonly eventTimeoutMs: number;
  readonly pollMs?: number;
}

export class DialplanFailCounter {
  readonly name = 'dialplan-fail-counter';
  /** Calls/SMS accounted for since this daemon started, by mode. */
  readonly counted: Record<Mode, number> = { open: 0, closed: 0 };
  private reads = 0;
  private lastError: string | null = null;
  private offState: (() => void) | null = null;
  private offEvent: (() => void) | null = null;
  private timer: unknown = null;
  private readonly readRuns = new CoalescedTask(() => this.readAll());
  /** DBGet and its DBGetResponse event, shared with the AstDB mirror's marker read. */
  private readonly reader: AstdbReader;

  constructor(private readonly deps: FailCounterDeps) {
    this.reader = new AstdbReader(deps.ami, deps.timers, deps.eventTimeoutMs);
  }

  start(): Promise<void> {
    this.offEvent = this.reader.attach();
    this.offState = this.deps.ami.onState((s) => {
      if (s === 'connected') void this.read();
    });
    if (this.deps.ami.currentState === 'connected') void this.read();
    this.arm();
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.offState?.();
    this.offEvent?.();
    this.offState = this.offEvent = null;
    if (this.timer !== null) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
    await this.readRuns.settled();
  }

  health(): ComponentHealth {
    // Not required: a missing count never stops screening; AMI's own health says when it is down.
    return {
      ok: this.lastError === null,
      state: this.lastError === null ? 'counting' : 'error',
      required: false,
      detail: { ...this.counted, reads: this.reads, lastError: this.lastError },
    };
  }

  /** Reads both counters (one read at a time); resolves with a read that began after the call. */
  read(): Promise<void> {
    return this.readRuns.run();
  }

  private arm(): void {
    this.timer = this.deps.timers.setTimeout(() => {
      this.timer = null;
      const next = (): void => {
        if (this.offState !== null) this.arm();
      };
      if (this.deps.ami.currentState === 'connected') void this.read().finally(next);
      else next();
    }, this.deps.pollMs ?? FAIL_COUNTER_POLL_MS);
  }

  private async readAll(): Promise<void> {
    try {
      for (const mode of MODES) {
        const total = await this.dbGet(`unscreened_${mode}`);
        if (total === null) continue; // never failed in this mode: nothing to account for
        const seen = (await this.dbGet(`seen_${mode}`)) ?? 0;
        // A counter below what was seen was reset by hand (database deltree): count it afresh.
        const delta = total >= seen ? total - seen : total;
        if (delta === 0) continue;
        this.counted[mode] += delta;
        this.deps.metrics.recordDialplanFailMode(mode, delta);
        this.deps.logger.warn(
          { mode, count: delta, total, family: STATS_FAMILY },
          `the dialplan handled ${delta} call${delta === 1 ? '' : 's'}/SMS by its fail mode (${mode === 'open' ? 'let through unscreened' : 'refused'}) because the daemon could not be asked (AGISTATUS not SUCCESS)`,
        );
        await this.deps.ami.action('DBPut', { Family: STATS_FAMILY, Key: `seen_${mode}`, Val: String(total) });
      }
      this.reads++;
      if (this.lastError !== null) this.deps.logger.info('dialplan fail counters readable again');
      this.lastError = null;
    } catch (err) {
      const msg = err instanceof Error ? err.message : String(err);
      if (this.lastError === null)
        this.deps.logger.warn(
          { error: msg },
          'cannot read the dialplan fail counters over AMI (DBGet needs "system" in the AMI user\'s write= permissions)',
        );
      this.lastError = msg;
    }
  }

  /** One AstDB value as an integer; null when the key does not exist. */
  private async dbGet(key: string): Promise<number | null> {
    const raw = await this.reader.get(STATS_FAMILY, key);
    if (raw === null) return null;
    const n = Number(raw.trim());
    if (!Number.isInteger(n) || n < 0)
      throw new Error(`${STATS_FAMILY}/${key} holds "${raw.slice(0, 40)}", not a count`);
    return n;
  }
}

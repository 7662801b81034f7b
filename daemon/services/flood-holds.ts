/**
 * Writes the flood detector's holds as ordinary, expiring block entries through the
 * BlocklistService, so they are listed, shown in the panel, audited (actor `auto`, source `auto`),
 * reach the screening index like any change and end by themselves at their expiry.
 *
 * Asynchronous and bounded: `hold()` returns at once; writes run one at a time in order; at most
 * `maxPending` (default 100) wait, and any beyond are dropped, counted and logged (a flood of floods
 * must not grow the daemon). A number or prefix already blocked (and not expired) is left as it is:
 * an automatic hold never rewrites an admin's entry. A number that is one of the org's contacts, or
 * that an agent called in the last KNOWN_CALLER_MS (7 days), is never held by itself: people the
 * org knows call often. (A prefix hold still applies to them, like any prefix entry.)
 */
import type { Logger } from 'pino';
import type { Clock } from '../core/clock.js';
import type { Database } from '../store/database.js';
import type { Actor } from './actor.js';
import type { BlocklistService } from './blocklist-service.js';
import type { FloodHold, FloodSignal } from './flood-detector.js';

/** Who a flood hold is by, in entries and the audit log. */
export const AUTO_ACTOR: Actor = Object.freeze({ name: 'auto', source: 'auto', origin: 'flood detector' });

/** How far back an agent's call to a number makes it a known caller (ms): 7 days. */
export const KNOWN_CALLER_MS = 7 * 86_400_000;

export const SIGNAL_WORDS: Readonly<Record<FloodSignal, string>> = {
  rate: 'calls from one number',
  'did-sweep': 'different numbers of ours called by one number',
  neighbours: 'calls from neighbouring numbers',
  'neighbour-spoofing': "calls from numbers sharing the called number's area code and exchange",
};

export interface FloodHoldsDeps {
  readonly blocklist: Pick<BlocklistService, 'block'>;
  readonly db: Database;
  readonly clock: Clock;
  readonly logger: Logger;
  /** Counts a hold written (the site-wide metric callscreen_flood_holds_total). */
  readonly onHeld?: (hold: FloodHold) => void;
  readonly maxPending?: number;
}

export class FloodHolds {
  private chain: Promise<void> = Promise.resolve();
  private pending = 0;
  /** Holds dropped because maxPending were waiting. */
  dropped = 0;
  /** Holds written, and holds that failed to be written. */
  written = 0;
  failed = 0;

  constructor(private readonly deps: FloodHoldsDeps) {}

  /** Queues the hold's write; never throws, never waits. */
  hold(h: FloodHold): void {
    if (this.pending >= (this.deps.maxPending ?? 100)) {
      this.dropped++;
      this.deps.logger.warn(
        { org: h.org, value: h.value, signal: h.signal, dropped: this.dropped },
        'flood hold dropped: too many waiting to be written',
      );
      return;
    }
    this.pending++;
    this.chain = this.chain.then(() => this.write(h)).finally(() => this.pending--);
  }

  /** Resolves when every queued hold is written (tests, stop). */
  idle(): Promise<void> {
    return this.chain;
  }

  private async write(h: FloodHold): Promise<void> {
    const log = this.deps.logger;
    const what = {
      org: h.org,
      signal: h.signal,
      kind: h.kind,
      value: h.value,
      count: h.count,
      numbers: h.numbers,
      windowMinutes: h.windowMinutes,
    };
    try {
      const existing = await this.deps.db.get<{ id: number }>(
        `SELECT id FROM entries WHERE org_id = ? AND value = ? AND kind = ? AND list = 'block' AND removed_at IS NULL
           AND (expires_at IS NULL OR expires_at > ?)`,
        [h.orgId, h.value, h.kind, this.deps.clock.now()],
      );
      if (existing) {
        log.info({ ...what, entry: existing.id }, 'flood detected; already blocked, left as it is');
        return;
      }
      if (h.kind === 'exact') {
        const known = await this.knownCaller(h);
        if (known !== null) {
          log.info({ ...what, known }, 'flood detected from a known caller; not held');
          return;
        }
      }
      const reason = `auto: ${h.count} ${SIGNAL_WORDS[h.signal]} within ${h.windowMinutes} min`;
      const target =
        h.kind === 'exact'
          ? ({ kind: 'exact', number: h.value } as const)
          : ({ kind: 'prefix', prefix: h.value } as const);
      const entry = await this.deps.blocklist.block(
        h.org,
        target,
        { mode: h.mode, name: 'flood hold', reason, expires: h.expiresAt },
        AUTO_ACTOR,
      );
      this.written++;
      this.deps.onHeld?.(h);
      log.warn(
        { ...what, entry: entry.id, mode: h.mode, expiresAt: new Date(h.expiresAt).toISOString() },
        `flood: ${h.kind === 'exact' ? h.value : `prefix ${h.value}`} held (${h.mode}) by an automatic rule`,
      );
    } catch (err) {
      this.failed++;
      log.warn({ ...what, err }, 'flood detected but the hold could not be written');
    }
  }

  /** 'contact' or 'called back' when the org knows the number, else null. */
  private async knownCaller(h: FloodHold): Promise<'contact' | 'called back' | null> {
    const db = this.deps.db;
    const contact = await db.get(
      'SELECT 1 FROM contacts c JOIN contact_numbers n ON n.contact_id = c.id WHERE c.org_id = ? AND n.number = ? LIMIT 1',
      [h.orgId, h.value],
    );
    if (contact) return 'contact';
    const called = await db.get(
      "SELECT 1 FROM screened WHERE org_id = ? AND at >= ? AND direction = 'outbound' AND channel = 'call' AND number = ? LIMIT 1",
      [h.orgId, this.deps.clock.now() - KNOWN_CALLER_MS, h.value],
    );
    return called ? 'called back' : null;
  }
}

/**
 * The AstDB mirror (`[ami] astdb_mirror = true`, docs/asterisk-contract.md "AstDB mirror"): keeps the
 * verdicts of listed numbers in Asterisk's own database so the dialplan answers those calls — and,
 * when it can prove it, unlisted callers too — without a FastAGI round trip.
 *
 * Why: a FastAGI call costs Asterisk a TCP connect, ~25 environment lines written one write() each,
 * and a poll + fgets per command; measured, that is ~1 ms of Asterisk CPU per call more than
 * `BLACKLIST()`, more than the daemon's whole cost (BENCHMARKS.md). A DB_EXISTS() is an in-process
 * SQLite read, as BLACKLIST() is; what still costs Asterisk is each dialplan priority (a channel
 * snapshot), so the contract's mirror steps are two flat priorities (measured 1.20× BLACKLIST()'s
 * Asterisk CPU per call at 500 calls/s, against 1.2–1.8× over FastAGI).
 *
 * Keys, under family F (`astdb_family`, default `callscreen`):
 *   F/alive               epoch seconds until which the mirror may be used (the heartbeat);
 *   F/did/<DID>           the org slug owning an E.164 DID (org_from = did);
 *   F/n/<org>/<number>    `<action>|<sip code>|<rule>|` for a number blocked for good (no free text:
 *                         the dialplan splits it with MSet, on commas); E.164, or a short code as is;
 *   F/complete/<org>      present when an E.164 caller not under n/<org> is allowed unless it matches
 *                         this POSIX regex (the exclusions: the org's block prefixes and its numbers
 *                         whose verdict depends on time, `^[+](1900|15557770009$)`; `[0-9]`, every
 *                         caller ID without "+", always). A caller matching it goes to FastAGI.
 *   F/national/<org>      `<calling code>|<trunk prefix>|<pattern>` (astdb-mirror-forms.ts): how the
 *                         org's region reads a caller ID without "+" (`5557770001`, `15557770001`)
 *                         as E.164 where the reading is certain. The dialplan turns such a caller ID
 *                         into its E.164 number and answers it as that number (n/, then complete/);
 *                         one key per listed number serves every form a trunk sends. Absent for a
 *                         region whose reading has rules (GB, AR…): those callers go to FastAGI.
 * The dialplan uses the mirror only when F/alive is in the future, the caller ID is `+digits` or
 * digits, there is no Privacy header, and any PAI / Remote-Party-ID asserts exactly the caller ID;
 * anything else goes to FastAGI as before. Each call answered from the
 * mirror sends `UserEvent(CallScreen)`, from which the daemon records the call, counts the rule hit
 * and logs it, like a FastAGI verdict (adapter `astdb-mirror`).
 *
 *   idle ──(AMI connected)──→ syncing ──(every org written, heartbeat put)──→ live
 *     ↑                          │ (an action failed)                         │ (AMI lost)
 *     └──────────────────────────┴────────────────────────────────────────────┘    stop() → stopped
 *
 * Order matters so that the mirror is never ahead of the list in the blocking direction and never
 * claims completeness it does not have: a sync first deletes `alive` (and an org's `complete`), then
 * rewrites, then puts them back. While syncing, calls go to FastAGI.
 *
 * Which sync (astdb-generation.ts): each (re)connect reads the generation marker `F/gen`. When it
 * names this store, the same shape and a change still in the log, the sync is a replay: `alive`
 * withdrawn, the numbers changed since rewritten (orgs whose settings or rules changed rewritten
 * whole), the numbers with an entry that expired since rewritten, every org's `complete` recomputed,
 * the marker moved, `alive` put back — a handful of actions when nothing changed. Otherwise (no
 * marker, another store, a shape or log that does not match, a read error) the full sync: `alive` and
 * the whole family (the marker with it) deleted, everything rewritten. While live, the marker is moved
 * forward whenever the mirror's queue is empty (every change the feed applied is then in AstDB).
 */
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import type { Clock, Scheduler } from '../../core/clock.js';
import type { Matches } from '../../core/decide.js';
import { CallscreenError } from '../../core/errors.js';
import type { ScreenRequest } from '../../core/screen-request.js';
import type { Verdict } from '../../core/verdict.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import type { AdapterScreener } from '../../services/screener.js';
import type { Screened } from '../../services/screening-service.js';
import type { AppliedChange } from '../../store/change-feed.js';
import type { OrgState, ScreeningIndex } from '../../store/screening-index.js';
import { mirrorValueOf, type MirrorValue } from './astdb-mirror-value.js';
import type { AmiActions, AmiEvent, AmiEventSource, AmiPipeline } from './ami-client.js';
import type { LinkState } from '../../net/reconnecting-link.js';
import { AMI_MAX_LINE_BYTES, field, overlongLine, type AmiFields } from './ami-protocol.js';
import { numberOfKey } from '../../store/number-key-map.js';
import type { NumberNormalizer } from '../../core/phone-number.js';
import { ANY_NATIONAL, nationalReading } from './astdb-mirror-forms.js';
import { AstdbReader } from './astdb-reader.js';
import {
  encodeMarker,
  expiredBetween,
  isVolatile,
  MARKER_KEY,
  planSync,
  shapeOf,
  type Marker,
  type ResyncSource,
} from './astdb-generation.js';

export type MirrorState = 'idle' | 'syncing' | 'live' | 'stopped';

export interface AstdbMirrorOptions {
  /** AstDB family owned by the mirror (default `callscreen`). */
  readonly family: string;
  /** The dialplan stops trusting the mirror this long after the last heartbeat (ms, default 15000). */
  readonly aliveTtlMs: number;
  /** Keys in flight at once during a sync, in DBPut or CallScreenDBPut actions (default 1024). */
  readonly window: number;
  /** After a failed sync, the next try (ms, default 5000). */
  readonly retryMs?: number;
  /**
   * Write F/did/<DID> (fastagi.org_from = did). Other org_from modes give the dialplan no way to
   * name the org, so no DID is written and every call goes to FastAGI as before.
   */
  readonly writeDids: boolean;
  /**
   * The caller-ID forms the dialplan answers (`astdb_caller_forms`, default all three): E.164 always
   * (the keys are E.164), `national` and `trunk` read through `national/<org>`; callers in a form
   * left out go to FastAGI.
   */
  readonly callerForms?: readonly CallerForm[];
  /** How long the marker's DBGetResponse may follow the DBGet's response (ms, default 5000). */
  readonly readTimeoutMs?: number;
}

/** `+15551234567`, `5551234567`, `15551234567` (region US). */
export type CallerForm = 'e164' | 'national' | 'trunk';

/** How a sync writes its keys: many to a CallScreenDBPut (callscreen's module), or one DBPut each. */
export type PutAction = 'CallScreenDBPut' | 'DBPut';

/**
 * Keys a CallScreenDBPut carries (the module takes up to 120: Asterisk keeps at most 127 lines of an
 * action and drops the rest without a word, which the module's Count line catches). Measured on
 * Asterisk 22: ~1.5-1.9 µs of Asterisk CPU a key in actions of 100, against 9-13 µs a DBPut
 * (BENCHMARKS.md).
 */
export const PUT_BATCH_KEYS = 100;

export interface AstdbMirrorDeps {
  /** `actionThen` (the AMI client has it) spares a sync a promise per key; `action` is used without it. */
  readonly ami: AmiActions &
    Partial<AmiPipeline> &
    AmiEventSource & { readonly currentState: LinkState; onState(l: (s: LinkState) => void): () => void };
  readonly index: Pick<
    ScreeningIndex,
    'orgs' | 'orgById' | 'lookup' | 'matchesWith' | 'listedKeys' | 'exactEntriesOf' | 'contactNumbers'
  >;
  readonly feed: { onApplied(l: (c: AppliedChange) => void): () => void };
  readonly screener: AdapterScreener;
  /** The daemon's reading of caller IDs without "+" (the org's region), for `national/<org>`. */
  readonly normalizer: Pick<NumberNormalizer, 'nationalPlan'>;
  readonly clock: Clock;
  readonly timers: Scheduler;
  readonly logger: Logger;
  /** Told of each call the mirror answered, like ScreeningService.record's observer (the flood detector). */
  readonly observe?: (s: Screened) => void;
  /** The change log and volatile numbers, to replay changes after a marker; absent: every sync is full. */
  readonly resync?: ResyncSource;
}

/** What an org has in the mirror, to update it change by change. */
interface OrgMirror {
  readonly slug: string;
  dids: Set<string>;
  /** Numbers whose verdict depends on time and may block: the dialplan sends them to FastAGI. */
  unsure: Set<string>;
  /** Block prefixes that match now or later (`+digits`): callers under them go to FastAGI. */
  prefixes: readonly string[];
  /**
   * The org sends calls whose STIR/SHAKEN verification failed elsewhere (attestation-failed is not
   * allow: any unlisted caller may be blocked by a header the mirror cannot see), or has rules no
   * exclusion pattern can say (opaqueRules): a miss proves nothing and `complete` is withheld.
   */
  headerRules: boolean;
  /** The `complete/<org>` value written, or null when the key is absent. */
  complete: string | null;
  /** The `national/<org>` value (astdb-mirror-forms.ts nationalReading); null: no national caller is answered. */
  readonly national: string | null;
  /**
   * False when the org reads carrier stand-ins as unidentified (standins-unidentified): the daemon
   * then screens a stand-in caller ID (site-wide, reloadable `screening.anonymous_standins`, matched
   * by digits in any form) as withheld, which the mirror does not know; nothing of the org is
   * written, so its calls go to FastAGI.
   */
  mirrored: boolean;
}

/**
 * Longest exclusion pattern (and `national/` value) written: 1,017 characters, what one AMI line can
 * carry after `Val: ` (AMI_MAX_LINE_BYTES with its CRLF; the values are ASCII). Past this the org is
 * left incomplete (unlisted callers go to FastAGI), which is always safe. It was 2,000 (the
 * dialplan's 4 KB substitution buffers) until the module's tests found the AMI line limit: a longer
 * pattern's DBPut was refused, and every sync failed and started again 5 s later.
 */
const MAX_EXCLUSION_CHARS = AMI_MAX_LINE_BYTES - 'Val: \r\n'.length;

/**
 * The `complete/<org>` value: a POSIX extended regex matching the callers a miss under `n/<org>`
 * says nothing about — under a block prefix, or a number whose verdict depends on time — and every
 * caller ID without "+" (the dialplan reads those through `national/<org>` first, and checks the
 * E.164 number it reads against this same pattern). Null when it cannot be written (too long, or a
 * value that is not `+digits`): then no miss is conclusive.
 */
export function exclusionPattern(prefixes: Iterable<string>, numbers: Iterable<string>): string | null {
  const e164: string[] = [];
  for (const p of prefixes) {
    if (!/^\+\d+$/.test(p)) return null;
    e164.push(p.slice(1));
  }
  for (const n of numbers) {
    if (!/^\+\d+$/.test(n)) return null;
    e164.push(`${n.slice(1)}$`);
  }
  const alternatives = [...(e164.length > 0 ? [`[+](${e164.sort().join('|')})`] : []), ANY_NATIONAL];
  const pattern = `^(${alternatives.join('|')})`;
  return pattern.length <= MAX_EXCLUSION_CHARS ? pattern : null;
}

const ALL_FORMS: readonly CallerForm[] = ['e164', 'national', 'trunk'];

/** Work of an AMI link that is gone, or after stop(): it stops quietly; the next full sync redoes it. */
class SyncAborted extends Error {}

export class AstdbMirror {
  readonly name = 'astdb-mirror';
  private state: MirrorState = 'idle';
  /** Bumped when the AMI link drops or comes back: work of an older link stops at its next step. */
  private link = 0;
  private work: Promise<void> = Promise.resolve();
  private readonly orgs = new Map<number, OrgMirror>();
  private heartbeatTimer: unknown = null;
  private retryTimer: unknown = null;
  private readonly unsubscribe: Array<() => void> = [];
  private lastError: string | null = null;
  readonly counters = {
    syncs: 0,
    syncFailures: 0,
    puts: 0,
    /** Of `puts`, the keys written many to an action by the module's CallScreenDBPut. */
    bulkPuts: 0,
    deletes: 0,
    heartbeats: 0,
    calls: 0,
    disagreements: 0,
    /** The last sync's time to `live` (ms). */
    lastSyncMs: 0,
    /** Syncs that deleted and rewrote the whole family. */
    fullSyncs: 0,
    /** Syncs that replayed the change log from the marker. */
    resyncs: 0,
    /** Marker writes (after each sync, and whenever the queue empties with the feed ahead of it). */
    markers: 0,
  };
  /** The last sync's kind and why (health detail and the log line). */
  private lastSync: { kind: 'full' | 'replay'; why: string } | null = null;
  private readonly reader: AstdbReader;
  /** Jobs queued and not finished (the marker may move only when this is zero). */
  private pending = 0;
  /** The marker in AstDB as this daemon last wrote it (null: none written on this link yet). */
  private marker: Marker | null = null;
  private readonly retryMs: number;
  private readonly family: string;
  private readonly forms: ReadonlySet<CallerForm>;
  /** How the last window wrote its keys (putBatch), null before the first. */
  private putAction: PutAction | null = null;

  constructor(
    private readonly options: AstdbMirrorOptions,
    private readonly deps: AstdbMirrorDeps,
  ) {
    this.retryMs = options.retryMs ?? 5000;
    this.family = options.family;
    this.forms = new Set(options.callerForms ?? ALL_FORMS);
    this.reader = new AstdbReader(deps.ami, deps.timers, options.readTimeoutMs ?? 5000);
  }

  start(): Promise<void> {
    if (this.state === 'stopped') this.state = 'idle';
    this.unsubscribe.push(
      this.deps.ami.onState((s) => this.onAmiState(s)),
      this.deps.ami.onEvent((e) => this.onEvent(e)),
      this.deps.feed.onApplied((c) => this.onChange(c)),
      this.reader.attach(),
    );
    if (this.deps.ami.currentState === 'connected') this.onAmiState('connected');
    return Promise.resolve();
  }

  /** Takes the heartbeat away first, so the dialplan goes back to FastAGI at once, not in ttl. */
  async stop(): Promise<void> {
    for (const u of this.unsubscribe.splice(0)) u();
    this.clearTimers();
    const wasUp = this.state === 'live' || this.state === 'syncing';
    this.link++;
    this.setState('stopped');
    if (wasUp && this.deps.ami.currentState === 'connected') {
      await this.del('alive').catch((err: unknown) =>
        this.deps.logger.warn(
          { err },
          'could not withdraw the AstDB mirror heartbeat; the dialplan stops using it within the ttl',
        ),
      );
    }
    await this.work.catch(() => undefined);
  }

  get currentState(): MirrorState {
    return this.state;
  }

  health(): ComponentHealth {
    // Not required: without the mirror every call still goes through FastAGI.
    return {
      ok: this.state === 'live',
      state: this.state,
      required: false,
      detail: {
        ...this.counters,
        lastSync: this.lastSync,
        lastError: this.lastError,
        putAction: this.putAction,
      },
    };
  }

  /**
   * Resolves when no work is queued (tests, and `sync` callers that must wait): what was queued so
   * far and what it queued in turn (the marker).
   */
  async idle(): Promise<void> {
    do await this.work.catch(() => undefined);
    while (this.pending > 0);
  }

  // ------------------------------------------------------------------ link and changes

  private onAmiState(s: LinkState): void {
    if (this.state === 'stopped') return;
    if (s === 'connected') {
      this.link++;
      this.marker = null;
      this.queue('sync', (link) => this.connectSync(link));
    } else if (this.state !== 'idle') {
      // Asterisk may have restarted or the list changed meanwhile: a sync (replay or full) on the next link.
      this.link++;
      this.clearTimers();
      this.setState('idle', { ami: s });
    }
  }

  private onChange(c: AppliedChange): void {
    // Not live and not syncing: the next sync reads the list as it is then (a replay, from the log).
    if (this.state !== 'live' && this.state !== 'syncing') return;
    if (c.kind === 'all') this.queue('full sync', (link) => this.fullSync(link, 'the change feed reloaded everything'));
    else if (c.kind === 'org') this.queue('org sync', (link) => this.syncOrg(link, c.orgId));
    else this.queue('number sync', (link) => this.syncNumbers(link, c.orgId, c.numbers));
  }

  /** Jobs run one at a time, in order, each bound to the AMI link it was queued on. */
  private queue(what: string, job: (link: number) => Promise<void>): void {
    const link = this.link;
    this.pending++;
    this.work = this.work
      .then(async () => {
        try {
          if (link !== this.link || this.state === 'stopped') return;
          await job(link);
        } catch (err) {
          this.fail(what, link, err);
        } finally {
          this.pending--;
        }
        if (this.pending === 0) this.moveMarker();
      })
      .catch((err: unknown) => {
        // Never leave the queue rejected: every later job would be skipped.
        this.lastError = String(err);
      });
  }

  /** Any failed step: back to idle (the dialplan goes to FastAGI once `alive` lapses), full sync later. */
  private fail(what: string, link: number, err: unknown): void {
    if (err instanceof SyncAborted || link !== this.link || this.state === 'stopped') return;
    this.counters.syncFailures++;
    this.lastError = err instanceof Error ? err.message : String(err);
    this.deps.logger.warn(
      { err, what, retryMs: this.retryMs },
      'AstDB mirror update failed; calls go through FastAGI until a sync succeeds',
    );
    this.link++;
    this.clearTimers();
    this.setState('idle');
    this.retryTimer = this.deps.timers.setTimeout(() => {
      this.retryTimer = null;
      if (this.state === 'idle' && this.deps.ami.currentState === 'connected') this.onAmiState('connected');
    }, this.retryMs);
  }

  // ------------------------------------------------------------------ syncs

  private async fullSync(link: number, why: string): Promise<void> {
    const t0 = this.deps.clock.now();
    this.deps.logger.info({ sync: 'full', why }, `AstDB mirror full sync: ${why}`);
    this.setState('syncing');
    this.clearTimers();
    await this.del('alive');
    // The marker goes with the family, before any key changes: a sync that stops half-way leaves none.
    await this.delTree('');
    this.marker = null;
    // Every change the feed applied up to here is in the index this sync reads.
    const position = this.deps.resync?.position() ?? 0;
    this.orgs.clear();
    const window = new PutWindow(this, this.options.window, link);
    for (const state of this.deps.index.orgs()) await this.writeOrg(window, state);
    await window.drain();
    this.check(link);
    await this.writeMarker(link, position, t0);
    await this.heartbeat(link);
    this.counters.syncs++;
    this.counters.fullSyncs++;
    this.lastSync = { kind: 'full', why };
    this.counters.lastSyncMs = this.deps.clock.now() - t0;
    this.setState('live', { sync: 'full', orgs: this.orgs.size, ms: this.counters.lastSyncMs });
  }

  // ------------------------------------------------------------------ re-sync from the marker

  /** On each (re)connect: replay from the marker when it allows (astdb-generation.ts), else the full sync. */
  private async connectSync(link: number): Promise<void> {
    const source = this.deps.resync;
    let raw: string | null | Error = null;
    if (source !== undefined) {
      raw = await this.reader
        .get(this.family, MARKER_KEY)
        .catch((err: unknown) => (err instanceof Error ? err : new Error(String(err))));
      this.check(link);
    }
    const now = this.deps.clock.now();
    const plan = await planSync(raw, source, this.shapeNow(), now);
    this.check(link);
    if (plan.kind === 'full' || source === undefined) return this.fullSync(link, plan.kind === 'full' ? plan.why : '');
    await this.resync(link, source, plan.marker, plan.store);
  }

  /** What the shape depends on besides the orgs (astdb-generation.ts shapeOf). */
  private shapeOptions(): { family: string; forms: ReadonlySet<CallerForm>; writeDids: boolean; program: string } {
    return {
      family: this.family,
      forms: this.forms,
      writeDids: this.options.writeDids,
      program: this.deps.resync?.program ?? '',
    };
  }

  /** The shape a full sync would write now (the orgs of the index). */
  private shapeNow(): string {
    return shapeOf(
      this.shapeOptions(),
      this.deps.index
        .orgs()
        .map((s) => ({ id: s.org.id, slug: s.org.slug, dids: this.options.writeDids ? s.dids : [] })),
    );
  }

  /** The shape of what this mirror has written (its orgs). */
  private shapeWritten(): string {
    return shapeOf(
      this.shapeOptions(),
      [...this.orgs].map(([id, o]) => ({ id, slug: o.slug, dids: o.dids })),
    );
  }

  /**
   * Brings AstDB from the marker's state to the index's: with `alive` withdrawn (calls go to FastAGI,
   * so the order of the writes in between does not matter), rewrites what changed in the log after
   * the marker and what expired after its `since`, recomputes each org's `complete`, moves the marker,
   * puts `alive` back. Changes the feed applies meanwhile are queued behind it, as during a full sync.
   */
  private async resync(link: number, source: ResyncSource, from: Marker, store: string): Promise<void> {
    const t0 = this.deps.clock.now();
    this.setState('syncing');
    this.clearTimers();
    await this.del('alive');
    // Read after `syncing`: a change applied from here on is queued behind this job; one applied
    // before is in the log up to `top`, and in the index this reads.
    const position = source.position();
    const top = await source.head();
    // What AstDB holds outside n/: the marker's orgs, checked again now that changes are queued
    // (one applied since the plan was made would otherwise be written over keys of another name).
    const written = new Map(
      this.deps.index
        .orgs()
        .map((st) => [st.org.id, { slug: st.org.slug, dids: this.options.writeDids ? [...st.dids] : [] }] as const),
    );
    const shape = shapeOf(
      this.shapeOptions(),
      [...written].map(([id, o]) => ({ id, ...o })),
    );
    if (shape !== from.shape)
      return this.fullSync(link, 'orgs, slugs, DIDs, caller forms or the program version changed');
    const changes = await source.changesBetween(from.seq, top);
    this.check(link);
    this.orgs.clear();
    const window = new PutWindow(this, this.options.window, link);
    const stats = { wholeOrgs: 0, numbers: 0, expired: 0 };
    const differs = (was: { slug: string; dids: readonly string[] }, state: OrgState | undefined): boolean =>
      state === undefined ||
      state.org.slug !== was.slug ||
      !sameMembers(this.options.writeDids ? state.dids : [], was.dids);
    // Orgs redone whole: settings, rules or contacts changed (or a pattern's effect may have
    // expired), or the org changed in the index since `written` was read. As the live org sync, from
    // the keys AstDB holds (`was`) to the index's; every deletion before any write, so a DID that
    // moved between two orgs is not deleted after its new org wrote it.
    const rewrite: number[] = [];
    const clear = async (id: number): Promise<void> => {
      const was = written.get(id);
      if (was === undefined) return;
      stats.wholeOrgs++;
      rewrite.push(id);
      await this.del(`complete/${was.slug}`);
      await this.del(`national/${was.slug}`);
      for (const d of was.dids) await this.del(`did/${d}`);
      await this.delTree(`n/${was.slug}`);
    };
    for (const [id, was] of written) {
      const state = this.deps.index.orgById(id);
      const changed = changes.get(id);
      if (
        differs(was, state) ||
        state === undefined ||
        changed?.whole === true ||
        (changed !== undefined && changed.numbers.size > state.keys.size) ||
        state.patterns.some(({ entry }) => isVolatile(entry, from.since))
      )
        await clear(id);
    }
    for (const [id, was] of written) {
      if (rewrite.includes(id)) continue;
      const state = this.deps.index.orgById(id);
      if (state === undefined || differs(was, state)) {
        await clear(id);
        continue;
      }
      // Synchronous up to refreshOrg's first await: its mirror of the org is this state's, `was`.
      await this.refreshOrg(window, link, source, state, changes.get(id)?.numbers ?? new Set(), from.since, stats);
    }
    // Then the orgs redone whole, and those added since `written` was read (their jobs are queued too).
    for (const state of this.deps.index.orgs())
      if (rewrite.includes(state.org.id) || !written.has(state.org.id)) await this.writeOrg(window, state);
    await window.drain();
    this.check(link);
    await this.writeMarker(link, position, t0, store);
    await this.heartbeat(link);
    this.counters.syncs++;
    this.counters.resyncs++;
    const why = `replayed changes ${from.seq + 1}..${top} (${top - from.seq}): ${stats.numbers} numbers, ${stats.expired} expired since the marker, ${stats.wholeOrgs} orgs whole`;
    this.lastSync = { kind: 'replay', why };
    this.counters.lastSyncMs = this.deps.clock.now() - t0;
    this.deps.logger.info(
      { sync: 'replay', from: from.seq, to: top, ...stats, ms: this.counters.lastSyncMs },
      `AstDB mirror re-synced from its marker: ${why}`,
    );
    this.setState('live', { sync: 'replay', orgs: this.orgs.size, ms: this.counters.lastSyncMs });
  }

  /**
   * One org whose settings and rules did not change since the marker: its in-memory mirror rebuilt
   * (the volatile numbers say which are unsure), the changed and the expired numbers rewritten, its
   * `complete` put or deleted. Other numbers' keys depend only on their entries and the org's
   * settings, which are as the marker saw them.
   */
  private async refreshOrg(
    window: PutWindow,
    link: number,
    source: ResyncSource,
    state: OrgState,
    changed: ReadonlySet<string>,
    since: number,
    stats: { numbers: number; expired: number },
  ): Promise<void> {
    const now = this.deps.clock.now();
    const org = this.mirrorOf(state, now);
    this.orgs.set(state.org.id, org);
    const policy = state.org.policy;
    const prefixes = [...state.prefixes].filter(([, es]) => es.some((e) => isVolatile(e, since))).map(([p]) => p);
    const contacts = new Set(await this.deps.index.contactNumbers(state.org.id));
    const volatile = await source.volatileNumbers(state.org.id, prefixes);
    const dels: string[] = [];
    const flush = async (): Promise<void> => {
      this.check(link);
      await Promise.all(dels.splice(0).map((k) => this.del(k)));
    };
    const apply = async (n: string, matches: Matches, rewrite: boolean): Promise<void> => {
      const v = mirrorValueOf(n, matches, policy, now);
      if (v.kind === 'unsure') org.unsure.add(n);
      const key = this.keyOf(org, n);
      if (!rewrite || key === null) return;
      if (v.kind === 'put') await window.put(key, v.value);
      else dels.push(key);
      if (dels.length >= this.options.window) await flush();
    };
    for (const [n, exact] of volatile) {
      if (contacts.has(n) || changed.has(n)) continue;
      const matches = this.deps.index.matchesWith(state, n, exact);
      const expired = expiredBetween([...matches.exact, ...matches.prefixes], since, now);
      if (expired) stats.expired++;
      await apply(n, matches, expired);
    }
    for (const n of new Set([...contacts, ...changed])) {
      const matches = await this.deps.index.lookup(state, { kind: 'number', value: n });
      const rewrite = changed.has(n) || expiredBetween([...matches.exact, ...matches.prefixes], since, now);
      if (changed.has(n)) stats.numbers++;
      else if (rewrite) stats.expired++;
      // A number with no entry of its own (unblocked, or taken off a contact) is not written, even
      // when a prefix blocks it: as a full sync, which writes listed numbers only (the prefix is in
      // the exclusions, so FastAGI answers it).
      if (matches.exact.length === 0) {
        const key = this.keyOf(org, n);
        if (rewrite && key !== null) dels.push(key);
        continue;
      }
      await apply(n, matches, rewrite);
    }
    await flush();
    await window.drain();
    // `national/<org>` is as the marker left it: it depends on the org's region (a settings change
    // rewrites the org whole) and the caller forms (part of the shape).
    await this.setComplete(org, this.completeValue(org));
  }

  /** What an org has in the mirror before any of its numbers is looked at (as writeOrg builds it). */
  private mirrorOf(state: OrgState, now: number): OrgMirror {
    const plan = this.deps.normalizer.nationalPlan(state.org.policy.region);
    const mirrored = !state.org.policy.standinsUnidentified;
    return {
      slug: state.org.slug,
      dids: new Set(this.options.writeDids ? state.dids : []),
      unsure: new Set(),
      prefixes: blockPrefixes(state, now),
      headerRules: state.org.policy.attestationFailed !== 'allow' || opaqueRules(state, now),
      complete: null,
      national:
        plan === null || !mirrored
          ? null
          : nationalReading(
              plan,
              { national: this.forms.has('national'), trunk: this.forms.has('trunk') },
              MAX_EXCLUSION_CHARS,
            ),
      mirrored,
    };
  }

  /**
   * Puts the marker: every change up to `seq` is in the keys (acknowledged), each computed at or
   * after `since`. `store` is read when not given.
   */
  private async writeMarker(link: number, seq: number, since: number, store?: string): Promise<void> {
    const source = this.deps.resync;
    if (source === undefined) return;
    const id = store ?? (await source.identity());
    if (id === '') return;
    const atSeq = seq === 0 ? '-' : ((await source.fingerprint(seq)) ?? '-');
    this.check(link);
    const marker: Marker = { store: id, seq, atSeq, since, shape: this.shapeWritten() };
    await this.put(MARKER_KEY, encodeMarker(marker));
    this.marker = marker;
    this.counters.markers++;
  }

  /**
   * The queue just emptied: every change the feed has applied (its position now) is in AstDB, so the
   * marker may move there. Queued as a job so it is ordered with the writes; it moves only if nothing
   * was queued behind it meanwhile (that change could be in the position read but not yet written).
   */
  private moveMarker(): void {
    const source = this.deps.resync;
    const m = this.marker;
    if (source === undefined || m === null || this.state !== 'live') return;
    if (source.position() <= m.seq && this.shapeWritten() === m.shape) return;
    this.queue('marker', async (link) => {
      if (this.pending !== 1 || this.state !== 'live') return;
      await this.writeMarker(link, source.position(), m.since, m.store);
    });
  }

  /** An org's settings, DIDs, prefixes or contacts changed (or a bulk import): rewrite that org. */
  private async syncOrg(link: number, orgId: number): Promise<void> {
    const old = this.orgs.get(orgId);
    const state = this.deps.index.orgById(orgId);
    if (old) {
      await this.del(`complete/${old.slug}`);
      await this.del(`national/${old.slug}`);
      for (const d of old.dids) await this.del(`did/${d}`);
      await this.delTree(`n/${old.slug}`);
      this.orgs.delete(orgId);
    }
    if (!state) return;
    const window = new PutWindow(this, this.options.window, link);
    await this.writeOrg(window, state);
    await window.drain();
  }

  private async syncNumbers(link: number, orgId: number, numbers: readonly string[]): Promise<void> {
    const state = this.deps.index.orgById(orgId);
    const org = this.orgs.get(orgId);
    if (!state || !org) return;
    const now = this.deps.clock.now();
    for (const n of numbers) {
      this.check(link);
      const matches = await this.deps.index.lookup(state, { kind: 'number', value: n });
      // A number left with no entry of its own is not written even when a prefix blocks it, as a full
      // sync writes listed numbers only (the prefix is excluded from `complete`: FastAGI answers it).
      const v: MirrorValue =
        matches.exact.length === 0 ? { kind: 'none' } : mirrorValueOf(n, matches, state.org.policy, now);
      if (v.kind === 'unsure') org.unsure.add(n);
      else org.unsure.delete(n);
      // Completeness goes first when it narrows (a new exclusion), last when it widens.
      const next = this.completeValue(org);
      if (org.complete !== null && org.complete !== next) await this.setComplete(org, null);
      const key = this.keyOf(org, n);
      if (key !== null && v.kind === 'put') await this.put(key, v.value);
      else if (key !== null) await this.del(key);
    }
    const next = this.completeValue(org);
    if (next !== null && org.complete !== next) await this.setComplete(org, next);
  }

  /** Writes an org whole: its numbers, its DIDs, how its region reads national caller IDs, its `complete`. */
  private async writeOrg(window: PutWindow, state: OrgState): Promise<void> {
    const slug = state.org.slug;
    const org = this.mirrorOf(state, this.deps.clock.now());
    this.orgs.set(state.org.id, org);
    const contacts = new Set(await this.deps.index.contactNumbers(state.org.id));
    if (org.mirrored) await this.writeNumbers(window, state, org, contacts);
    for (const d of org.dids) await window.put(`did/${d}`, slug);
    await window.drain();
    await this.putNational(org);
    const complete = this.completeValue(org);
    if (complete !== null) await this.setComplete(org, complete);
  }

  /**
   * Every listed number of the org with its verdict, read from the index's memory (listedKeys, as
   * the call path reads it): a DBPut of `n/<org>/<number>` for each one the mirror stores, waiting
   * only when the window is full; the ones whose verdict depends on time go to `org.unsure`; the contacts' numbers
   * last, each looked up whole. From memory rather than SQLite pages: a page read cost the daemon
   * more CPU per key than the DBPut itself (BENCHMARKS.md). A number changed while the walk waits is
   * read as it is when the walk reaches it (one added after the copy is not); either way its change
   * is queued behind this job.
   */
  private async writeNumbers(
    window: PutWindow,
    state: OrgState,
    org: OrgMirror,
    contacts: ReadonlySet<string>,
  ): Promise<void> {
    const now = this.deps.clock.now();
    const policy = state.org.policy;
    const index = this.deps.index;
    const write = (n: string, matches: Matches): Promise<void> | undefined => {
      const v = mirrorValueOf(n, matches, policy, now);
      if (v.kind === 'unsure') org.unsure.add(n);
      return v.kind === 'put' ? window.put(`n/${org.slug}/${n}`, v.value) : undefined;
    };
    const keys = index.listedKeys(state);
    for (let i = 0; i < keys.length; i++) {
      const n = numberOfKey(keys[i] ?? 0);
      // Numbers of contacts are written below with their contact entries.
      if (contacts.has(n)) continue;
      const exact = index.exactEntriesOf(state, n);
      if (exact === null) continue;
      const wait = write(n, index.matchesWith(state, n, exact));
      if (wait !== undefined) await wait;
    }
    for (const n of contacts) await write(n, await index.lookup(state, { kind: 'number', value: n }));
  }

  /** `n/<org>/<number>`, the one key of a number (E.164 or a short code); null when nothing of the org is written. */
  private keyOf(org: OrgMirror, n: string): string | null {
    return org.mirrored ? `n/${org.slug}/${n}` : null;
  }

  private completeValue(org: OrgMirror): string | null {
    if (org.headerRules || !org.mirrored) return null;
    return exclusionPattern(org.prefixes, org.unsure);
  }

  /**
   * `national/<org>`, when the org's region has one. Safe at any time: what the dialplan reads
   * through it is answered by the E.164 keys and `complete/<org>`, which say only what is true.
   */
  private async putNational(org: OrgMirror): Promise<void> {
    if (org.national !== null) await this.put(`national/${org.slug}`, org.national);
  }

  private async setComplete(org: OrgMirror, value: string | null): Promise<void> {
    if (value !== null) await this.put(`complete/${org.slug}`, value);
    else await this.del(`complete/${org.slug}`);
    org.complete = value;
  }

  // ------------------------------------------------------------------ heartbeat

  /**
   * Puts `alive` = now + ttl (epoch seconds, compared with ${EPOCH} in the dialplan) and re-arms
   * itself every ttl/3. Not queued behind syncs: a long org sync must not let `alive` lapse, and an
   * org being rewritten has its `complete` withdrawn first, so a live heartbeat is still true. A full
   * sync clears the timer before it deletes `alive`.
   */
  private async heartbeat(link: number): Promise<void> {
    this.check(link);
    const until = Math.ceil((this.deps.clock.now() + this.options.aliveTtlMs) / 1000);
    await this.put('alive', String(until));
    this.counters.heartbeats++;
    if (this.heartbeatTimer !== null) this.deps.timers.clearTimeout(this.heartbeatTimer);
    this.heartbeatTimer = this.deps.timers.setTimeout(
      () => {
        this.heartbeatTimer = null;
        if (this.state !== 'live' || link !== this.link) return;
        this.heartbeat(link).catch((err: unknown) => this.fail('heartbeat', link, err));
      },
      Math.floor(this.options.aliveTtlMs / 3),
    );
  }

  private clearTimers(): void {
    if (this.heartbeatTimer !== null) this.deps.timers.clearTimeout(this.heartbeatTimer);
    if (this.retryTimer !== null) this.deps.timers.clearTimeout(this.retryTimer);
    this.heartbeatTimer = null;
    this.retryTimer = null;
  }

  // ------------------------------------------------------------------ calls answered by the dialplan

  /**
   * `UserEvent(CallScreen,From: …,To: …,Action: …)` from the contract's mirror steps.
   * The daemon screens the call itself (from memory, as every verdict) so the record carries its
   * rule and the hit is counted; a different answer means the mirror lagged a change.
   * Runs once per mirror-answered call: no closure or child logger is made per call (each was an
   * allocation, and under tsx a defineProperty too), and each field is read once.
   */
  private onEvent(e: AmiEvent): void {
    if (e.name !== 'UserEvent' || field(e.fields, 'UserEvent') !== 'CallScreen') return;
    const fields = e.fields;
    // The dialplan names the DID, not the org (one priority fewer): the org is the DID's, as in the
    // FastAGI route; an `Org:` field, when a dialplan sends one, wins.
    const orgField = field(fields, 'Org') ?? '';
    const to = field(fields, 'To') ?? '';
    const state = orgField !== '' ? this.deps.screener.org(orgField) : this.deps.screener.orgForDid(to);
    const req: ScreenRequest = {
      org: state?.org.slug ?? orgField,
      channel: 'call',
      direction: 'inbound',
      from: field(fields, 'From') ?? '',
      to,
      withheld: false,
      callId: field(fields, 'Uniqueid') ?? '',
    };
    this.counters.calls++;
    if (!state) {
      this.deps.logger.warn(
        { org: req.org, to: req.to, callId: req.callId },
        'AstDB mirror call for a DID or org this daemon does not have',
      );
      return;
    }
    try {
      this.recordAnswered(req, state, field(fields, 'Action') ?? '', this.deps.screener.screenSync(req));
    } catch (err) {
      this.deps.logger.warn({ err, callId: req.callId }, 'could not record a call answered by the AstDB mirror');
    }
  }

  /** Records a call the dialplan answered with `applied`, as the list's `verdict` says or corrected to what was applied. */
  private recordAnswered(req: ScreenRequest, state: OrgState, applied: string, verdict: Verdict): void {
    const v =
      verdict.action === applied
        ? verdict
        : ({
            ...verdict,
            action: applied === 'reject' || applied === 'voicemail' ? applied : 'allow',
            reason: `answered by the AstDB mirror (${applied}) before a change reached it; the list now says ${verdict.action}: ${verdict.reason}`,
          } as Verdict);
    if (v !== verdict) {
      this.counters.disagreements++;
      this.deps.logger.warn(
        { org: req.org, callId: req.callId, from: req.from, to: req.to, applied, now: verdict.action },
        'AstDB mirror answered a call differently from the list (a change was on its way)',
      );
    }
    this.deps.screener.recordVerdict(req, state.org.id, v, 'astdb-mirror', null);
    this.deps.observe?.({ req, org: state, verdict: v, fallback: null });
    if (!this.deps.logger.isLevelEnabled('info')) return;
    // One line with the call's fields, as the FastAGI path logs it (no child logger per call).
    this.deps.logger.info(
      {
        org: req.org,
        callId: req.callId,
        from: req.from,
        to: req.to,
        script: 'call-inbound',
        adapter: 'astdb-mirror',
        action: v.action,
        rule: v.rule ? `${v.rule.kind}:${v.rule.id}` : null,
        reason: v.reason,
      },
      'screened',
    );
  }

  // ------------------------------------------------------------------ AMI

  /** Throws SyncAborted when the link this work belongs to is gone. */
  check(link: number): void {
    if (link !== this.link || this.state === 'stopped') throw new SyncAborted();
  }

  /**
   * Keys a sync's window sends an action: PUT_BATCH_KEYS to a CallScreenDBPut when Asterisk has
   * callscreen's module, 1 (a DBPut each) when it has not. Asked by each window before its first
   * key (a window with nothing to write asks nothing), so a module loaded or unloaded since is seen
   * at the next sync.
   */
  async putBatch(link: number): Promise<number> {
    let action: PutAction = 'CallScreenDBPut';
    try {
      await this.deps.ami.action(action, { Family: this.family, Count: '0' });
    } catch (err) {
      if (!isUnknownAction(err)) throw err;
      action = 'DBPut';
    }
    this.check(link);
    if (action !== this.putAction)
      this.deps.logger.info(
        { putAction: action, was: this.putAction },
        action === 'DBPut'
          ? "AstDB mirror writes one DBPut a key (callscreen's Asterisk module is not loaded)"
          : `AstDB mirror writes up to ${PUT_BATCH_KEYS} keys an action (CallScreenDBPut, callscreen's Asterisk module)`,
      );
    this.putAction = action;
    return action === 'DBPut' ? 1 : PUT_BATCH_KEYS;
  }

  /** CallScreenDBPut of `<key> <value>` lines for PutWindow: `done(null)` once all are stored, `done(err)` if not. */
  putManyThen(lines: readonly string[], done: (err: unknown) => void): void {
    this.counters.puts += lines.length;
    this.counters.bulkPuts += lines.length;
    this.bulkAction('CallScreenDBPut', { Family: this.family, Count: String(lines.length), Put: lines }, done);
  }

  /** DBPut of F/<key>. */
  put(key: string, value: string): Promise<unknown> {
    this.counters.puts++;
    return this.deps.ami.action('DBPut', { Family: this.family, Key: key, Val: value });
  }

  /** DBPut of F/<key> for PutWindow: `done(null)` once stored, `done(err)` if not. */
  putThen(key: string, value: string, done: (err: unknown) => void): void {
    this.counters.puts++;
    this.bulkAction('DBPut', { Family: this.family, Key: key, Val: value }, done);
  }

  /** One of a sync's many actions: through the client's callback path when it has one (a promise fewer). */
  private bulkAction(name: PutAction, fields: AmiFields, done: (err: unknown) => void): void {
    const ami = this.deps.ami;
    if (ami.actionThen) ami.actionThen(name, fields, done, true);
    else
      ami.action(name, fields).then(() => {
        done(null);
      }, done);
  }

  /** DBDel; a key that is not there is not an error. */
  private async del(key: string): Promise<void> {
    this.counters.deletes++;
    await this.deps.ami.action('DBDel', { Family: this.family, Key: key }).catch(notFoundIsFine);
  }

  /** DBDelTree of F/<sub> (all of F when sub is empty); an empty tree is not an error. */
  private async delTree(sub: string): Promise<void> {
    this.counters.deletes++;
    await this.deps.ami
      .action('DBDelTree', { Family: sub === '' ? this.family : `${this.family}/${sub}` })
      .catch(notFoundIsFine);
  }

  private setState(next: MirrorState, extra: Record<string, unknown> = {}): void {
    const prev = this.state;
    if (prev === next) return;
    this.state = next;
    const level = next === 'idle' && prev !== 'stopped' ? 'warn' : 'info';
    this.deps.logger[level]({ from: prev, to: next, family: this.family, ...extra }, `AstDB mirror ${next}`);
  }
}

/**
 * Asterisk answers `Response: Error` for a key or tree that is not there: "Database entry could not be
 * deleted" (DBDel), "Database entry not found" (DBDelTree of an empty family).
 */
function notFoundIsFine(err: unknown): void {
  if (
    err instanceof CallscreenError &&
    err.code === 'CS_ERR_UNAVAILABLE' &&
    /not found|could not be deleted/i.test(err.message)
  )
    return;
  throw err;
}

/** What Asterisk answers an action no module registered: "Invalid/unknown command: <name>. Use Action: ListCommands…". */
function isUnknownAction(err: unknown): boolean {
  return err instanceof CallscreenError && err.code === 'CS_ERR_UNAVAILABLE' && /unknown command/i.test(err.message);
}

/** Whether two lists hold the same strings. */
function sameMembers(a: Iterable<string>, b: readonly string[]): boolean {
  const set = new Set(a);
  return set.size === new Set(b).size && b.every((x) => set.has(x));
}

/** The org's block prefixes that still match now or later: a miss under them is inconclusive. */
function blockPrefixes(state: OrgState, now: number): string[] {
  const out: string[] = [];
  for (const [prefix, entries] of state.prefixes) {
    if (entries.some((e) => e.list === 'block' && (e.expiresAt === null || e.expiresAt > now))) out.push(prefix);
  }
  return out;
}

/**
 * What no exclusion pattern can say: an allowlist-only DID turns away callers on no list, and a
 * pattern block (wildcards, ranges) is not written as a regex yet. Either makes every miss inconclusive.
 */
function opaqueRules(state: OrgState, now: number): boolean {
  if (state.allowlistOnly.size > 0) return true;
  for (const { entry: e } of state.patterns)
    if (e.list === 'block' && (e.expiresAt === null || e.expiresAt > now)) return true;
  return false;
}

/**
 * Up to `max` keys in flight on the one AMI connection: a sync of a million numbers is pipelined
 * actions instead of a million round trips, and warnings sent meanwhile wait behind at most `max`
 * keys' worth of actions. The first failure stops the sync.
 *
 * With callscreen's module loaded, keys go PUT_BATCH_KEYS to a CallScreenDBPut (AstdbMirror.putBatch,
 * asked before the first key); without, one DBPut each. A key with a space, or a line too long for
 * one AMI line, goes alone as a DBPut (which refuses an over-long value itself). Batched keys are sent
 * by the time drain() returns: every caller drains before it writes what must follow its keys (an
 * org's `complete`, the marker, `alive`).
 *
 * A full window is refilled only once half of it has been answered: the actions then leave in
 * batches of max/2 keys (one write each, ReconnectingLink.write) instead of a few per chunk of
 * responses, and Asterisk always has max/2 keys queued. One writer at a time (a sync is one job of
 * the queue).
 */
class PutWindow {
  private inFlight = 0;
  /** The writer waiting for room (or for the drain), and how few in flight wake it. */
  private wake: (() => void) | null = null;
  private wakeAt = 0;
  private readonly refillAt: number;
  private failure: Error | null = null;
  /** Keys an action (AstdbMirror.putBatch), asked before the first key; null until then. */
  private batch: number | null = null;
  /** `<key> <value>` lines not sent yet (batch > 1). */
  private lines: string[] = [];
  private readonly onSettled = (err: unknown): void => {
    this.settled(err, 1);
  };

  constructor(
    private readonly mirror: AstdbMirror,
    private readonly max: number,
    private readonly link: number,
  ) {
    this.refillAt = Math.floor(max / 2);
  }

  check(): void {
    if (this.failure !== null) throw this.failure;
    this.mirror.check(this.link);
  }

  /**
   * Sends the put at once (or adds it to the batch) when there is room and returns undefined;
   * otherwise returns a promise that does so once the window has room again. Throws (or rejects) on
   * an earlier failure or a lost link.
   */
  put(key: string, value: string): Promise<void> | undefined {
    if (this.batch === null) return this.putFirst(key, value);
    if (this.inFlight >= this.max) return this.putLater(key, value);
    this.check();
    this.send(key, value);
    return undefined;
  }

  /** Sends what is batched and waits for every answer. */
  async drain(): Promise<void> {
    this.check();
    this.flush();
    if (this.inFlight > 0) await this.until(0);
    this.check();
  }

  private async putFirst(key: string, value: string): Promise<void> {
    this.check();
    this.batch = await this.mirror.putBatch(this.link);
    this.check();
    this.send(key, value);
  }

  private async putLater(key: string, value: string): Promise<void> {
    await this.until(this.refillAt);
    this.check();
    this.send(key, value);
  }

  private until(inFlight: number): Promise<void> {
    return new Promise<void>((resolve) => {
      this.wake = resolve;
      this.wakeAt = inFlight;
    });
  }

  private send(key: string, value: string): void {
    if (this.batch !== null && this.batch > 1 && !key.includes(' ')) {
      const line = `${key} ${value}`;
      // One line of CallScreenDBPut must fit one AMI line; a longer one goes alone as a DBPut.
      if (!overlongLine('Put', line)) {
        this.lines.push(line);
        if (this.lines.length >= this.batch) this.flush();
        return;
      }
    }
    this.inFlight++;
    this.mirror.putThen(key, value, this.onSettled);
  }

  private flush(): void {
    const lines = this.lines;
    if (lines.length === 0) return;
    this.lines = [];
    this.inFlight += lines.length;
    this.mirror.putManyThen(lines, (err) => {
      this.settled(err, lines.length);
    });
  }

  private settled(err: unknown, keys: number): void {
    if (err !== null) this.failure ??= err instanceof Error ? err : new Error(inspect(err));
    this.inFlight -= keys;
    // A failure wakes the writer at once: it stops at its next check().
    if (this.wake !== null && (this.inFlight <= this.wakeAt || this.failure !== null)) {
      const wake = this.wake;
      this.wake = null;
      wake();
    }
  }
}

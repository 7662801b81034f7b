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
 *                         the dialplan splits it with MSet, on commas);
 *   F/complete/<org>      present when a bare E.164 caller not under n/<org> is allowed unless it matches
 *                         this POSIX regex (the exclusions: the org's block prefixes and its numbers
 *                         whose verdict depends on time, `^[+](1900|15557770009$)`; `^-`, which no
 *                         caller ID matches, when there are none). A caller matching it goes to FastAGI.
 *                         National forms (astdb-mirror-forms.ts): n/<org>/ also holds each national
 *                         form the daemon reads as a listed number (`5557770001`, `15557770001`),
 *                         and the pattern excludes every digit string the region's plain rules do
 *                         not read, and the exclusions' and own DIDs' national forms.
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
 */
import { inspect } from 'node:util';
import type { Logger } from 'pino';
import type { Clock, Scheduler } from '../../core/clock.js';
import { CallscreenError } from '../../core/errors.js';
import type { EntryView } from '../../core/entry.js';
import type { ScreenRequest } from '../../core/screen-request.js';
import type { Verdict } from '../../core/verdict.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import type { AdapterScreener } from '../../services/screener.js';
import type { Screened } from '../../services/screening-service.js';
import type { AppliedChange } from '../../store/change-feed.js';
import type { OrgState, ScreeningIndex } from '../../store/screening-index.js';
import { mirrorValueOf } from './astdb-mirror-value.js';
import type { AmiActions, AmiEvent, AmiEventSource } from './ami-client.js';
import type { LinkState } from '../../net/reconnecting-link.js';
import { field } from './ami-protocol.js';
import type { NationalPlan, NumberNormalizer } from '../../core/phone-number.js';
import { ANY_NATIONAL, nationalPrefixAlternatives, unsupportedNationalForms } from './astdb-mirror-forms.js';

export type MirrorState = 'idle' | 'syncing' | 'live' | 'stopped';

export interface AstdbMirrorOptions {
  /** AstDB family owned by the mirror (default `callscreen`). */
  readonly family: string;
  /** The dialplan stops trusting the mirror this long after the last heartbeat (ms, default 15000). */
  readonly aliveTtlMs: number;
  /** DBPut actions in flight at once during a sync (default 256). */
  readonly window: number;
  /** After a failed sync, the next try (ms, default 5000). */
  readonly retryMs?: number;
  /** Exact entries read per page during a sync (default 5000). */
  readonly pageSize?: number;
  /**
   * Write F/did/<DID> (fastagi.org_from = did). Other org_from modes give the dialplan no way to
   * name the org, so no DID is written and every call goes to FastAGI as before.
   */
  readonly writeDids: boolean;
  /**
   * The caller-ID forms the trunk presents (`astdb_caller_forms`, default all three): each listed
   * number is written under each; callers in a form left out go to FastAGI.
   */
  readonly callerForms?: readonly CallerForm[];
}

/** `+15551234567`, `5551234567`, `15551234567` (region US). */
export type CallerForm = 'e164' | 'national' | 'trunk';

export interface AstdbMirrorDeps {
  readonly ami: AmiActions &
    AmiEventSource & { readonly currentState: LinkState; onState(l: (s: LinkState) => void): () => void };
  readonly index: Pick<
    ScreeningIndex,
    'orgs' | 'orgById' | 'lookup' | 'matchesWith' | 'exactEntriesAfter' | 'contactNumbers'
  >;
  readonly feed: { onApplied(l: (c: AppliedChange) => void): () => void };
  readonly screener: AdapterScreener;
  /** The daemon's reading of caller IDs without "+" (the org's region): which national forms to write. */
  readonly normalizer: Pick<NumberNormalizer, 'nationalPlan' | 'nationalForms' | 'nationalFormsByKind'>;
  readonly clock: Clock;
  readonly timers: Scheduler;
  readonly logger: Logger;
  /** Told of each call the mirror answered, like ScreeningService.record's observer (the flood detector). */
  readonly observe?: (s: Screened) => void;
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
  /** How the org's region reads national caller IDs; null: they all go to FastAGI. */
  national: NationalPlan | null;
  region: string;
  /** The org's own DIDs (E.164): their national forms go to FastAGI (the dialplan's did/ check is E.164 only). */
  ownDids: readonly string[];
  /**
   * False when the org reads carrier stand-ins as unidentified (standins-unidentified): the daemon
   * then screens a stand-in caller ID (site-wide, reloadable `screening.anonymous_standins`, matched
   * by digits in any form) as withheld, which the mirror does not know; nothing of the org is
   * written, so its calls go to FastAGI.
   */
  mirrored: boolean;
}

/**
 * Longest exclusion pattern written (characters, default 2000). The dialplan substitutes it into an
 * expression, and Asterisk substitutes in fixed buffers of 4 KB (VAR_BUF_SIZE); past this the org is
 * left incomplete (unlisted callers go to FastAGI), which is always safe.
 */
const MAX_EXCLUSION_CHARS = 2000;

/** How a region reads national caller IDs, for the exclusion pattern (astdb-mirror-forms.ts). */
export interface NationalReading {
  readonly plan: NationalPlan;
  /** The caller IDs without "+" read as this E.164 number (NumberNormalizer.nationalForms). */
  forms(e164: string): readonly string[];
}

/**
 * The `complete/<org>` value: a POSIX extended regex matching the callers a miss under `n/<org>`
 * says nothing about — under a block prefix, a number whose verdict depends on time, and (for
 * caller IDs without "+") one of the org's own DIDs or a digit string the region's plain rules do
 * not read (`national` null: every such caller). Null when it cannot be written (too long, or a
 * value that is not `+digits`): then no miss is conclusive.
 */
export function exclusionPattern(
  prefixes: Iterable<string>,
  numbers: Iterable<string>,
  national: NationalReading | null = null,
  ownDids: Iterable<string> = [],
  forms: ReadonlySet<CallerForm> = ALL_FORMS,
): string | null {
  const e164: string[] = [];
  const nat = new Set<string>(national === null ? [ANY_NATIONAL] : unsupportedNationalForms(national.plan));
  // Forms the mirror does not write keys under: a listed caller in them would be a miss.
  const trunk = national?.plan.trunk ?? null;
  if (!forms.has('e164')) nat.add('[+]');
  if (!forms.has('national')) nat.add(trunk === null ? ANY_NATIONAL : `[${'0123456789'.replace(trunk, '')}]`);
  if (!forms.has('trunk') && trunk !== null) nat.add(trunk);
  for (const p of prefixes) {
    if (!/^\+\d+$/.test(p)) return null;
    e164.push(p.slice(1));
    if (national !== null) for (const a of nationalPrefixAlternatives(p.slice(1), national.plan)) nat.add(a);
  }
  for (const n of numbers) {
    if (!/^\+\d+$/.test(n)) return null;
    e164.push(`${n.slice(1)}$`);
    if (national !== null) for (const f of national.forms(n)) nat.add(`${f}$`);
  }
  if (national !== null) for (const d of ownDids) for (const f of national.forms(d)) nat.add(`${f}$`);
  // Callers without "+" are all excluded when any is: no need to list them one by one.
  const natAlts = nat.has(ANY_NATIONAL) ? [ANY_NATIONAL] : [...nat];
  const alternatives = [...(e164.length > 0 ? [`[+](${e164.sort().join('|')})`] : []), ...natAlts.sort()];
  const pattern = `^(${alternatives.join('|')})`;
  return pattern.length <= MAX_EXCLUSION_CHARS ? pattern : null;
}

const ALL_FORMS: ReadonlySet<CallerForm> = new Set(['e164', 'national', 'trunk']);

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
    deletes: 0,
    heartbeats: 0,
    calls: 0,
    disagreements: 0,
    lastSyncMs: 0,
  };
  private readonly retryMs: number;
  private readonly pageSize: number;
  private readonly family: string;
  private readonly forms: ReadonlySet<CallerForm>;

  constructor(
    private readonly options: AstdbMirrorOptions,
    private readonly deps: AstdbMirrorDeps,
  ) {
    this.retryMs = options.retryMs ?? 5000;
    this.pageSize = options.pageSize ?? 5000;
    this.family = options.family;
    this.forms = new Set(options.callerForms ?? ALL_FORMS);
  }

  start(): Promise<void> {
    if (this.state === 'stopped') this.state = 'idle';
    this.unsubscribe.push(
      this.deps.ami.onState((s) => this.onAmiState(s)),
      this.deps.ami.onEvent((e) => this.onEvent(e)),
      this.deps.feed.onApplied((c) => this.onChange(c)),
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
      detail: { ...this.counters, lastError: this.lastError },
    };
  }

  /** Resolves when the work queued so far is done (tests, and `sync` callers that must wait). */
  idle(): Promise<void> {
    return this.work.catch(() => undefined);
  }

  // ------------------------------------------------------------------ link and changes

  private onAmiState(s: LinkState): void {
    if (this.state === 'stopped') return;
    if (s === 'connected') {
      this.link++;
      this.queue('full sync', (link) => this.fullSync(link));
    } else if (this.state !== 'idle') {
      // Asterisk may have restarted or the list changed meanwhile: a full sync on the next link.
      this.link++;
      this.clearTimers();
      this.setState('idle', { ami: s });
    }
  }

  private onChange(c: AppliedChange): void {
    // Not live and not syncing: the next full sync reads the list as it is then.
    if (this.state !== 'live' && this.state !== 'syncing') return;
    if (c.kind === 'all') this.queue('full sync', (link) => this.fullSync(link));
    else if (c.kind === 'org') this.queue('org sync', (link) => this.syncOrg(link, c.orgId));
    else this.queue('number sync', (link) => this.syncNumbers(link, c.orgId, c.numbers));
  }

  /** Jobs run one at a time, in order, each bound to the AMI link it was queued on. */
  private queue(what: string, job: (link: number) => Promise<void>): void {
    const link = this.link;
    this.work = this.work
      .then(async () => {
        if (link !== this.link || this.state === 'stopped') return;
        try {
          await job(link);
        } catch (err) {
          this.fail(what, link, err);
        }
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
      'AstDB mirror update failed; calls go through FastAGI until a full sync succeeds',
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

  private async fullSync(link: number): Promise<void> {
    const t0 = this.deps.clock.now();
    this.setState('syncing');
    this.clearTimers();
    await this.del('alive');
    await this.delTree('');
    this.orgs.clear();
    const window = new PutWindow(this, this.options.window, link);
    for (const state of this.deps.index.orgs()) await this.writeOrg(window, state);
    await window.drain();
    this.check(link);
    await this.heartbeat(link);
    this.counters.syncs++;
    this.counters.lastSyncMs = this.deps.clock.now() - t0;
    this.setState('live', { orgs: this.orgs.size, ms: this.counters.lastSyncMs });
  }

  /** An org's settings, DIDs, prefixes or contacts changed (or a bulk import): rewrite that org. */
  private async syncOrg(link: number, orgId: number): Promise<void> {
    const old = this.orgs.get(orgId);
    const state = this.deps.index.orgById(orgId);
    if (old) {
      await this.del(`complete/${old.slug}`);
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
      const v = mirrorValueOf(
        n,
        await this.deps.index.lookup(state, { kind: 'number', value: n }),
        state.org.policy,
        now,
      );
      if (v.kind === 'unsure') org.unsure.add(n);
      else org.unsure.delete(n);
      // Completeness goes first when it narrows (a new exclusion), last when it widens.
      const next = this.completeValue(org);
      if (org.complete !== null && org.complete !== next) await this.setComplete(org, null);
      for (const key of this.keysOf(org, n)) {
        if (v.kind === 'put') await this.put(key, v.value);
        else await this.del(key);
      }
    }
    const next = this.completeValue(org);
    if (next !== null && org.complete !== next) await this.setComplete(org, next);
  }

  private async writeOrg(window: PutWindow, state: OrgState): Promise<void> {
    const slug = state.org.slug;
    const now = this.deps.clock.now();
    const region = state.org.policy.region;
    const org: OrgMirror = {
      slug,
      dids: new Set(this.options.writeDids ? state.dids : []),
      unsure: new Set(),
      prefixes: blockPrefixes(state, now),
      headerRules: state.org.policy.attestationFailed !== 'allow' || opaqueRules(state, now),
      complete: null,
      national: this.deps.normalizer.nationalPlan(region),
      region,
      ownDids: [...state.dids],
      mirrored: !state.org.policy.standinsUnidentified,
    };
    this.orgs.set(state.org.id, org);
    const policy = state.org.policy;
    const contacts = new Set(await this.deps.index.contactNumbers(state.org.id));
    const write = async (n: string, exact: readonly EntryView[] | null): Promise<void> => {
      const matches =
        exact === null
          ? await this.deps.index.lookup(state, { kind: 'number', value: n })
          : this.deps.index.matchesWith(state, n, exact);
      const v = mirrorValueOf(n, matches, policy, now);
      if (v.kind === 'unsure') org.unsure.add(n);
      else if (v.kind === 'put') for (const key of this.keysOf(org, n)) await window.put(key, v.value);
    };
    let after = '';
    for (;;) {
      window.check();
      const page = await this.deps.index.exactEntriesAfter(state.org.id, after, this.pageSize);
      const lastEntry = page.at(-1);
      if (lastEntry === undefined) break;
      // A number's entries may straddle two pages: a full page's last number is read again whole.
      const full = page.length === this.pageSize;
      const last = lastEntry.value;
      let i = 0;
      for (let entry = page[0]; entry !== undefined; entry = page[i]) {
        const n = entry.value;
        let j = i;
        while (page[j]?.value === n) j++;
        if (full && n === last) break;
        // Numbers of contacts are written below with their contact entries.
        if (!contacts.has(n)) await write(n, page.slice(i, j));
        after = n;
        i = j;
      }
      if (!full) break;
      if (i === 0) {
        // One number filled the whole page: read it alone.
        if (!contacts.has(last)) await write(last, null);
        after = last;
      }
    }
    for (const n of contacts) await write(n, null);
    for (const d of org.dids) await window.put(`did/${d}`, slug);
    await window.drain();
    const complete = this.completeValue(org);
    if (complete !== null) await this.setComplete(org, complete);
  }

  /**
   * `n/<org>/<number>` and the same under each national form the daemon reads as that number
   * (`5551234567`, `15551234567` for +15551234567 in region US): one key per form a trunk may send.
   */
  private keysOf(org: OrgMirror, n: string): string[] {
    if (!org.mirrored) return [];
    const keys = this.forms.has('e164') || !n.startsWith('+') ? [`n/${org.slug}/${n}`] : [];
    // Every form is the normaliser's own reading, so it is written whether or not the region's plain
    // rules can be stated for the exclusion pattern (GB's cannot: a miss there still goes to FastAGI).
    if (n.startsWith('+'))
      for (const f of this.deps.normalizer.nationalFormsByKind(n, org.region))
        if (this.forms.has(f.kind)) keys.push(`n/${org.slug}/${f.form}`);
    return keys;
  }

  private completeValue(org: OrgMirror): string | null {
    if (org.headerRules || !org.mirrored) return null;
    const plan = org.national;
    const national =
      plan === null ? null : { plan, forms: (e164: string) => this.deps.normalizer.nationalForms(e164, org.region) };
    return exclusionPattern(org.prefixes, org.unsure, national, org.ownDids, this.forms);
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

  /** DBPut of F/<key> (also used by PutWindow). */
  put(key: string, value: string): Promise<unknown> {
    this.counters.puts++;
    return this.deps.ami.action('DBPut', { Family: this.family, Key: key, Val: value });
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
 * Up to `max` DBPut actions in flight on the one AMI connection: a sync of a million numbers is
 * ~10 s of pipelined actions instead of a million round trips, and warnings sent meanwhile wait behind
 * at most `max` responses. The first failure stops the sync.
 */
class PutWindow {
  private inFlight = 0;
  private readonly waiting: Array<() => void> = [];
  private failure: Error | null = null;

  constructor(
    private readonly mirror: AstdbMirror,
    private readonly max: number,
    private readonly link: number,
  ) {}

  check(): void {
    if (this.failure !== null) throw this.failure;
    this.mirror.check(this.link);
  }

  async put(key: string, value: string): Promise<void> {
    while (this.inFlight >= this.max) await new Promise<void>((r) => this.waiting.push(r));
    this.check();
    this.inFlight++;
    this.mirror.put(key, value).then(
      () => this.done(),
      (err: unknown) => {
        this.failure ??= err instanceof Error ? err : new Error(inspect(err));
        this.done();
      },
    );
  }

  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise<void>((r) => this.waiting.push(r));
    this.check();
  }

  private done(): void {
    this.inFlight--;
    this.waiting.shift()?.();
  }
}

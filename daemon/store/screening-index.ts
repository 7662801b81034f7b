/**
 * The in-memory side of the blocklist, kept in step with SQLite by the change feed.
 *
 * Per organisation it holds: settings, DIDs, emergency numbers, prefix and unidentified entries
 * (few, all in memory), and a NumberKeyMap of every number that has an exact entry or belongs to a
 * blocked contact, with what a verdict needs of its entry (id, block/allow, mode, expiry). So every
 * verdict is answered from memory, synchronously (`lookupSync`), listed number or not, cached or
 * not: the call path never waits on SQLite, nor on the libuv thread pool SQLite shares with scrypt
 * and file I/O, nor on an import holding the write lock (issue #13).
 *
 *   - a number on no list (most callers, and every spoofed robocall) → answered from the key map;
 *   - a listed number with one exact entry → answered from the key map's summary; its name and
 *     reason (text only: they never change the action) come from an LRU of full entries, which a
 *     background read fills after the first call that missed it;
 *   - a number with several entries, or on a blocked contact (few: contacts are entered by hand) →
 *     full entries kept in memory (`OrgState.complex`).
 */
import { LRUCache } from 'lru-cache';
import type { Matches, Protection } from '../core/decide.js';
import { emergencyNumbers } from '../core/emergency-numbers.js';
import type { BlockMode, EntryView } from '../core/entry.js';
import { compilePattern, narrowestFirst, prefixBreadth, type CompiledPattern } from '../core/number-pattern.js';
import { PatternSet } from '../core/pattern-set.js';
import type { ParsedCaller } from '../core/phone-number.js';
import { backgroundScheduler, type Scheduler } from '../core/clock.js';
import type { Database, PreparedStatement } from './database.js';
import { ABSENT, NumberKeyMap, numberKey } from './number-key-map.js';
import { toEntryView, toOrg, type EntryRow, type Org, type OrgRow } from './rows.js';

export interface OrgState {
  readonly org: Org;
  readonly dids: ReadonlySet<string>;
  readonly emergency: ReadonlySet<string>;
  /**
   * Every listed number (numberKey) → a summary of its one exact entry (`summaryOf`), or COMPLEX
   * when its entries are in `complex`. Extra: the entry's expiry (epoch ms, 0 = never).
   */
  keys: NumberKeyMap;
  /** Full entries of numbers with more than one entry or on a blocked contact, by numberKey. */
  complex: Map<number, readonly EntryView[]>;
  /** prefix → entries (block and allow) on exactly that prefix. */
  prefixes: Map<string, EntryView[]>;
  /** Distinct prefix lengths, longest first, so a lookup tries only lengths that exist. */
  prefixLengths: number[];
  /** Pattern entries (wildcards, ranges), in load order. */
  patterns: PatternEntry[];
  /**
   * The same, filed by their lead (core/pattern-set.ts): a lookup walks the number's digits once
   * and tests only patterns whose lead it has. Slicing the number at each lead length and hashing
   * each slice, as prefixes do, cost ~40 % of a verdict with 80 patterns of 8 lead lengths. null
   * when the org has no patterns.
   */
  patternSet: PatternSet<EntryView> | null;
  unidentified: EntryView[];
  /** The org's allowlist-only DIDs (E.164) → what callers who are not allowed get. */
  allowlistOnly: ReadonlyMap<string, BlockMode>;
  /** Every number of the org's contacts (ring on an allowlist-only DID); loaded only when there is one. */
  contactNumbers: Set<string>;
  /**
   * Whether any verdict of this org can depend on the DID called (an entry scoped to DIDs, an
   * allowlist-only DID): only then does the screener read the DID. Set by loads, never unset
   * between them (a false true costs one parse per call, a false false a wrong verdict).
   */
  didScoped: boolean;
  /**
   * Whether any prefix or pattern entry of the org is an allow entry. When none is, a number whose
   * one exact entry is an enforced whole-org block is decided by it, whatever prefixes and patterns
   * it matches (decide: allow > exact > prefix and pattern), and the call path skips them.
   */
  allowRules: boolean;
  /** The DID text adapters send (`to`) → what a verdict needs of it, for didScoped orgs. Bounded. */
  didForms: Map<string, DidCall>;
  /**
   * The last `to` read and its DidCall: a site's calls mostly go to one DID, and comparing the text
   * costs less than hashing it into didForms (~half of didOf's time). '' = none yet.
   */
  lastDidText: string;
  lastDid: DidCall;
  /** Bumped when the key set is rebuilt wholesale (and the org's LRU replaced). */
  generation: number;
  /**
   * Full entries (with name and reason) of this org's listed numbers seen recently, keyed by
   * numberKey. Only text comes from here: the action is already known from `keys`. One LRU per
   * organisation, keyed by a number: a single LRU keyed by `org.generation|+1555…` built and hashed a
   * fresh string on every verdict (~0.3 µs of ~2.5 µs). The bound (cacheMax) is per organisation.
   */
  cache: LRUCache<number, readonly EntryView[]>;
}

export interface ScreeningIndexOptions {
  /** Listed numbers whose full entries (name, reason) are cached, per organisation (default 100,000). */
  readonly cacheMax?: number;
  /**
   * Numbers waiting for or in a background read of their full entries, at most (default 64). Beyond
   * it a listed number's verdict simply carries no name: a flood of uncached listed callers cannot
   * queue reads without bound (they share the thread pool with everything else).
   */
  readonly maxWarming?: number;
  /**
   * Background reads are gathered for this long (ms, default 250) and made in one statement, up to
   * maxWarming numbers: one read per uncached listed caller was a thread-pool round trip each, a
   * large share of the daemon's CPU per call with the AstDB mirror (BENCHMARKS.md, "The daemon's
   * CPU per mirror-answered call"), and so was a batch every 25 ms (the earlier default; "Fewer,
   * larger background reads"). A number called again within the window is answered from its
   * summary again: its action and rule never wait on this, only its name and reason. 0: each number
   * is read on its own at once.
   */
  readonly warmBatchMs?: number;
  /** Timers of the batched reads (default: unref'd system timers; tests pass their own). */
  readonly timers?: Scheduler;
}

/** The default window (ms) background reads are gathered for (ScreeningIndexOptions.warmBatchMs). */
export const WARM_BATCH_MS = 250;

/** A number whose entries are in `OrgState.complex` rather than summarised in the key map. */
const COMPLEX = -1;
const ALLOW_BIT = 1;
const VOICEMAIL_BIT = 2;

/** The key map's summary of a number's single exact entry: id × 4 + allow bit + voicemail bit. */
export function summaryOf(e: Pick<EntryView, 'id' | 'list' | 'mode'>): number {
  return e.id * 4 + (e.list === 'allow' ? ALLOW_BIT : 0) + (e.mode === 'voicemail' ? VOICEMAIL_BIT : 0);
}

/** The entry a summary stands for, without name and reason. */
function entryOfSummary(meta: number, value: string, expiry: number): EntryView {
  const flags = meta % 4;
  return {
    id: (meta - flags) / 4,
    list: (flags & ALLOW_BIT) !== 0 ? 'allow' : 'block',
    kind: 'exact',
    value,
    mode: (flags & VOICEMAIL_BIT) !== 0 ? 'voicemail' : 'reject',
    name: '',
    reason: '',
    expiresAt: expiry === 0 ? null : expiry,
    observe: false,
    dids: null,
    breadth: 0,
  };
}

const NO_ENTRIES: readonly EntryView[] = Object.freeze([]);

/**
 * The DID a call was sent to, as a verdict needs it: its E.164 form and its allowlist-only mode,
 * found with one map lookup per call (`didOf`). An org reload builds a new map, so a changed mode
 * is never read stale.
 */
export interface DidCall {
  /** E.164; null when the text is not a number. */
  readonly did: string | null;
  readonly allowlistOnly: BlockMode | null;
}

const NO_DID: DidCall = Object.freeze({ did: null, allowlistOnly: null });

/** A pattern entry and its compiled form. */
export interface PatternEntry {
  readonly pattern: CompiledPattern;
  readonly entry: EntryView;
}

/** An exact entry the key map can summarise: enforced, whole-org (else its full entries are kept). */
function isPlain(e: EntryView): boolean {
  // "Only when attested" (#16) needs the caller's attestation, which the summary cannot hold either.
  return (
    e.kind === 'exact' &&
    e.observe !== true &&
    e.requireAttestation !== true &&
    (e.dids === undefined || e.dids === null || e.dids.length === 0)
  );
}

/** A number's exact entries, then blocks of the contacts it belongs to (also `callscreen check`'s). */
export const NUMBER_ENTRIES_SQL = `
SELECT * FROM entries WHERE org_id = ?1 AND value = ?2 AND kind = 'exact' AND removed_at IS NULL AND disabled_at IS NULL
UNION ALL
SELECT e.* FROM contact_numbers cn
  JOIN contacts c ON c.id = cn.contact_id
  JOIN entries e ON e.contact_id = cn.contact_id AND e.kind = 'contact' AND e.removed_at IS NULL AND e.disabled_at IS NULL
  WHERE cn.number = ?2 AND c.org_id = ?1`;

/**
 * The statement size a batch of `n` numbers is read with: the next power of two, so a window of any
 * size compiles at most log2(maxWarming) + 1 statements (each is kept, and one per `n` up to 64
 * would be 64 compiled plans of up to 128 parameters).
 */
export function batchSize(n: number): number {
  let k = 1;
  while (k < n) k *= 2;
  return k;
}

/**
 * NUMBER_ENTRIES_SQL for `k` numbers at once (?2 … ?k+1), each row tagged with the number it was
 * read for (`warm_number`); per number, rows come in NUMBER_ENTRIES_SQL's order. Written with `IN`
 * in NUMBER_ENTRIES_SQL's shape, not a join with a VALUES list: the sqlite3 module's SQLite (3.52)
 * planned that join as a scan of every entry of the org (~6 ms a number at 100,000 entries).
 */
export function numbersEntriesSql(k: number): string {
  const list = Array.from({ length: k }, (_, i) => `?${i + 2}`).join(', ');
  return `
SELECT value AS warm_number, * FROM entries WHERE org_id = ?1 AND value IN (${list}) AND kind = 'exact' AND removed_at IS NULL AND disabled_at IS NULL
UNION ALL
SELECT cn.number AS warm_number, e.* FROM contact_numbers cn
  JOIN contacts c ON c.id = cn.contact_id
  JOIN entries e ON e.contact_id = cn.contact_id AND e.kind = 'contact' AND e.removed_at IS NULL AND e.disabled_at IS NULL
  WHERE cn.number IN (${list}) AND c.org_id = ?1`;
}

/**
 * One page of an org's exact entries in index order (entries_active: org_id, value, kind, list), as
 * one comma-joined string of `value:summary:expiry` triples. Loading 1,000,000 numbers with
 * node-sqlite3's `each` queued every row as a JS object faster than they were consumed: ~300 MB RSS
 * and twice the time of these pages. `value >= ?2`, not `>`: a number can have two exact entries
 * (block and allow) and a page may end between them; rows already read are skipped in JS.
 */
const KEYS_PAGE_SQL = `
SELECT count(*) AS c, group_concat(t, ',') AS v FROM (
  SELECT value || ':' || (id * 4 + (list = 'allow') + 2 * (mode = 'voicemail')) || ':' || ifnull(expires_at, 0) AS t
  FROM entries WHERE org_id = ?1 AND value >= ?2 AND kind = 'exact' AND removed_at IS NULL
    AND disabled_at IS NULL AND observe_since IS NULL AND dids = ''
  ORDER BY value, list LIMIT ?3)`;
/** Rows per page (~10 ms of parsing on the event loop that answers calls; 50 pages for 1M). */
const KEYS_PAGE = 20_000;

const CONTACT_KEYS_SQL = `
SELECT cn.number AS n FROM entries e JOIN contact_numbers cn ON cn.contact_id = e.contact_id
  WHERE e.org_id = ?1 AND e.kind = 'contact' AND e.removed_at IS NULL AND e.disabled_at IS NULL`;

/** Numbers whose exact entries the key map cannot summarise (observe mode, scoped to DIDs). */
const SPECIAL_KEYS_SQL = `
SELECT DISTINCT value AS n, max(dids <> '') AS scoped FROM entries
  WHERE org_id = ?1 AND kind = 'exact' AND removed_at IS NULL AND disabled_at IS NULL AND (observe_since IS NOT NULL OR dids <> '')
  GROUP BY value`;

export class ScreeningIndex {
  private readonly bySlug = new Map<string, OrgState>();
  private readonly byId = new Map<number, OrgState>();
  private readonly byDid = new Map<string, OrgState>();
  private readonly cacheMax: number;
  /** Incremented on every applied change; a fetch that raced a change is not cached. */
  private epoch = 0;
  /** Source of OrgState.generation values; never reused. */
  private generations = 0;
  private readonly maxWarming: number;
  /** Listed numbers answered with their full entries from memory (the LRU, or complex keys). */
  private cacheHits = 0;
  /**
   * Listed numbers whose full entries were not in memory: answered from the key map's summary
   * (lookupSync) or read from SQLite first (lookup). One lookup counts one hit or one miss, never
   * both and never twice, so callscreen_cache_hit_ratio is hits / (hits + misses) of lookups.
   */
  private cacheMisses = 0;
  /** Numbers on no list. */
  private keyMisses = 0;
  /** Background reads that failed (the database unreadable): verdicts went on from memory. */
  private warmFailures = 0;
  /** `${orgId}:${number}` of the background reads in flight. */
  private readonly warming = new Set<string>();
  private readonly warmReads = new Set<Promise<void>>();
  private numberStmt: Promise<PreparedStatement> | null = null;
  /** numbersEntriesSql(k) compiled, by k: powers of two up to maxWarming (batchSize). */
  private readonly batchStmts = new Map<number, Promise<PreparedStatement>>();
  private readonly warmBatchMs: number;
  private readonly timers: Scheduler;
  /** The numbers waiting for the next batched read, by org id; `flush` reads them all. */
  private gathering: {
    byOrg: Map<number, { state: OrgState; numbers: string[] }>;
    size: number;
    flush: () => void;
  } | null = null;

  constructor(
    private readonly db: Database,
    options: ScreeningIndexOptions = {},
  ) {
    this.cacheMax = options.cacheMax ?? 100_000;
    this.maxWarming = options.maxWarming ?? 64;
    this.warmBatchMs = options.warmBatchMs ?? WARM_BATCH_MS;
    this.timers = options.timers ?? backgroundScheduler;
  }

  async loadAll(): Promise<void> {
    const rows = await this.db.all<OrgRow>('SELECT * FROM orgs ORDER BY id');
    for (const row of rows) this.installOrg(await this.buildOrg(row));
  }

  org(slug: string): OrgState | undefined {
    return this.bySlug.get(slug);
  }

  orgById(id: number): OrgState | undefined {
    return this.byId.get(id);
  }

  /** The organisation that owns an inbound number (DID), by its E.164 form. */
  orgForDid(e164: string): OrgState | undefined {
    return this.byDid.get(e164);
  }

  orgs(): OrgState[] {
    return [...this.byId.values()];
  }

  /**
   * What matches, from memory alone: never waits, never fails for want of the database. A listed
   * number whose full entries are not cached is answered from its summary (same action, rule and
   * expiry; no name or reason) and its full entries are read in the background for the next call.
   */
  lookupSync(state: OrgState, subject: ParsedCaller, call: DidCall | null = null, forVerdict = false): Matches {
    const only = call === null ? null : call.allowlistOnly;
    if (subject.kind === 'unidentified') {
      return {
        exact: NO_ENTRIES,
        prefixes: NO_ENTRIES,
        unidentified: state.unidentified,
        protection: null,
        allowlistOnly: only,
        contact: false,
      };
    }
    const n = subject.value;
    const protection = this.protection(state, n);
    let exact: readonly EntryView[] = NO_ENTRIES;
    const key = numberKey(n);
    const meta = state.keys.get(key);
    // `forVerdict` (the call path's screenSync): prefixes and patterns are not looked up when they
    // cannot change the verdict: the number's one exact entry (a summary: enforced, every DID) is a
    // block that never expires (extra 0) and the org has no allow prefix or pattern that could beat
    // it. Replays (what-if) take every match: they take entries away before deciding.
    const decided =
      forVerdict && meta >= 0 && ((meta % 4) & ALLOW_BIT) === 0 && !state.allowRules && state.keys.extra() === 0;
    if (meta === COMPLEX) {
      this.cacheHits++;
      exact = state.complex.get(key) ?? NO_ENTRIES;
    } else if (meta !== ABSENT) {
      const cached = state.cache.get(key);
      if (cached !== undefined) {
        this.cacheHits++;
        exact = cached;
      } else {
        this.cacheMisses++;
        exact = [entryOfSummary(meta, n, state.keys.extra())];
        this.warm(state, n);
      }
    } else {
      this.keyMisses++;
    }
    return {
      exact,
      prefixes: decided ? NO_ENTRIES : this.prefixMatches(state, n),
      unidentified: state.unidentified,
      protection,
      allowlistOnly: only,
      contact: only !== null && state.contactNumbers.has(n),
    };
  }

  /**
   * The E.164 form of the DID an inbound request was sent to, for orgs whose verdicts depend on it
   * (`didScoped`); null otherwise. `parse` reads it with the org's region on first sight only.
   */
  didOf(state: OrgState, to: string, parse: (raw: string, region: string) => string): DidCall | null {
    if (!state.didScoped) return null;
    if (to === state.lastDidText) return state.lastDid;
    let d = state.didForms.get(to);
    if (d === undefined) {
      const did = parse(to, state.org.policy.region);
      d = did === '' ? NO_DID : Object.freeze({ did, allowlistOnly: state.allowlistOnly.get(did) ?? null });
      // Adapters send the few DIDs of a site, in one or two forms each: 1,024 is generous.
      if (state.didForms.size >= 1024) state.didForms.clear();
      state.didForms.set(to, d);
    }
    state.lastDidText = to;
    state.lastDid = d;
    return d;
  }

  /**
   * Like `lookupSync`, but waits for a listed number's full entries (name, reason) when they are not
   * cached. For `callscreen check`, the panel's pre-dial check and agent warnings — never the call
   * path. The action is the same as `lookupSync`'s.
   */
  async lookup(state: OrgState, subject: ParsedCaller, call: DidCall | null = null): Promise<Matches> {
    if (subject.kind === 'number') {
      const key = numberKey(subject.value);
      const meta = state.keys.get(key);
      if (meta !== ABSENT && meta !== COMPLEX && !state.cache.has(key)) {
        // The entries read, not the cache: a read that raced a change answers as of when it asked.
        // Counted here and only here for this path: lookupSync is not reached below.
        this.cacheMisses++;
        const n = subject.value;
        const exact = await this.fetchNumber(state, n);
        const only = call === null ? null : call.allowlistOnly;
        return {
          exact,
          prefixes: this.prefixMatches(state, n),
          unidentified: state.unidentified,
          protection: this.protection(state, n),
          allowlistOnly: only,
          contact: only !== null && state.contactNumbers.has(n),
        };
      }
    }
    return this.lookupSync(state, subject, call);
  }

  /**
   * Matches of a number whose exact entries the caller read itself (the AstDB mirror pages through
   * them with `exactEntriesAfter` instead of one read per number).
   */
  matchesWith(state: OrgState, n: string, exact: readonly EntryView[]): Matches {
    return {
      exact,
      prefixes: this.prefixMatches(state, n),
      unidentified: state.unidentified,
      protection: this.protection(state, n),
      allowlistOnly: null,
      contact: false,
    };
  }

  /**
   * Every number of the org in the key map now (numberKey; numberOfKey gives it back): listed on
   * an exact entry, or on a blocked contact. A copy: the AstDB mirror's full sync walks it from
   * memory, waiting on Asterisk between numbers while the change feed goes on changing the map.
   * Ascending (for numbers of one length, the order of their text): AstDB's SQLite index takes keys
   * in order far better than in the map's hash order, which cost Asterisk ~3× the CPU per key
   * (measured, 1,000,000 keys: 25-30 µs against 8-10).
   */
  listedKeys(state: OrgState): Float64Array {
    return state.keys.keysNow().sort();
  }

  /**
   * A number's exact entries as a verdict reads them from memory now: its one summarised entry (no
   * name or reason: the mirror never writes them), or the full entries of a complex number (a
   * contact's entries among them); null when it has none any more.
   */
  exactEntriesOf(state: OrgState, n: string): readonly EntryView[] | null {
    const key = numberKey(n);
    const meta = state.keys.get(key);
    if (meta === ABSENT) return null;
    if (meta === COMPLEX) return state.complex.get(key) ?? null;
    return [entryOfSummary(meta, n, state.keys.extra())];
  }

  /** Resolves once the background reads in flight have settled (tests; a clean stop). */
  async settled(): Promise<void> {
    // Numbers gathered for a batch are read now rather than at the end of the window.
    this.gathering?.flush();
    while (this.warmReads.size > 0) await Promise.allSettled([...this.warmReads]);
  }

  /** Numbers of an org's blocked (or allowed) contacts. */
  async contactNumbers(orgId: number): Promise<string[]> {
    const out: string[] = [];
    await this.db.each(CONTACT_KEYS_SQL, [orgId], (r) => out.push((r as { n: string }).n));
    return out;
  }

  stats(): {
    orgs: number;
    keys: number;
    keyBytes: number;
    complex: number;
    cacheSize: number;
    cacheHits: number;
    cacheMisses: number;
    keyMisses: number;
    warmFailures: number;
  } {
    let keys = 0;
    let keyBytes = 0;
    let cacheSize = 0;
    let complex = 0;
    for (const s of this.byId.values()) {
      keys += s.keys.size;
      keyBytes += s.keys.byteLength;
      cacheSize += s.cache.size;
      complex += s.complex.size;
    }
    return {
      orgs: this.byId.size,
      keys,
      keyBytes,
      complex,
      cacheSize,
      cacheHits: this.cacheHits,
      cacheMisses: this.cacheMisses,
      keyMisses: this.keyMisses,
      warmFailures: this.warmFailures,
    };
  }

  // ---- applying changes (called by the change feed) ----

  /** Settings, DIDs and rules of one org; installs a new org, drops a deleted one. */
  async reloadOrg(orgId: number): Promise<void> {
    this.epoch++;
    const row = await this.db.get<OrgRow>('SELECT * FROM orgs WHERE id = ?', [orgId]);
    // The new state is built in full before the swap, which is synchronous: between two awaits the
    // org must never be missing, or its calls would find no organisation and fail open (seen under an
    // import: 56 of 2,000 blocked callers let through while the org was being reloaded).
    const next = row ? await this.buildOrg(row, this.byId.get(orgId)) : undefined;
    const current = this.byId.get(orgId);
    if (current) this.uninstall(current);
    if (next) this.installOrg(next);
  }

  /** Prefix and unidentified entries of one org. */
  async reloadRules(orgId: number): Promise<void> {
    this.epoch++;
    const state = this.byId.get(orgId);
    if (state) await this.loadRules(state);
  }

  /** One number's entries: key set membership and cached entries. */
  async refreshNumber(orgId: number, number: string): Promise<void> {
    this.epoch++;
    const state = this.byId.get(orgId);
    if (!state) return;
    const rows = await this.numberEntries(orgId, number);
    this.install(state, number, rows.map(toEntryView));
    if (state.allowlistOnly.size > 0) {
      // A contact number added or removed: allowlist-only DIDs let contacts ring.
      const c = await this.db.get(
        'SELECT 1 FROM contact_numbers cn JOIN contacts c ON c.id = cn.contact_id WHERE c.org_id = ? AND cn.number = ?',
        [orgId, number],
      );
      if (c) state.contactNumbers.add(number);
      else state.contactNumbers.delete(number);
    }
  }

  /** Every number of a contact (its block was added, changed or removed). */
  async refreshContact(orgId: number, contactId: number): Promise<void> {
    const rows = await this.db.all<{ number: string }>('SELECT number FROM contact_numbers WHERE contact_id = ?', [
      contactId,
    ]);
    for (const r of rows) await this.refreshNumber(orgId, r.number);
  }

  /** Rebuilds an org's key set from scratch (after a bulk import); cached entries are dropped. */
  async reloadKeys(orgId: number): Promise<void> {
    this.epoch++;
    const state = this.byId.get(orgId);
    if (!state) return;
    const loaded = await this.loadKeys(orgId);
    state.keys = loaded.keys;
    state.complex = loaded.complex;
    if (loaded.scoped) state.didScoped = true;
    state.generation = ++this.generations;
    state.cache = this.newCache();
  }

  /** Forgets everything and loads it again (the change log was pruned past us). */
  async reloadAll(): Promise<void> {
    this.epoch++;
    // Built in full, then swapped in one synchronous step (see reloadOrg): no call finds no org.
    const rows = await this.db.all<OrgRow>('SELECT * FROM orgs ORDER BY id');
    const states: OrgState[] = [];
    for (const row of rows) states.push(await this.buildOrg(row));
    this.bySlug.clear();
    this.byId.clear();
    this.byDid.clear();
    for (const state of states) this.installOrg(state);
  }

  // ---- internals ----

  private protection(state: OrgState, n: string): Protection | null {
    if (state.emergency.has(n)) return 'emergency';
    if (state.dids.has(n)) return 'did';
    return null;
  }

  /** Prefix entries (longest first), then pattern entries; merged narrowest first when both match. */
  private prefixMatches(state: OrgState, n: string): readonly EntryView[] {
    const lengths = state.prefixLengths;
    let out: EntryView[] | undefined;
    for (const len of lengths) {
      if (len > n.length) continue;
      const hit = state.prefixes.get(n.slice(0, len));
      if (hit !== undefined) (out ??= []).push(...hit);
    }
    const set = state.patternSet;
    if (set === null) return out ?? NO_ENTRIES;
    const prefixCount = out?.length ?? 0;
    out = set.collect(n, out);
    // Patterns and prefixes in one precedence, the narrowest first (narrowestFirst); only when a
    // pattern matched, so an org without patterns pays nothing.
    if (out !== undefined && out.length > 1 && out.length > prefixCount) {
      out.sort(narrowestFirst);
    }
    return out ?? NO_ENTRIES;
  }

  private numberEntries(orgId: number, n: string): Promise<EntryRow[]> {
    // Compiled once (on first use), then reused by every cache miss: see PreparedStatement.
    // A failed prepare (database busy) is not kept: the next miss tries again.
    const stmt = (this.numberStmt ??= this.db.prepare(NUMBER_ENTRIES_SQL).catch((err: unknown) => {
      this.numberStmt = null;
      throw err;
    }));
    return stmt.then((st) => st.all<EntryRow>([orgId, n]));
  }

  private async fetchNumber(state: OrgState, n: string): Promise<readonly EntryView[]> {
    const epoch = this.epoch;
    const rows = await this.numberEntries(state.org.id, n);
    const entries = rows.length === 0 ? NO_ENTRIES : Object.freeze(rows.map(toEntryView));
    // A read that raced a change may hold the old entries: not cached (the change feed installs
    // the new ones itself).
    if (epoch === this.epoch && entries.length > 0) state.cache.set(numberKey(n), entries);
    return entries;
  }

  /**
   * Reads a listed number's full entries into the LRU, in the background, within maxWarming: gathered
   * for warmBatchMs (or until maxWarming are waiting) and read in one statement per org.
   */
  private warm(state: OrgState, n: string): void {
    const id = `${state.org.id}:${n}`;
    if (this.warming.size >= this.maxWarming || this.warming.has(id)) return;
    this.warming.add(id);
    if (this.warmBatchMs <= 0) {
      this.track(
        this.fetchNumber(state, n).then(
          () => undefined,
          () => {
            this.warmFailures++;
          },
        ),
        [id],
      );
      return;
    }
    let g = this.gathering;
    if (g === null) {
      let fire: () => void = () => undefined;
      const due = new Promise<void>((resolve) => (fire = resolve));
      const timer = this.timers.setTimeout(() => gathered.flush(), this.warmBatchMs);
      const gathered = {
        byOrg: new Map<number, { state: OrgState; numbers: string[] }>(),
        size: 0,
        flush: (): void => {
          if (this.gathering === gathered) this.gathering = null;
          this.timers.clearTimeout(timer);
          fire();
        },
      };
      g = this.gathering = gathered;
      const ids: string[] = [];
      this.track(
        due.then(async () => {
          for (const { state: s, numbers } of gathered.byOrg.values()) {
            for (const m of numbers) ids.push(`${s.org.id}:${m}`);
            await this.fetchNumbers(s, numbers).catch(() => {
              this.warmFailures += numbers.length;
            });
          }
        }),
        ids,
      );
    }
    const forOrg = g.byOrg.get(state.org.id);
    if (forOrg) forOrg.numbers.push(n);
    else g.byOrg.set(state.org.id, { state, numbers: [n] });
    if (++g.size >= this.maxWarming) g.flush();
  }

  /** Keeps a background read for settled(); its numbers leave `warming` when it is done. */
  private track(read: Promise<void>, ids: readonly string[]): void {
    const tracked: Promise<void> = read.finally(() => {
      for (const id of ids) this.warming.delete(id);
      this.warmReads.delete(tracked);
    });
    this.warmReads.add(tracked);
  }

  /** fetchNumber for several numbers of one org in one statement; each one's entries cached as fetchNumber does. */
  private async fetchNumbers(state: OrgState, numbers: readonly string[]): Promise<void> {
    const epoch = this.epoch;
    const k = batchSize(numbers.length);
    let stmt = this.batchStmts.get(k);
    if (stmt === undefined) {
      // A failed prepare (database busy) is not kept: the next batch tries again.
      stmt = this.db.prepare(numbersEntriesSql(k)).catch((err: unknown) => {
        this.batchStmts.delete(k);
        throw err;
      });
      this.batchStmts.set(k, stmt);
    }
    // The list is padded to k with its last number (IN is a set: a number twice is read once).
    const params: (number | string)[] = [state.org.id, ...numbers];
    const last = numbers.at(-1) ?? '';
    while (params.length < k + 1) params.push(last);
    const rows = await (await stmt).all<EntryRow & { warm_number: string }>(params);
    if (epoch !== this.epoch) return; // raced a change: the change feed installs the new entries itself
    const byNumber = new Map<string, EntryView[]>();
    for (const r of rows) {
      const list = byNumber.get(r.warm_number);
      if (list) list.push(toEntryView(r));
      else byNumber.set(r.warm_number, [toEntryView(r)]);
    }
    for (const [n, entries] of byNumber) state.cache.set(numberKey(n), Object.freeze(entries));
  }

  /** A number's entries as the key map, the complex map and the LRU hold them. */
  private install(state: OrgState, number: string, entries: readonly EntryView[]): void {
    const key = numberKey(number);
    state.cache.delete(key);
    state.complex.delete(key);
    const only = entries.length === 1 ? entries[0] : undefined;
    if (entries.length === 0) {
      state.keys.delete(key);
    } else if (only !== undefined && isPlain(only)) {
      state.keys.set(key, summaryOf(only), only.expiresAt ?? 0);
      state.cache.set(key, Object.freeze([only]));
    } else {
      state.keys.set(key, COMPLEX, 0);
      state.complex.set(key, Object.freeze([...entries]));
      if (entries.some((e) => e.dids !== undefined && e.dids !== null && e.dids.length > 0)) state.didScoped = true;
    }
  }

  /** An org's state from SQLite (its key map kept from `previous` when given); not yet visible. */
  private async buildOrg(row: OrgRow, previous?: OrgState): Promise<OrgState> {
    const org = toOrg(row);
    const dids = await this.db.all<{ number: string; allowlist_only: BlockMode | null }>(
      'SELECT number, allowlist_only FROM org_numbers WHERE org_id = ?',
      [org.id],
    );
    const loaded = previous ?? (await this.loadKeys(org.id));
    const allowlistOnly = new Map<string, BlockMode>();
    for (const d of dids) if (d.allowlist_only !== null) allowlistOnly.set(d.number, d.allowlist_only);
    const contactNumbers = new Set<string>();
    if (allowlistOnly.size > 0) {
      await this.db.each(
        'SELECT cn.number AS n FROM contact_numbers cn JOIN contacts c ON c.id = cn.contact_id WHERE c.org_id = ?',
        [org.id],
        (r) => contactNumbers.add((r as { n: string }).n),
      );
    }
    const state: OrgState = {
      org,
      dids: new Set(dids.map((d) => d.number)),
      emergency: new Set(emergencyNumbers(org.policy.region)),
      keys: loaded.keys,
      complex: loaded.complex,
      prefixes: new Map(),
      prefixLengths: [],
      patterns: [],
      patternSet: null,
      unidentified: [],
      allowlistOnly,
      contactNumbers,
      // Exact entries scoped to DIDs live among the complex ones (kept across an org reload).
      didScoped: allowlistOnly.size > 0 || ('scoped' in loaded ? loaded.scoped : loaded.didScoped),
      allowRules: false,
      didForms: new Map(),
      lastDidText: '',
      lastDid: NO_DID,
      generation: previous?.generation ?? ++this.generations,
      cache: previous?.cache ?? this.newCache(),
    };
    await this.loadRules(state);
    return state;
  }

  /** Makes a built org visible to lookups: synchronous, so no call sees it half-installed. */
  private installOrg(state: OrgState): void {
    this.bySlug.set(state.org.slug, state);
    this.byId.set(state.org.id, state);
    for (const d of state.dids) this.byDid.set(d, state);
  }

  private newCache(): LRUCache<number, readonly EntryView[]> {
    return new LRUCache({ max: this.cacheMax });
  }

  private uninstall(state: OrgState): void {
    this.bySlug.delete(state.org.slug);
    this.byId.delete(state.org.id);
    for (const d of state.dids) if (this.byDid.get(d) === state) this.byDid.delete(d);
  }

  private async loadRules(state: OrgState): Promise<void> {
    const rows = await this.db.all<EntryRow>(
      "SELECT * FROM entries WHERE org_id = ? AND kind IN ('prefix', 'unidentified', 'pattern') AND removed_at IS NULL AND disabled_at IS NULL ORDER BY id",
      [state.org.id],
    );
    const prefixes = new Map<string, EntryView[]>();
    const patterns: PatternEntry[] = [];
    const unidentified: EntryView[] = [];
    let scoped = false;
    let allowRules = false;
    for (const r of rows) {
      const base = toEntryView(r);
      if (base.list === 'allow' && base.kind !== 'unidentified') allowRules = true;
      if (base.dids !== null && base.dids !== undefined) scoped = true;
      if (r.kind === 'unidentified') unidentified.push(base);
      else if (r.kind === 'pattern') {
        let pattern: CompiledPattern;
        try {
          pattern = compilePattern(r.value);
        } catch {
          continue; // Written by hand past the checks (sqlite3): it can match nothing.
        }
        patterns.push({ pattern, entry: { ...base, breadth: pattern.breadth } });
      } else {
        const v: EntryView = { ...base, breadth: prefixBreadth(r.value.length - 1) };
        const list = prefixes.get(r.value);
        if (list) list.push(v);
        else prefixes.set(r.value, [v]);
      }
    }
    state.prefixes = prefixes;
    state.prefixLengths = [...new Set([...prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a);
    state.patterns = patterns;
    state.patternSet = PatternSet.of(patterns);
    state.unidentified = unidentified;
    if (scoped) state.didScoped = true;
    state.allowRules = allowRules;
  }

  /**
   * An org's key map from scratch: every exact entry's summary (paged, see KEYS_PAGE_SQL), then the
   * full entries of numbers that have several entries or belong to a blocked contact.
   */
  private async loadKeys(
    orgId: number,
  ): Promise<{ keys: NumberKeyMap; complex: Map<number, readonly EntryView[]>; scoped: boolean }> {
    const count = await this.db.get<{ c: number }>(
      "SELECT count(*) AS c FROM entries WHERE org_id = ? AND kind = 'exact' AND removed_at IS NULL",
      [orgId],
    );
    const keys = new NumberKeyMap(count?.c ?? 0);
    const complex = new Map<number, readonly EntryView[]>();
    const several = new Set<string>();
    // Pages by value, not OFFSET or rowid: each page is an index seek, so the load stays linear.
    let last = '';
    let lastWasBlock = false;
    for (;;) {
      const page = await this.db.get<{ c: number; v: string | null }>(KEYS_PAGE_SQL, [orgId, last, KEYS_PAGE]);
      if (!page || page.c === 0 || page.v === null) break;
      let fresh = 0;
      for (const t of page.v.split(',')) {
        const c1 = t.indexOf(':');
        const c2 = t.indexOf(':', c1 + 1);
        const value = t.slice(0, c1);
        const meta = Number(t.slice(c1 + 1, c2));
        const isAllow = ((meta % 4) & ALLOW_BIT) !== 0;
        // Rows of the previous page's last number come again (value >= last): skip those read.
        if (value === last && (lastWasBlock || isAllow)) continue;
        fresh++;
        const key = numberKey(value);
        if (keys.has(key)) several.add(value);
        else keys.set(key, meta, Number(t.slice(c2 + 1)));
        last = value;
        lastWasBlock = !isAllow;
      }
      if (page.c < KEYS_PAGE || fresh === 0) break;
    }
    for (const n of await this.contactNumbers(orgId)) several.add(n);
    // The key map's summary has no room for "only when attested": such numbers keep full entries.
    const attested = await this.db.all<{ value: string }>(
      "SELECT value FROM entries WHERE org_id = ? AND kind = 'exact' AND require_attestation = 1 AND removed_at IS NULL",
      [orgId],
    );
    for (const r of attested) several.add(r.value);
    let scoped = false;
    await this.db.each(SPECIAL_KEYS_SQL, [orgId], (row) => {
      const r = row as { n: string; scoped: number };
      several.add(r.n);
      if (r.scoped) scoped = true;
    });
    // Few (contacts are entered by hand; block and allow on one number is rare): one read each.
    for (const n of several) {
      const entries = Object.freeze((await this.numberEntries(orgId, n)).map(toEntryView));
      if (entries.length === 0) continue;
      keys.set(numberKey(n), COMPLEX, 0);
      complex.set(numberKey(n), entries);
    }
    return { keys, complex, scoped };
  }
}

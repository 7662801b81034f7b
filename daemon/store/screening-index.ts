/**
 * The in-memory side of the blocklist, kept in step with SQLite by the change feed.
 *
 * Per organisation it holds: settings, DIDs, emergency numbers, prefix and unidentified entries
 * (few, all in memory), and a NumberKeySet of every number that has an exact entry or belongs to
 * a blocked contact. Full entries for those numbers are fetched from SQLite on first use and kept in
 * an LRU. So:
 *   - a number on no list (most callers, and every spoofed robocall) → answered from the key set;
 *   - a listed number seen recently → answered from the LRU;
 *   - a listed number not seen recently → one indexed SQLite read, then cached.
 * The first two are synchronous (`lookupSync`), which is what keeps the hot path fast.
 */
import { LRUCache } from 'lru-cache';
import type { Matches, Protection } from '../core/decide.js';
import { emergencyNumbers } from '../core/emergency-numbers.js';
import type { EntryView } from '../core/entry.js';
import type { ParsedCaller } from '../core/phone-number.js';
import type { Database, PreparedStatement } from './database.js';
import { NumberKeySet, numberKey } from './number-key-set.js';
import { toEntryView, toOrg, type EntryRow, type Org, type OrgRow } from './rows.js';

export interface OrgState {
  readonly org: Org;
  readonly dids: ReadonlySet<string>;
  readonly emergency: ReadonlySet<string>;
  keys: NumberKeySet;
  /** prefix → entries (block and allow) on exactly that prefix. */
  prefixes: Map<string, EntryView[]>;
  /** Distinct prefix lengths, longest first, so a lookup tries only lengths that exist. */
  prefixLengths: number[];
  unidentified: EntryView[];
  /** Bumped when the key set is rebuilt wholesale (and the org's LRU replaced). */
  generation: number;
  /**
   * Entries of this org's listed numbers, keyed by numberKey. One LRU per organisation, keyed by a
   * number: the former single LRU keyed by `org.generation|+1555…` built and hashed a fresh string on
   * every verdict (~0.3 µs of ~2.5 µs). The bound (cacheMax) is therefore per organisation.
   */
  cache: LRUCache<number, readonly EntryView[]>;
}

export interface ScreeningIndexOptions {
  /** Entries cached for listed numbers (default 100,000). */
  readonly cacheMax?: number;
}

const NO_ENTRIES: readonly EntryView[] = Object.freeze([]);

const NUMBER_ENTRIES_SQL = `
SELECT * FROM entries WHERE org_id = ?1 AND value = ?2 AND kind = 'exact' AND removed_at IS NULL
UNION ALL
SELECT e.* FROM contact_numbers cn
  JOIN contacts c ON c.id = cn.contact_id
  JOIN entries e ON e.contact_id = cn.contact_id AND e.kind = 'contact' AND e.removed_at IS NULL
  WHERE cn.number = ?2 AND c.org_id = ?1`;

/**
 * One page of an org's exact-entry numbers in index order (entries_active: org_id, value), as one
 * comma-joined string. Loading 1,000,000 numbers with node-sqlite3's `each` queued every row as a
 * JS object faster than they were consumed: ~300 MB RSS and twice the time of these pages.
 */
const KEYS_PAGE_SQL = `
SELECT count(*) AS c, max(value) AS last, group_concat(value) AS v FROM (
  SELECT value FROM entries WHERE org_id = ?1 AND value > ?2 AND kind = 'exact' AND removed_at IS NULL
  ORDER BY value LIMIT ?3)`;
const KEYS_PAGE = 100_000;

const CONTACT_KEYS_SQL = `
SELECT cn.number AS n FROM entries e JOIN contact_numbers cn ON cn.contact_id = e.contact_id
  WHERE e.org_id = ?1 AND e.kind = 'contact' AND e.removed_at IS NULL`;

export class ScreeningIndex {
  private readonly bySlug = new Map<string, OrgState>();
  private readonly byId = new Map<number, OrgState>();
  private readonly byDid = new Map<string, OrgState>();
  private readonly cacheMax: number;
  /** Incremented on every applied change; a fetch that raced a change is not cached. */
  private epoch = 0;
  /** Source of OrgState.generation values; never reused. */
  private generations = 0;
  private cacheHits = 0;
  private cacheMisses = 0;
  private keyMisses = 0;
  private numberStmt: Promise<PreparedStatement> | null = null;

  constructor(private readonly db: Database, options: ScreeningIndexOptions = {}) {
    this.cacheMax = options.cacheMax ?? 100_000;
  }

  async loadAll(): Promise<void> {
    const rows = await this.db.all<OrgRow>('SELECT * FROM orgs ORDER BY id');
    for (const row of rows) await this.installOrg(row);
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

  /** Matches answered from memory, or undefined when SQLite must be read (then call `lookup`). */
  lookupSync(state: OrgState, subject: ParsedCaller): Matches | undefined {
    if (subject.kind === 'unidentified') {
      return { exact: NO_ENTRIES, prefixes: NO_ENTRIES, unidentified: state.unidentified, protection: null };
    }
    const n = subject.value;
    const protection = this.protection(state, n);
    let exact: readonly EntryView[] = NO_ENTRIES;
    const key = numberKey(n);
    if (state.keys.has(key)) {
      const cached = state.cache.get(key);
      if (cached === undefined) {
        this.cacheMisses++;
        return undefined;
      }
      this.cacheHits++;
      exact = cached;
    } else {
      this.keyMisses++;
    }
    return { exact, prefixes: this.prefixMatches(state, n), unidentified: state.unidentified, protection };
  }

  async lookup(state: OrgState, subject: ParsedCaller): Promise<Matches> {
    const fast = this.lookupSync(state, subject);
    if (fast !== undefined) return fast;
    const n = (subject as { value: string }).value;
    const exact = await this.fetchNumber(state, n);
    return { exact, prefixes: this.prefixMatches(state, n), unidentified: state.unidentified, protection: this.protection(state, n) };
  }

  /**
   * Matches of a number whose exact entries the caller read itself (the AstDB mirror pages through
   * them with `exactEntriesAfter` instead of one read per number).
   */
  matchesWith(state: OrgState, n: string, exact: readonly EntryView[]): Matches {
    return { exact, prefixes: this.prefixMatches(state, n), unidentified: state.unidentified, protection: this.protection(state, n) };
  }

  /** One page of an org's active exact entries, by number (index order), numbers after `after`. */
  async exactEntriesAfter(orgId: number, after: string, limit: number): Promise<EntryView[]> {
    const rows = await this.db.all<EntryRow>(
      "SELECT * FROM entries WHERE org_id = ? AND kind = 'exact' AND removed_at IS NULL AND value > ? ORDER BY value LIMIT ?",
      [orgId, after, limit],
    );
    return rows.map(toEntryView);
  }

  /** Numbers of an org's blocked (or allowed) contacts. */
  async contactNumbers(orgId: number): Promise<string[]> {
    const out: string[] = [];
    await this.db.each<{ n: string }>(CONTACT_KEYS_SQL, [orgId], (r) => out.push(r.n));
    return out;
  }

  stats(): { orgs: number; keys: number; keyBytes: number; cacheSize: number; cacheHits: number; cacheMisses: number; keyMisses: number } {
    let keys = 0;
    let keyBytes = 0;
    let cacheSize = 0;
    for (const s of this.byId.values()) {
      keys += s.keys.size;
      keyBytes += s.keys.byteLength;
      cacheSize += s.cache.size;
    }
    return { orgs: this.byId.size, keys, keyBytes, cacheSize, cacheHits: this.cacheHits, cacheMisses: this.cacheMisses, keyMisses: this.keyMisses };
  }

  // ---- applying changes (called by the change feed) ----

  /** Settings, DIDs and rules of one org; installs a new org, drops a deleted one. */
  async reloadOrg(orgId: number): Promise<void> {
    this.epoch++;
    const row = await this.db.get<OrgRow>('SELECT * FROM orgs WHERE id = ?', [orgId]);
    const old = this.byId.get(orgId);
    if (old) this.uninstall(old);
    if (row) await this.installOrg(row, old);
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
    const key = numberKey(number);
    if (rows.length === 0) {
      state.keys.delete(key);
      state.cache.delete(key);
    } else {
      state.keys.add(key);
      state.cache.set(key, Object.freeze(rows.map(toEntryView)));
    }
  }

  /** Every number of a contact (its block was added, changed or removed). */
  async refreshContact(orgId: number, contactId: number): Promise<void> {
    const rows = await this.db.all<{ number: string }>('SELECT number FROM contact_numbers WHERE contact_id = ?', [contactId]);
    for (const r of rows) await this.refreshNumber(orgId, r.number);
  }

  /** Rebuilds an org's key set from scratch (after a bulk import); cached entries are dropped. */
  async reloadKeys(orgId: number): Promise<void> {
    this.epoch++;
    const state = this.byId.get(orgId);
    if (!state) return;
    state.keys = await this.loadKeys(orgId);
    state.generation = ++this.generations;
    state.cache = this.newCache();
  }

  /** Forgets everything and loads it again (the change log was pruned past us). */
  async reloadAll(): Promise<void> {
    this.epoch++;
    this.bySlug.clear();
    this.byId.clear();
    this.byDid.clear();
    await this.loadAll();
  }

  // ---- internals ----

  private protection(state: OrgState, n: string): Protection | null {
    if (state.emergency.has(n)) return 'emergency';
    if (state.dids.has(n)) return 'did';
    return null;
  }

  private prefixMatches(state: OrgState, n: string): readonly EntryView[] {
    const lengths = state.prefixLengths;
    if (lengths.length === 0) return NO_ENTRIES;
    let out: EntryView[] | undefined;
    for (const len of lengths) {
      if (len > n.length) continue;
      const hit = state.prefixes.get(n.slice(0, len));
      if (hit !== undefined) (out ??= []).push(...hit);
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
    if (epoch === this.epoch) state.cache.set(numberKey(n), entries);
    return entries;
  }

  private async installOrg(row: OrgRow, previous?: OrgState): Promise<void> {
    const org = toOrg(row);
    const dids = await this.db.all<{ number: string }>('SELECT number FROM org_numbers WHERE org_id = ?', [org.id]);
    const state: OrgState = {
      org,
      dids: new Set(dids.map((d) => d.number)),
      emergency: new Set(emergencyNumbers(org.policy.region)),
      keys: previous?.keys ?? (await this.loadKeys(org.id)),
      prefixes: new Map(),
      prefixLengths: [],
      unidentified: [],
      generation: previous?.generation ?? ++this.generations,
      cache: previous?.cache ?? this.newCache(),
    };
    await this.loadRules(state);
    this.bySlug.set(org.slug, state);
    this.byId.set(org.id, state);
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
      "SELECT * FROM entries WHERE org_id = ? AND kind IN ('prefix', 'unidentified') AND removed_at IS NULL ORDER BY id",
      [state.org.id],
    );
    const prefixes = new Map<string, EntryView[]>();
    const unidentified: EntryView[] = [];
    for (const r of rows) {
      const v = toEntryView(r);
      if (r.kind === 'unidentified') unidentified.push(v);
      else {
        const list = prefixes.get(r.value);
        if (list) list.push(v);
        else prefixes.set(r.value, [v]);
      }
    }
    state.prefixes = prefixes;
    state.prefixLengths = [...new Set([...prefixes.keys()].map((p) => p.length))].sort((a, b) => b - a);
    state.unidentified = unidentified;
  }

  private async loadKeys(orgId: number): Promise<NumberKeySet> {
    const count = await this.db.get<{ c: number }>(
      "SELECT count(*) AS c FROM entries WHERE org_id = ? AND kind = 'exact' AND removed_at IS NULL",
      [orgId],
    );
    const keys = new NumberKeySet(count?.c ?? 0);
    // Pages by value, not OFFSET or rowid: each page is an index seek, so the load stays linear.
    let last = '';
    for (;;) {
      const page = await this.db.get<{ c: number; last: string | null; v: string | null }>(KEYS_PAGE_SQL, [orgId, last, KEYS_PAGE]);
      if (!page || page.c === 0 || page.last === null || page.v === null) break;
      for (const v of page.v.split(',')) keys.add(numberKey(v));
      last = page.last;
      if (page.c < KEYS_PAGE) break;
    }
    for (const n of await this.contactNumbers(orgId)) keys.add(numberKey(n));
    return keys;
  }
}


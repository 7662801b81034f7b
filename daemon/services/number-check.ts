/**
 * The verdict for one number, read straight from SQLite: what `callscreen check` needs. Building
 * the daemon's ScreeningIndex for it loaded every org's whole key set first — 3–4 s on a database of
 * 1.2M entries to answer one question. This reads only the asked org (its row, whether the number
 * is one of its DIDs, its prefix entries that are prefixes of the number, its unidentified entries)
 * and that number's own entries, a handful of indexed reads whatever the size of the list, then asks
 * the same pure `decide()` as the daemon, so the answer is the daemon's.
 *
 * What it must find is what ScreeningIndex finds, in the same order, since decide() takes the first
 * active entry: exact entries then blocks of contacts holding the number; prefixes longest first,
 * entries on one prefix by id; unidentified entries by id. test/cli/check.test.ts compares the two.
 */
import { NO_IDENTITY_SETTINGS, type IdentitySettings } from './identity-settings.js';
import { subjectOf } from './screener.js';
import type { Clock } from '../core/clock.js';
import { decide, type Matches, type Protection } from '../core/decide.js';
import { emergencyNumbers } from '../core/emergency-numbers.js';
import type { BlockMode, EntryView } from '../core/entry.js';
import { compilePattern, narrowestFirst, patternMatches, prefixBreadth } from '../core/number-pattern.js';
import { CallscreenError } from '../core/errors.js';
import type { NumberNormalizer, ParsedCaller } from '../core/phone-number.js';
import type { ScreenRequest } from '../core/screen-request.js';
import type { Verdict } from '../core/verdict.js';
import type { Database } from '../store/database.js';
import { NUMBER_ENTRIES_SQL } from '../store/screening-index.js';
import { toEntryView, toOrg, type EntryRow, type Org, type OrgRow } from '../store/rows.js';

export class NumberCheck {
  constructor(
    private readonly db: Database,
    private readonly normalizer: NumberNormalizer,
    private readonly clock: Clock,
    /** Carrier stand-ins and dial prefixes, as the daemon applies them (identity-settings.ts). */
    private readonly identity: IdentitySettings = NO_IDENTITY_SETTINGS,
  ) {}

  async screen(req: ScreenRequest): Promise<Verdict> {
    const row = await this.db.get<OrgRow>('SELECT * FROM orgs WHERE slug = ?', [req.org]);
    if (!row) throw new CallscreenError('CS_ERR_ORG_NOT_FOUND', `no organisation "${req.org}"`, { org: req.org });
    const org = toOrg(row);
    const subject = subjectOf(this.normalizer, req, org.policy, this.identity);
    // The DID only matters inbound (entries scoped to DIDs, allowlist-only DIDs), as in the Screener.
    const to = req.direction === 'inbound' ? this.normalizer.parseCallerId(req.to, org.policy.region) : null;
    const did = to !== null && to.kind === 'number' ? to.value : null;
    return decide({
      channel: req.channel,
      direction: req.direction,
      subject,
      withheld: req.withheld === true,
      did,
      matches: await this.matches(org, subject, did),
      policy: org.policy,
      now: this.clock.now(),
      attestation: req.attestation,
    });
  }

  private async matches(org: Org, subject: ParsedCaller, did: string | null): Promise<Matches> {
    const unidentified = await this.entries(
      // value = '' (what an unidentified entry stores) keeps this an index seek on entries_active.
      "SELECT * FROM entries WHERE org_id = ? AND value = '' AND kind = 'unidentified' AND removed_at IS NULL AND disabled_at IS NULL ORDER BY id",
      [org.id],
    );
    const allowlistOnly =
      did === null
        ? null
        : ((
            await this.db.get<{ m: BlockMode | null }>(
              'SELECT allowlist_only AS m FROM org_numbers WHERE org_id = ? AND number = ?',
              [org.id, did],
            )
          )?.m ?? null);
    if (subject.kind === 'unidentified')
      return { exact: [], prefixes: [], unidentified, protection: null, allowlistOnly, contact: false };
    const n = subject.value;
    // Every leading part of the number is a candidate prefix (at most ~16): one IN over the index.
    const candidates = Array.from({ length: n.length }, (_, i) => n.slice(0, i + 1));
    const prefixes = (
      await this.entries(
        `SELECT * FROM entries WHERE org_id = ? AND kind = 'prefix' AND removed_at IS NULL AND disabled_at IS NULL
         AND value IN (${candidates.map(() => '?').join(', ')}) ORDER BY length(value) DESC, id`,
        [org.id, ...candidates],
      )
    ).map((e) => ({ ...e, breadth: prefixBreadth(e.value.length - 1) }));
    // Patterns are few (entered by hand): all of the org's, tested here as the index tests them.
    const patterns: EntryView[] = [];
    for (const e of await this.entries(
      "SELECT * FROM entries WHERE org_id = ? AND kind = 'pattern' AND removed_at IS NULL AND disabled_at IS NULL ORDER BY id",
      [org.id],
    )) {
      try {
        const p = compilePattern(e.value);
        if (n.startsWith(p.lead) && patternMatches(p, n)) patterns.push({ ...e, breadth: p.breadth });
      } catch {
        // Stored past the checks: matches nothing, as in the index.
      }
    }
    // Narrowest first (narrowestFirst, as the index).
    const ruled = patterns.length === 0 ? prefixes : [...prefixes, ...patterns].sort(narrowestFirst);
    const exact = await this.entries(NUMBER_ENTRIES_SQL, [org.id, n]);
    const contact =
      allowlistOnly !== null &&
      (await this.db.get(
        'SELECT 1 FROM contact_numbers cn JOIN contacts c ON c.id = cn.contact_id WHERE c.org_id = ? AND cn.number = ?',
        [org.id, n],
      )) !== undefined;
    return { exact, prefixes: ruled, unidentified, protection: await this.protection(org, n), allowlistOnly, contact };
  }

  private async protection(org: Org, n: string): Promise<Protection | null> {
    if (emergencyNumbers(org.policy.region).includes(n)) return 'emergency';
    const did = await this.db.get('SELECT 1 FROM org_numbers WHERE org_id = ? AND number = ?', [org.id, n]);
    return did ? 'did' : null;
  }

  private async entries(sql: string, params: Array<string | number>): Promise<EntryView[]> {
    return (await this.db.all<EntryRow>(sql, params)).map(toEntryView);
  }
}

/**
 * Per-org flood detection settings (table org_flood_policy, migration 5): read and changed by
 * `callscreen org flood`, and kept in memory for the detector, which reads them on every call.
 */
import type { Clock } from '../core/clock.js';
import { checkFloodChanges, floodPolicy, type FloodPolicy } from '../core/flood-policy.js';
import type { Database } from '../store/database.js';
import type { Org } from '../store/rows.js';
import type { Actor } from './actor.js';
import type { AuditLog } from './audit-log.js';
import type { OrgService } from './org-service.js';

export interface OrgFloodPolicy {
  readonly org: Org;
  /** Only the keys the org changed. */
  readonly changes: Partial<FloodPolicy>;
  /** The defaults with the changes over them. */
  readonly effective: FloodPolicy;
}

/** Reads stored JSON leniently: a key that no longer validates is ignored (the default applies). */
function parseStored(text: string): Partial<FloodPolicy> {
  let raw: unknown;
  try {
    raw = JSON.parse(text);
  } catch {
    return {};
  }
  if (raw === null || typeof raw !== 'object') return {};
  const out: Record<string, unknown> = {};
  for (const [k, v] of Object.entries(raw as Record<string, unknown>)) {
    try {
      Object.assign(out, checkFloodChanges({ [k]: v }));
    } catch {
      // skipped: the default applies
    }
  }
  return out;
}

export class FloodPolicyService {
  constructor(
    private readonly db: Database,
    private readonly orgs: OrgService,
    private readonly audit: AuditLog,
  ) {}

  async get(orgSlug: string): Promise<OrgFloodPolicy> {
    const org = await this.orgs.require(orgSlug);
    const row = await this.db.get<{ settings: string }>('SELECT settings FROM org_flood_policy WHERE org_id = ?', [
      org.id,
    ]);
    const changes = parseStored(row?.settings ?? '{}');
    return { org, changes, effective: floodPolicy(changes) };
  }

  /**
   * Changes some keys (validated; a bad one refuses the whole change, naming the key), or with
   * `reset` puts the org back on the defaults first. Audited as `flood.settings` with before/after.
   */
  async set(
    orgSlug: string,
    input: Readonly<Record<string, unknown>>,
    actor: Actor,
    reset = false,
  ): Promise<OrgFloodPolicy> {
    const org = await this.orgs.require(orgSlug);
    const changes = checkFloodChanges(input);
    return this.db.transaction(async () => {
      const row = await this.db.get<{ settings: string }>('SELECT settings FROM org_flood_policy WHERE org_id = ?', [
        org.id,
      ]);
      const before = parseStored(row?.settings ?? '{}');
      const after = { ...(reset ? {} : before), ...changes };
      await this.db.run(
        'INSERT INTO org_flood_policy (org_id, settings) VALUES (?, ?) ON CONFLICT(org_id) DO UPDATE SET settings = excluded.settings',
        [org.id, JSON.stringify(after)],
      );
      await this.audit.append(org.id, actor, 'flood.settings', org.slug, '', { before, after });
      return { org, changes: after, effective: floodPolicy(after) };
    });
  }
}

/**
 * The daemon's copy of every org's settings, for the detector: `policy()` answers from memory and,
 * when the copy is older than `refreshMs` (default 5000 ms), starts one reload in the background, so
 * a change made with the CLI reaches the detector within about 5 s without any call waiting for it.
 */
export class FloodPolicyCache {
  private policies = new Map<number, FloodPolicy>();
  private loadedAt = Number.NEGATIVE_INFINITY;
  private loading: Promise<void> | null = null;

  constructor(
    private readonly db: Database,
    private readonly clock: Clock,
    private readonly onError: (err: unknown) => void,
    private readonly refreshMs = 5000,
  ) {}

  async load(): Promise<void> {
    const rows = await this.db.all<{ org_id: number; settings: string }>(
      'SELECT org_id, settings FROM org_flood_policy',
    );
    const next = new Map<number, FloodPolicy>();
    for (const r of rows) next.set(r.org_id, floodPolicy(parseStored(r.settings)));
    this.policies = next;
    this.loadedAt = this.clock.now();
  }

  policy(orgId: number): FloodPolicy {
    if (this.loading === null && this.clock.now() - this.loadedAt >= this.refreshMs) {
      this.loading = this.load()
        .catch(this.onError)
        .finally(() => (this.loading = null));
    }
    return this.policies.get(orgId) ?? floodPolicy({});
  }

  /** The reload in progress, if any (tests; stop). */
  settled(): Promise<void> {
    return this.loading ?? Promise.resolve();
  }
}

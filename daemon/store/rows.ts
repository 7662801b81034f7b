/** Row shapes as SQLite returns them, and their mapping to domain types. */
import type { BlockMode, EntryKind, EntrySource, EntryView, ListKind } from '../core/entry.js';
import type { IdentityAction, OrgPolicy, OutboundPolicy, RejectCode } from '../core/org-policy.js';

export interface EntryRow {
  id: number;
  org_id: number;
  list: ListKind;
  kind: EntryKind;
  value: string;
  contact_id: number | null;
  mode: BlockMode;
  name: string;
  reason: string;
  created_by: string;
  created_at: number;
  expires_at: number | null;
  source: EntrySource;
  /** This node's own hits (what its outbox ships). */
  hit_count: number;
  last_hit_at: number | null;
  /** The other nodes' hits, pulled from a shared store (issue #15; schema 9); 0 / null on one node. */
  peer_hits?: number;
  peer_last_hit_at?: number | null;
  removed_at: number | null;
  removed_by: string | null;
  removed_reason: string | null;
  require_attestation: number;
  disabled_at: number | null;
  disabled_by: string | null;
  observe_since: number | null;
  /** Space-separated E.164 DIDs; '' = the whole org. */
  dids: string;
}

/** An entry as the CLI, API and panel show it. */
export interface EntryRecord extends EntryView {
  readonly orgId: number;
  readonly contactId: number | null;
  readonly createdBy: string;
  readonly createdAt: number;
  readonly source: EntrySource;
  readonly hitCount: number;
  readonly lastHitAt: number | null;
  readonly removedAt: number | null;
  readonly removedBy: string | null;
  readonly removedReason: string | null;
  /** Disabled (kept, never matches) since, and by whom; null = enabled. */
  readonly disabledAt: number | null;
  readonly disabledBy: string | null;
  /** In observe mode since (epoch ms); null = enforced. */
  readonly observeSince: number | null;
}

/** The columns toEntryView reads. */
export type EntryViewRow = Pick<
  EntryRow,
  | 'id'
  | 'list'
  | 'kind'
  | 'value'
  | 'mode'
  | 'name'
  | 'reason'
  | 'expires_at'
  | 'observe_since'
  | 'dids'
  | 'require_attestation'
>;

export function toEntryView(r: EntryViewRow): EntryView {
  return {
    id: r.id,
    list: r.list,
    kind: r.kind,
    value: r.value,
    mode: r.mode,
    name: r.name,
    reason: r.reason,
    expiresAt: r.expires_at,
    // Every field always set, in one order (also in the index's summaries): one object shape
    // through decide() keeps its property reads monomorphic.
    observe: r.observe_since !== null,
    dids: didsOf(r.dids),
    breadth: 0,
    requireAttestation: r.require_attestation === 1,
  };
}

/** The stored DID list ('' or undefined = whole org) as an array, or null. */
export function didsOf(text: string | null | undefined): readonly string[] | null {
  return text ? Object.freeze(text.split(' ').filter(Boolean)) : null;
}

/** An entry's hits on every node: its own and, in a shared store, the other nodes' (issue #15). */
export function siteHitCount(r: EntryRow): number {
  return r.hit_count + (r.peer_hits ?? 0);
}

/** An entry's last hit on any node (ms), null when none ever hit it. */
export function siteLastHitAt(r: EntryRow): number | null {
  const peer = r.peer_last_hit_at ?? null;
  return r.last_hit_at === null ? peer : peer === null ? r.last_hit_at : Math.max(r.last_hit_at, peer);
}

export function toEntryRecord(r: EntryRow): EntryRecord {
  // breadth is the index's (precedence among prefixes and patterns), not something to show.
  const { breadth: _index, ...view } = toEntryView(r);
  return {
    ...view,
    orgId: r.org_id,
    contactId: r.contact_id,
    createdBy: r.created_by,
    createdAt: r.created_at,
    source: r.source,
    // Site-wide: this node's hits and those the other nodes of a shared store counted.
    hitCount: siteHitCount(r),
    lastHitAt: siteLastHitAt(r),
    removedAt: r.removed_at,
    removedBy: r.removed_by,
    removedReason: r.removed_reason,
    disabledAt: r.disabled_at ?? null,
    disabledBy: r.disabled_by ?? null,
    observeSince: r.observe_since ?? null,
  };
}

export interface OrgRow {
  id: number;
  slug: string;
  name: string;
  region: string;
  agents_may_block: number;
  outbound_policy: OutboundPolicy;
  default_mode: BlockMode;
  reject_code: RejectCode;
  created_at: number;
  attestation_failed: IdentityAction;
  own_did_unattested: IdentityAction;
  standins_unidentified: number;
}

export interface Org {
  readonly id: number;
  readonly slug: string;
  readonly name: string;
  readonly createdAt: number;
  readonly policy: OrgPolicy;
}

export function toOrg(r: OrgRow): Org {
  return {
    id: r.id,
    slug: r.slug,
    name: r.name,
    createdAt: r.created_at,
    policy: Object.freeze({
      region: r.region,
      outboundPolicy: r.outbound_policy,
      rejectCode: r.reject_code,
      defaultMode: r.default_mode,
      agentsMayBlock: r.agents_may_block === 1,
      attestationFailed: r.attestation_failed,
      ownDidUnattested: r.own_did_unattested,
      standinsUnidentified: r.standins_unidentified === 1,
    }),
  };
}

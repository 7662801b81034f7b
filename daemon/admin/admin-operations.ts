/**
 * Every panel action, once: the JSON API and the HTML pages both call these, so a page can do
 * nothing the API cannot and both refuse the same things. Each method authorises first
 * (access-policy.ts), then calls the services, which validate, write and audit.
 */
import { attestationText, parseVerstat } from '../core/attestation.js';
import type { BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { IdentityAction, OutboundPolicy, RejectCode } from '../core/org-policy.js';
import type { Channel } from '../core/screen-request.js';
import { isInboundAction } from '../core/verdict.js';
import type { VerdictAction } from '../core/verdict.js';
import type { DaemonContext } from '../daemon-context.js';
import type { Actor } from '../services/actor.js';
import type { Target } from '../services/blocklist-service.js';
import type { Org } from '../store/rows.js';
import { parseExpiry } from '../core/duration.js';
import {
  authorize,
  can,
  checkBlockScope,
  isWeakening,
  permissionsFor,
  type AdminOrgPolicy,
  type BlockKind,
  type Permission,
} from './access-policy.js';
import { Screener } from '../services/screener.js';
import { requireConfirmation, type WhatIfReport } from '../services/what-if.js';
import type { CleanUpResult, StaleQuery, StaleReport } from '../services/stale-report.js';
import type { OrgFloodPolicy } from '../services/flood-policy-service.js';
import type { BlockRequest } from '../services/handset-block-service.js';
import { AdminOrgPolicyStore } from './admin-org-policy.js';
import { DashboardQuery } from './dashboard-query.js';
import { RecentCalls, type RecentCallsPage } from '../services/recent-calls.js';
import { identitySettingsFrom } from '../services/identity-settings.js';
import type { User } from './user-service.js';

/** The signed-in user and how their changes are recorded. */
export interface Principal {
  readonly user: User;
  readonly actor: Actor;
}

export type { BlockKind } from './access-policy.js';

export interface BlockInput {
  readonly kind: BlockKind;
  readonly number?: string;
  readonly prefix?: string;
  /** Wildcards or a range (kind `pattern`, issue #16). */
  readonly pattern?: string;
  readonly contactId?: number;
  readonly mode?: BlockMode;
  readonly name?: string;
  readonly reason?: string;
  readonly expires?: string | null;
  /** Observe mode (blocks): recorded as "would have blocked", calls let through. */
  readonly observe?: boolean;
  /** Only for calls to these of the org's DIDs; absent or empty = every call. */
  readonly dids?: readonly string[];
  /** Allow entries: only for a caller the carrier attested (STIR/SHAKEN A). */
  readonly requireAttestation?: boolean;
  /** Save a broad entry (what-if.ts) anyway: without it a broad one is refused (409) with the figures. */
  readonly confirm?: boolean;
}

/** A what-if (issue #16): the entry that would be saved, and the days of recorded calls to replay. */
export interface WhatIfInput extends BlockInput {
  readonly list?: 'block' | 'allow';
  readonly days?: number;
}

export interface SettingsInput {
  readonly agentsMayBlock?: boolean;
  readonly attestationFailed?: IdentityAction;
  readonly ownDidUnattested?: IdentityAction;
  readonly standinsUnidentified?: boolean;
  readonly defaultMode?: BlockMode;
  readonly rejectCode?: RejectCode;
  readonly outboundPolicy?: OutboundPolicy;
  /** Shortest prefix a supervisor may block (digits after "+"); null = calling code + 3. */
  readonly supervisorMinPrefixDigits?: number | null;
}

/** An edit of an entry: a field left out keeps its value; `expires: null` = never. */
export interface EntryEdit {
  readonly mode?: BlockMode;
  readonly name?: string;
  readonly reason?: string;
  readonly expires?: string | null;
}

export interface AuditFilter {
  readonly actor?: string;
  readonly action?: string;
  readonly target?: string;
  readonly since?: number;
  readonly until?: number;
  readonly limit?: number;
  readonly offset?: number;
}

export function targetOf(input: BlockInput): Target {
  const need = (v: string | undefined, key: string): string => {
    if (!v || !v.trim())
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `${key} is required to block a ${input.kind}`, { key });
    return v;
  };
  switch (input.kind) {
    case 'number':
      return { kind: 'exact', number: need(input.number, 'number') };
    case 'prefix':
      return { kind: 'prefix', prefix: need(input.prefix, 'prefix') };
    case 'pattern':
      return { kind: 'pattern', pattern: need(input.pattern, 'pattern') };
    case 'contact':
      if (input.contactId === undefined)
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'contactId is required to block a contact', {
          key: 'contactId',
        });
      return { kind: 'contact', contactId: input.contactId };
    case 'unidentified':
      return { kind: 'unidentified' };
    default:
      // Forms post any text: a kind the panel never offers is the caller's mistake, named.
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        `kind "${String(input.kind)}" is not one of number, prefix, pattern, contact, unidentified`,
        { field: 'kind' },
      );
  }
}

/** How a refused broad entry is confirmed, in the words of each door. */
const CONFIRM_HOW = 'confirm it to save it (API: "confirm": true; panel: the confirm button)';

export class AdminOperations {
  private readonly dashboardQuery: DashboardQuery;
  private readonly calls: RecentCalls;
  readonly policies: AdminOrgPolicyStore;

  constructor(private readonly ctx: DaemonContext) {
    this.dashboardQuery = new DashboardQuery(ctx.db, ctx.clock, ctx.shared?.pg ?? null);
    this.calls = new RecentCalls(ctx.db, ctx.recorder, ctx.shared?.pg ?? null);
    this.policies = new AdminOrgPolicyStore(ctx.db);
  }

  async org(p: Principal, slug: string, permission: Permission): Promise<Org> {
    return authorize(p.user, await this.ctx.orgs.get(slug), slug, permission);
  }

  /** The organisations the user works in, with their settings. */
  async orgs(p: Principal): Promise<Org[]> {
    const out: Org[] = [];
    for (const slug of p.user.orgs) {
      const o = await this.ctx.orgs.get(slug);
      if (o) out.push(o);
    }
    return out;
  }

  async listEntries(
    p: Principal,
    slug: string,
    q: { search?: string; list?: 'block' | 'allow'; limit?: number; offset?: number },
  ) {
    await this.org(p, slug, 'view');
    return this.ctx.blocklist.list(slug, {
      list: q.list ?? 'block',
      search: q.search ?? '',
      limit: q.limit ?? 50,
      offset: q.offset ?? 0,
    });
  }

  async entry(p: Principal, slug: string, id: number) {
    const org = await this.org(p, slug, 'view');
    const e = await this.ctx.blocklist.getEntry(org.id, id);
    if (!e || e.removedAt !== null)
      throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no active entry ${id} in "${slug}"`, { entry: id });
    return e;
  }

  /**
   * Blocks, or re-posts a block on an existing entry. Beyond the role's `block` action the scope is
   * checked (agents: contacts only; supervisors: no prefix shorter than the org's minimum), and a
   * re-post that weakens the entry (reject → voicemail, an expiry added or brought forward) needs
   * `unblock`: weakening is unblocking (seed 000, admins only).
   */
  async block(p: Principal, slug: string, input: BlockInput) {
    const org = await this.org(p, slug, 'block');
    const target = this.ctx.blocklist.plainTarget(targetOf(input));
    const value = await this.ctx.blocklist.resolveTarget(org, target, 'block');
    checkBlockScope(
      p.user,
      org,
      await this.policies.get(org.id),
      target.kind === 'exact' ? 'number' : target.kind,
      target.kind === 'prefix' ? value : '',
    );
    let name = input.name ?? '';
    // A contact block with no name of its own is listed under the contact's name (seed 001 pre-fills it).
    if (!name.trim() && input.kind === 'contact' && input.contactId !== undefined) {
      name = (await this.ctx.contacts.get(org.id, input.contactId))?.name ?? '';
    }
    const mode = input.mode ?? org.policy.defaultMode;
    // Parsed once here so the weakening check and the write use the same instant.
    const expiresAt = input.expires ? parseExpiry(input.expires, this.ctx.clock.now()) : null;
    const existing = await this.ctx.db.get<{
      mode: BlockMode;
      expires_at: number | null;
      observe_since: number | null;
      dids: string;
      disabled_at: number | null;
    }>(
      "SELECT mode, expires_at, observe_since, dids, disabled_at FROM entries WHERE org_id = ? AND value = ? AND kind = ? AND list = 'block' AND removed_at IS NULL",
      [org.id, value, target.kind],
    );
    // Issue #16: putting an enforced block in observe mode, or narrowing it to some DIDs, lets
    // calls through that it stopped: weakening too. (Enabling a disabled one strengthens.)
    const enforced = existing !== undefined && existing.disabled_at === null && existing.observe_since === null;
    const narrowed =
      existing !== undefined &&
      input.dids !== undefined &&
      input.dids.length > 0 &&
      existing.dids !== (await this.ctx.blocklist.resolveDids(org, input.dids));
    const weakens =
      existing !== undefined &&
      (isWeakening({ mode: existing.mode, expiresAt: existing.expires_at }, { mode, expiresAt }) ||
        (enforced && (input.observe === true || narrowed)));
    if (existing && weakens && !can(p.user, org, 'unblock')) {
      throw new CallscreenError(
        'CS_ERR_FORBIDDEN',
        `this would weaken an existing block (${existing.mode}${existing.expires_at === null ? ', no expiry' : ''}); weakening is unblocking, which only admins do`,
        { permission: 'unblock', role: p.user.role, entry: value },
      );
    }
    const options = {
      mode,
      name,
      reason: input.reason ?? '',
      expires: expiresAt,
      ...(input.observe === true ? { observe: true } : {}),
      ...(input.dids !== undefined ? { dids: input.dids } : {}),
    };
    if (input.confirm !== true)
      requireConfirmation(await this.ctx.whatIf.report(slug, { list: 'block', target, options }), false, CONFIRM_HOW);
    return this.ctx.blocklist.block(slug, target, options, p.actor);
  }

  async allow(p: Principal, slug: string, input: BlockInput) {
    await this.org(p, slug, 'allow');
    if (input.observe === true)
      throw new CallscreenError('CS_ERR_INVALID_VALUE', 'observe mode is for blocks, not allow entries', {
        field: 'observe',
      });
    const target = targetOf(input);
    const options = {
      name: input.name ?? '',
      reason: input.reason ?? '',
      expires: input.expires ?? null,
      requireAttestation: input.requireAttestation === true,
      ...(input.dids !== undefined ? { dids: input.dids } : {}),
    };
    if (input.confirm !== true)
      requireConfirmation(await this.ctx.whatIf.report(slug, { list: 'allow', target, options }), false, CONFIRM_HOW);
    return this.ctx.blocklist.allow(slug, target, options, p.actor);
  }

  /**
   * What an entry would have done over the org's recorded calls, saving nothing (what-if.ts). Allowed
   * to whoever may save the entry: `block` (and its scope) or `allow`.
   */
  async whatIf(p: Principal, slug: string, input: WhatIfInput): Promise<WhatIfReport> {
    const list = input.list ?? 'block';
    const org = await this.org(p, slug, list);
    const target = targetOf(input);
    if (list === 'block') {
      const value = await this.ctx.blocklist.resolveTarget(org, target, 'block');
      checkBlockScope(p.user, org, await this.policies.get(org.id), input.kind, target.kind === 'prefix' ? value : '');
    }
    const options = {
      ...(list === 'block' && input.mode !== undefined ? { mode: input.mode } : {}),
      name: input.name ?? '',
      reason: input.reason ?? '',
      expires: input.expires ?? null,
      ...(input.observe === true ? { observe: true } : {}),
      ...(input.dids !== undefined ? { dids: input.dids } : {}),
      ...(input.requireAttestation === true ? { requireAttestation: true } : {}),
    };
    return this.ctx.whatIf.report(slug, { list, target, options }, input.days);
  }

  /** Expired, unused and shadowed entries (stale-report.ts): whoever may view the org's list. */
  async staleReport(p: Principal, slug: string, q: StaleQuery): Promise<StaleReport> {
    await this.org(p, slug, 'view');
    return this.ctx.stale.report(slug, q);
  }

  /** Their clean-up: unblocking and removing allow entries, so `unblock` and `allow` (admins). */
  async staleCleanUp(
    p: Principal,
    slug: string,
    q: StaleQuery & { dryRun?: boolean },
    reason = '',
  ): Promise<CleanUpResult> {
    await this.org(p, slug, 'unblock');
    await this.org(p, slug, 'allow');
    return this.ctx.stale.cleanUp(slug, q, p.actor, reason);
  }

  /** Flood detection settings (issue #16): anyone who may view the org; changed by admins (`settings`). */
  async floodSettings(p: Principal, slug: string): Promise<OrgFloodPolicy> {
    await this.org(p, slug, 'view');
    return this.ctx.flood.get(slug);
  }

  async setFlood(
    p: Principal,
    slug: string,
    changes: Readonly<Record<string, unknown>>,
    reset: boolean,
  ): Promise<OrgFloodPolicy> {
    await this.org(p, slug, 'settings');
    return this.ctx.flood.set(slug, changes, p.actor, reset);
  }

  /** Handset block requests: read with `audit`, decided with `unblock` (admins), as the API. */
  async blockRequests(p: Principal, slug: string, status: BlockRequest['status'] | 'all'): Promise<BlockRequest[]> {
    await this.org(p, slug, 'audit');
    return this.ctx.handset.list(slug, status);
  }

  async approveBlockRequest(p: Principal, slug: string, id: number): Promise<BlockRequest> {
    await this.org(p, slug, 'unblock');
    return this.ctx.handset.approve(slug, id, p.actor);
  }

  async declineBlockRequest(p: Principal, slug: string, id: number, note: string): Promise<BlockRequest> {
    await this.org(p, slug, 'unblock');
    return this.ctx.handset.decline(slug, id, p.actor, note);
  }

  async unblock(p: Principal, slug: string, entryId: number, note = '') {
    await this.org(p, slug, 'unblock');
    return this.ctx.blocklist.removeById(slug, entryId, p.actor, note);
  }

  async contacts(p: Principal, slug: string, search = '') {
    await this.org(p, slug, 'view');
    return this.ctx.contacts.list(slug, search);
  }

  async contact(p: Principal, slug: string, id: number) {
    const org = await this.org(p, slug, 'view');
    return this.ctx.contacts.require(org.id, id);
  }

  async addContact(p: Principal, slug: string, name: string, numbers: readonly string[]) {
    await this.org(p, slug, 'contacts');
    return this.ctx.contacts.add(slug, name, numbers, p.actor);
  }

  /**
   * Seed 002: unblocking a contact settles its held messages first: release all (delivered now)
   * or delete all. If a release fails (no PBX link) nothing is unblocked and the error is reported.
   */
  async unblockContact(p: Principal, slug: string, contactId: number, messages: 'release' | 'delete', note = '') {
    const org = await this.org(p, slug, 'unblock');
    await this.ctx.contacts.require(org.id, contactId);
    const settled = await this.ctx.quarantine.settleAll(org.id, { contactId }, messages, p.actor);
    const entry = await this.ctx.blocklist.unblock(slug, { kind: 'contact', contactId }, p.actor, note);
    return { entry, settled, messages };
  }

  async quarantine(
    p: Principal,
    slug: string,
    q: { contactId?: number; status?: 'held' | 'released' | 'all'; limit?: number; offset?: number },
  ) {
    const org = await this.org(p, slug, 'quarantine');
    return this.ctx.quarantine.list(org.id, {
      status: q.status ?? 'held',
      limit: q.limit ?? 100,
      offset: q.offset ?? 0,
      ...(q.contactId !== undefined ? { contactId: q.contactId } : {}),
    });
  }

  async releaseMessage(p: Principal, slug: string, id: number) {
    const org = await this.org(p, slug, 'quarantine');
    return this.ctx.quarantine.release(org.id, id, p.actor);
  }

  async deleteMessage(p: Principal, slug: string, id: number) {
    const org = await this.org(p, slug, 'quarantine');
    await this.ctx.quarantine.delete(org.id, id, p.actor);
  }

  async settleMessages(
    p: Principal,
    slug: string,
    selector: { contactId?: number; from?: string },
    action: 'release' | 'delete',
  ) {
    const org = await this.org(p, slug, 'quarantine');
    return this.ctx.quarantine.settleAll(org.id, selector, action, p.actor);
  }

  /** Recent calls, filtered by channel, verdict and (partial) number; every node's in a shared store. */
  async recentCalls(
    p: Principal,
    slug: string,
    q: { limit?: number; offset?: number; channel?: Channel; action?: VerdictAction; number?: string },
  ): Promise<RecentCallsPage> {
    const org = await this.org(p, slug, 'view');
    return this.calls.find(org.id, { ...q, limit: q.limit ?? 50, offset: q.offset ?? 0 });
  }

  async dashboard(p: Principal, slug: string, days = 14) {
    const org = await this.org(p, slug, 'dashboard');
    return this.dashboardQuery.forOrg(org.id, days);
  }

  async audit(p: Principal, slug: string, f: AuditFilter) {
    const org = await this.org(p, slug, 'audit');
    return this.ctx.audit.query({ orgId: org.id, ...f });
  }

  async settings(p: Principal, slug: string): Promise<Org['policy'] & { supervisorMinPrefixDigits: number | null }> {
    const org = await this.org(p, slug, 'settings');
    return { ...org.policy, supervisorMinPrefixDigits: (await this.policies.get(org.id)).minPrefixDigits };
  }

  async updateSettings(p: Principal, slug: string, patch: SettingsInput, note = '') {
    const org = await this.org(p, slug, 'settings');
    const { supervisorMinPrefixDigits, ...orgPatch } = patch;
    if (
      supervisorMinPrefixDigits != null &&
      !(
        Number.isInteger(supervisorMinPrefixDigits) &&
        supervisorMinPrefixDigits >= 1 &&
        supervisorMinPrefixDigits <= 15
      )
    ) {
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        'supervisorMinPrefixDigits must be 1–15 digits or null (country code + 3)',
        { field: 'supervisorMinPrefixDigits' },
      );
    }
    // The org's own settings first: they validate and refuse before anything is written.
    if (Object.keys(orgPatch).length > 0) await this.ctx.orgs.updateSettings(slug, orgPatch, p.actor, note);
    if (supervisorMinPrefixDigits !== undefined) {
      await this.ctx.db.transaction(async () => {
        await this.policies.setMinPrefixDigits(org.id, supervisorMinPrefixDigits);
        await this.ctx.audit.append(org.id, p.actor, 'org.settings', slug, note, { supervisorMinPrefixDigits });
      });
    }
    return this.settings(p, slug);
  }

  /** The admin-only policy of an org the user may see (pages use it to explain refusals). */
  async adminPolicy(p: Principal, slug: string): Promise<AdminOrgPolicy> {
    return this.policies.get((await this.org(p, slug, 'view')).id);
  }

  /** Softphones ask before dialling: the same decision the PBX adapters would get (seed 001). */
  async precheck(p: Principal, slug: string, number: string, channel: Channel = 'call') {
    await this.org(p, slug, 'view');
    const v = await this.ctx.screener.screen({
      org: slug,
      channel,
      direction: 'outbound',
      from: p.user.name,
      to: number,
    });
    return { action: v.action, reason: v.reason, normalized: v.normalized, rule: v.rule };
  }

  // ---- Actions the API lacked (issue #17): orgs and DIDs, contact numbers, editing an entry,
  // removing an allow entry, the inbound check. Same pattern: authorise, check scope, call services.

  /** One organisation: settings, DIDs, and what this user may do in it. */
  async orgDetail(p: Principal, slug: string) {
    const org = await this.org(p, slug, 'view');
    return {
      slug: org.slug,
      name: org.name,
      region: org.policy.region,
      settings: org.policy,
      dids: await this.ctx.orgs.dids(org.id),
      permissions: permissionsFor(p.user, org),
    };
  }

  async addDids(p: Principal, slug: string, numbers: readonly string[]) {
    const org = await this.org(p, slug, 'settings');
    const added = await this.ctx.orgs.addDids(slug, numbers, p.actor);
    return { added, dids: await this.ctx.orgs.dids(org.id) };
  }

  async removeDids(p: Principal, slug: string, numbers: readonly string[], note = '') {
    const org = await this.org(p, slug, 'settings');
    const removed = await this.ctx.orgs.removeDids(slug, numbers, p.actor, note);
    return { removed, dids: await this.ctx.orgs.dids(org.id) };
  }

  /**
   * `updateSettings` plus the org's region and name. Everything is validated before anything is
   * written (the region here, the rest by updateSettings), so bad input changes nothing.
   */
  async updateOrgSettings(
    p: Principal,
    slug: string,
    patch: SettingsInput & { region?: string; name?: string },
    note = '',
  ) {
    await this.org(p, slug, 'settings');
    const { region, ...rest } = patch;
    if (region !== undefined) this.ctx.orgs.checkRegion(region);
    await this.updateSettings(p, slug, rest, note);
    if (region !== undefined) await this.ctx.orgs.setRegion(slug, region, p.actor, note);
    return { name: (await this.ctx.orgs.require(slug)).name, ...(await this.settings(p, slug)) };
  }

  async addContactNumbers(p: Principal, slug: string, contactId: number, numbers: readonly string[]) {
    await this.org(p, slug, 'contacts');
    return this.ctx.contacts.addNumbers(slug, contactId, numbers, p.actor);
  }

  /** Taking a number off a blocked contact unblocks that number: weakening, so admins only. */
  async removeContactNumbers(p: Principal, slug: string, contactId: number, numbers: readonly string[], note = '') {
    const org = await this.org(p, slug, 'contacts');
    await this.ctx.contacts.require(org.id, contactId);
    if ((await this.ctx.contacts.activeBlock(org.id, contactId)) && !can(p.user, org, 'unblock')) {
      throw new CallscreenError(
        'CS_ERR_FORBIDDEN',
        `contact ${contactId} is blocked: removing a number from it unblocks that number, which only admins do`,
        { permission: 'unblock', role: p.user.role, contact: contactId },
      );
    }
    return this.ctx.contacts.removeNumbers(slug, contactId, numbers, p.actor, note);
  }

  /**
   * Edits an entry in place (mode, name, reason, expiry). Block entries: the same scope rules as
   * blocking (agents contacts only, supervisors no prefix shorter than the minimum), and a change
   * that weakens the entry (reject → voicemail, an expiry added or brought forward) needs `unblock`.
   * Allow entries: admins (`allow`).
   */
  async editEntry(p: Principal, slug: string, id: number, list: 'block' | 'allow', changes: EntryEdit, note = '') {
    const org = await this.org(p, slug, list);
    const e = await this.ctx.blocklist.getEntry(org.id, id);
    if (!e || e.removedAt !== null)
      throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no active entry ${id} in "${slug}"`, { entry: id });
    if (e.list !== list) {
      throw new CallscreenError(
        'CS_ERR_ENTRY_NOT_FOUND',
        `entry ${id} is on the ${e.list} list, not the ${list} list`,
        { entry: id, list: e.list },
      );
    }
    // Parsed once so the weakening check and the write use the same instant.
    const expiresAt =
      changes.expires === undefined
        ? undefined
        : changes.expires === null || changes.expires === ''
          ? null
          : parseExpiry(changes.expires, this.ctx.clock.now());
    if (list === 'block') {
      checkBlockScope(
        p.user,
        org,
        await this.policies.get(org.id),
        e.kind === 'exact' ? 'number' : e.kind,
        e.kind === 'prefix' ? e.value : '',
      );
      const after = { mode: changes.mode ?? e.mode, expiresAt: expiresAt === undefined ? e.expiresAt : expiresAt };
      if (isWeakening({ mode: e.mode, expiresAt: e.expiresAt }, after) && !can(p.user, org, 'unblock')) {
        throw new CallscreenError(
          'CS_ERR_FORBIDDEN',
          `this would weaken entry ${id} (${e.mode}${e.expiresAt === null ? ', no expiry' : ''}); weakening is unblocking, which only admins do`,
          { permission: 'unblock', role: p.user.role, entry: id },
        );
      }
    }
    return this.ctx.blocklist.edit(
      slug,
      id,
      {
        ...(changes.mode !== undefined ? { mode: changes.mode } : {}),
        ...(changes.name !== undefined ? { name: changes.name } : {}),
        ...(changes.reason !== undefined ? { reason: changes.reason } : {}),
        ...(expiresAt !== undefined ? { expires: expiresAt } : {}),
      },
      p.actor,
      note,
    );
  }

  /** Removes an allow entry (admins); the block entries under it apply again. */
  async disallow(p: Principal, slug: string, id: number, note = '') {
    const org = await this.org(p, slug, 'allow');
    const e = await this.ctx.blocklist.getEntry(org.id, id);
    if (!e || e.removedAt !== null || e.list !== 'allow')
      throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no active allow entry ${id} in "${slug}"`, { entry: id });
    return this.ctx.blocklist.removeById(slug, id, p.actor, note);
  }

  /**
   * What an inbound call or message from `from` would get now: the daemon's own Screener logic over
   * the daemon's own in-memory index (so the verdict is the one a call gets), but with no recorder,
   * so asking does not count as a hit on the matched entry.
   */
  async checkInbound(
    p: Principal,
    slug: string,
    from: string,
    channel: Channel = 'call',
    withheld = false,
    verstat?: string,
  ) {
    await this.org(p, slug, 'view');
    const screener = new Screener(
      this.ctx.index,
      this.ctx.normalizer,
      this.ctx.clock,
      null,
      undefined,
      identitySettingsFrom(() => this.ctx.config),
    );
    const attestation = verstat !== undefined ? parseVerstat(verstat) : undefined;
    const v = await screener.screen({
      org: slug,
      channel,
      direction: 'inbound',
      from,
      to: '',
      withheld,
      ...(attestation ? { attestation } : {}),
    });
    // An inbound request never gets an agent's outbound action; the API documents the inbound ones.
    if (!isInboundAction(v.action))
      throw new CallscreenError('CS_ERR_INTERNAL', `inbound screening answered "${v.action}"`, { action: v.action });
    return {
      action: v.action,
      reason: v.reason,
      normalized: v.normalized,
      rule: v.rule,
      sipCode: v.sipCode ?? null,
      ...(attestation ? { attestation: attestationText(attestation) } : {}),
    };
  }
}

/**
 * The panel's and API's side of RuleService (issue #16), authorised as admin-operations.ts does:
 * the role first, then what only the entry can tell.
 *
 * - disable, and observe (an enforced block stops blocking): weakening, so `unblock` for a block
 *   entry (admins); `allow` for an allow entry;
 * - enable and promote (it blocks again, or from now on): `block`, with the same scope rules as
 *   blocking it (agents contacts only, supervisors no prefix shorter than the minimum); `allow` for
 *   an allow entry;
 * - the observe report: `view`; allowlist-only DIDs and the pattern minimum: `settings`.
 */
import type { BlockMode } from '../core/entry.js';
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import type { EntryRecord } from '../store/rows.js';
import { checkBlockScope } from './access-policy.js';
import type { AdminOperations, Principal } from './admin-operations.js';

export type EntryAction = 'disable' | 'enable' | 'observe' | 'promote';

export class RuleOperations {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly ops: AdminOperations,
  ) {}

  async act(p: Principal, slug: string, id: number, action: EntryAction, note = ''): Promise<EntryRecord> {
    const view = await this.ops.org(p, slug, 'view');
    const e = await this.ctx.blocklist.getEntry(view.id, id);
    if (!e || e.removedAt !== null)
      throw new CallscreenError('CS_ERR_ENTRY_NOT_FOUND', `no active entry ${id} in "${slug}"`, { entry: id });
    const weakens = action === 'disable' || action === 'observe';
    const org = await this.ops.org(p, slug, e.list === 'allow' ? 'allow' : weakens ? 'unblock' : 'block');
    if (e.list === 'block' && !weakens) {
      checkBlockScope(
        p.user,
        org,
        await this.ops.policies.get(org.id),
        e.kind === 'exact' ? 'number' : e.kind,
        e.kind === 'prefix' ? e.value : '',
      );
    }
    const r = this.ctx.rules;
    switch (action) {
      case 'disable':
        return r.setDisabled(slug, id, true, p.actor, note);
      case 'enable':
        return r.setDisabled(slug, id, false, p.actor, note);
      case 'observe':
        return r.observe(slug, id, p.actor, note);
      case 'promote':
        return r.promote(slug, id, p.actor, note);
    }
  }

  async report(p: Principal, slug: string, id: number, limit = 20) {
    await this.ops.org(p, slug, 'view');
    return this.ctx.rules.observeReport(slug, id, limit);
  }

  async dids(p: Principal, slug: string) {
    await this.ops.org(p, slug, 'settings');
    return this.ctx.rules.didRules(slug);
  }

  async setAllowlistOnly(p: Principal, slug: string, did: string, mode: BlockMode | null, note = '') {
    await this.ops.org(p, slug, 'settings');
    return this.ctx.rules.setAllowlistOnly(slug, did, mode, p.actor, note);
  }

  async patternMinimum(p: Principal, slug: string) {
    await this.ops.org(p, slug, 'view');
    return this.ctx.rules.minPatternDigits(slug);
  }

  async setPatternMinimum(p: Principal, slug: string, digits: number | null, note = '') {
    await this.ops.org(p, slug, 'settings');
    return this.ctx.rules.setMinPatternDigits(slug, digits, p.actor, note);
  }
}

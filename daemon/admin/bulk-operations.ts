/**
 * Bulk changes from the panel and the API (issue #17): unblock many entries at once, chosen by id
 * or as "every entry matching this search" (no 1,000 cap: ids are gathered page by page, then
 * removed in one transaction, so it is all or nothing). Authorised like a single unblock.
 */
import { CallscreenError } from '../core/errors.js';
import type { DaemonContext } from '../daemon-context.js';
import { MAX_LIST_PAGE } from '../services/blocklist-service.js';
import type { AdminOperations, Principal } from './admin-operations.js';

/** Most entries one bulk request may remove (a search matching more is refused, not cut). */
export const MAX_BULK = 100_000;

export interface BulkSelection {
  /** Entry ids chosen one by one. */
  readonly ids?: readonly number[];
  /** Every active block entry matching this search ("" = the whole list) — with `all`. */
  readonly search?: string;
  readonly all?: boolean;
}

export class BulkOperations {
  constructor(
    private readonly ctx: DaemonContext,
    private readonly ops: AdminOperations,
  ) {}

  /** The ids a selection means, checked: at least one, at most MAX_BULK. */
  async selectedIds(p: Principal, slug: string, sel: BulkSelection): Promise<number[]> {
    await this.ops.org(p, slug, 'view');
    if (sel.all === true) {
      const ids: number[] = [];
      for (let offset = 0; ; offset += MAX_LIST_PAGE) {
        const page = await this.ctx.blocklist.list(slug, {
          list: 'block',
          search: sel.search ?? '',
          limit: MAX_LIST_PAGE,
          offset,
        });
        for (const e of page.entries) ids.push(e.id);
        if (page.total > MAX_BULK)
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `${page.total} entries match; one bulk unblock takes at most ${MAX_BULK} — narrow the search`,
            { field: 'search' },
          );
        if (page.entries.length < MAX_LIST_PAGE) break;
      }
      if (ids.length === 0)
        throw new CallscreenError('CS_ERR_INVALID_VALUE', 'no blocked entries match; nothing to unblock', {
          field: 'search',
        });
      return ids;
    }
    const ids = [...new Set(sel.ids ?? [])];
    if (ids.length === 0)
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        'choose at least one entry to unblock (ids), or all entries matching a search (all)',
        { field: 'ids' },
      );
    if (ids.length > MAX_BULK)
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `at most ${MAX_BULK} entries at once`, { field: 'ids' });
    for (const id of ids)
      if (!Number.isSafeInteger(id) || id <= 0)
        throw new CallscreenError('CS_ERR_INVALID_VALUE', `entry id "${String(id)}" is not a positive integer`, {
          field: 'ids',
        });
    return ids;
  }

  /**
   * Unblocks every selected entry, all or nothing. A blocked contact with held messages is refused:
   * its unblock first releases or deletes them (seed 002), which is the contact's own Unblock.
   */
  async unblockMany(p: Principal, slug: string, sel: BulkSelection, note = '') {
    const org = await this.ops.org(p, slug, 'unblock');
    const ids = await this.selectedIds(p, slug, sel);
    for (const id of ids) {
      const e = await this.ctx.blocklist.getEntry(org.id, id);
      if (e && e.kind === 'contact' && e.contactId !== null && e.removedAt === null) {
        const held = await this.ctx.quarantine.list(org.id, { contactId: e.contactId, status: 'held', limit: 1 });
        if (held.total > 0) {
          throw new CallscreenError(
            'CS_ERR_INVALID_VALUE',
            `contact "${e.name || e.value}" has ${held.total} held message(s): unblock it on its own to release or delete them first; nothing was unblocked`,
            { field: 'ids', entry: id },
          );
        }
      }
    }
    const removed = await this.ctx.blocklist.removeMany(slug, ids, 'block', p.actor, note);
    return { unblocked: removed.length, entries: removed };
  }
}

/**
 * The green banner after a form post. `?notice=` only chooses a message from this fixed set; what
 * the message names (a number, a contact) is read from the database by id (`ref`, in the org the
 * user is authorised for) and counts are integers, so a crafted link cannot put words of its own on
 * a trusted page. An unknown key or a malformed ref/count is a 400 naming the parameter.
 */
import { describeTarget } from '../services/blocklist-service.js';
import type { DaemonContext } from '../daemon-context.js';
import type { Org } from '../store/rows.js';
import { CallscreenError } from '../core/errors.js';

export type NoticeKey =
  | 'blocked'
  | 'unblocked'
  | 'allowed'
  | 'disallowed'
  | 'contact-added'
  | 'contact-blocked'
  | 'contact-unblocked-released'
  | 'contact-unblocked-deleted'
  | 'released'
  | 'deleted'
  | 'settled-released'
  | 'settled-deleted'
  | 'settings-saved'
  | 'password-changed'
  | 'token-revoked'
  | 'edited'
  | 'bulk-unblocked'
  | 'imported'
  | 'numbers-added'
  | 'numbers-removed'
  | 'dids-added'
  | 'dids-removed'
  | 'org-saved'
  | 'user-disabled'
  | 'user-enabled'
  | 'user-role'
  | 'stale-cleaned'
  | 'request-declined'
  | 'entry-disabled'
  | 'entry-enabled'
  | 'entry-observing'
  | 'entry-promoted'
  | 'did-screening-saved'
  | 'pattern-minimum-saved';

export interface NoticeArgs {
  /** An entry or contact id, per key. */
  readonly ref?: number;
  readonly count?: number;
}

const plural = (n: number, word: string) => `${n} ${word}${n === 1 ? '' : 's'}`;

/** Query string for a redirect: `notice=key&ref=…&count=…`. */
export function noticeQuery(key: NoticeKey, args: NoticeArgs = {}): string {
  return `notice=${key}${args.ref !== undefined ? `&ref=${args.ref}` : ''}${args.count !== undefined ? `&count=${args.count}` : ''}`;
}

function intParam(raw: string, name: string): number {
  if (!/^\d{1,9}$/.test(raw))
    throw new CallscreenError('CS_ERR_INVALID_VALUE', `query parameter "${name}" must be a whole number`, {
      field: name,
      in: 'querystring',
    });
  return Number(raw);
}

/** The banner text for `?notice=&ref=&count=`, or undefined when there is none. */
export async function renderNotice(
  ctx: DaemonContext,
  org: Org,
  query: Record<string, unknown>,
): Promise<string | undefined> {
  const key = typeof query.notice === 'string' ? query.notice : '';
  if (key === '') return undefined;
  const ref = typeof query.ref === 'string' ? intParam(query.ref, 'ref') : 0;
  const count = typeof query.count === 'string' ? intParam(query.count, 'count') : 0;
  const entry = async () => {
    const e = await ctx.blocklist.getEntry(org.id, ref);
    if (!e) return 'the entry';
    if (e.kind === 'contact') return `contact ${e.name || e.value}`;
    return e.kind === 'exact' ? e.value : describeTarget(e.kind, e.value);
  };
  const contact = async () => (await ctx.contacts.get(org.id, ref))?.name ?? 'the contact';
  switch (key) {
    case 'blocked':
      return `Blocked ${await entry()}.`;
    case 'unblocked':
      return `Unblocked ${await entry()}.`;
    case 'allowed':
      return `Added ${await entry()} to the allow list.`;
    case 'disallowed':
      return `Removed ${await entry()} from the allow list.`;
    case 'contact-added':
      return `Added contact ${await contact()}.`;
    case 'contact-blocked':
      return `Blocked contact ${await contact()}: all their numbers.`;
    case 'contact-unblocked-released':
      return `Unblocked contact ${await contact()}; released ${plural(count, 'message')}.`;
    case 'contact-unblocked-deleted':
      return `Unblocked contact ${await contact()}; deleted ${plural(count, 'message')}.`;
    case 'entry-disabled':
      return `Disabled ${await entry()}: kept, but it no longer matches.`;
    case 'entry-enabled':
      return `Enabled ${await entry()} again.`;
    case 'entry-observing':
      return `${await entry()} is in observe mode: calls get through and are recorded.`;
    case 'entry-promoted':
      return `Promoted ${await entry()}: it blocks from now on.`;
    case 'released':
      return 'Released the message.';
    case 'deleted':
      return 'Deleted the message.';
    case 'settled-released':
      return `Released ${plural(count, 'message')}.`;
    case 'settled-deleted':
      return `Deleted ${plural(count, 'message')}.`;
    case 'settings-saved':
      return 'Settings saved.';
    case 'did-screening-saved':
      return 'Saved who may ring the inbound number.';
    case 'pattern-minimum-saved':
      return 'Saved the pattern minimum.';
    case 'password-changed':
      return 'Password changed; your other sessions were signed out.';
    case 'token-revoked':
      return 'Token revoked.';
    case 'edited':
      return `Saved the changes to ${await entry()}.`;
    case 'bulk-unblocked':
      return `Unblocked ${plural(count, 'entry').replace(/entrys$/, 'entries')}.`;
    case 'imported':
      return `Imported ${plural(count, 'row')}.`;
    case 'numbers-added':
      return `Added ${plural(count, 'number')} to contact ${await contact()}.`;
    case 'numbers-removed':
      return `Removed ${plural(count, 'number')} from contact ${await contact()}.`;
    case 'dids-added':
      return `Added ${plural(count, 'inbound number')}.`;
    case 'dids-removed':
      return `Removed ${plural(count, 'inbound number')}.`;
    case 'org-saved':
      return 'Organisation name and region saved.';
    case 'user-disabled':
      return 'User disabled: signed out everywhere, their tokens revoked.';
    case 'user-enabled':
      return 'User enabled.';
    case 'user-role':
      return 'Role changed; it applies from their next request.';
    case 'request-declined':
      return 'Declined the block request; the number stays unblocked.';
    case 'stale-cleaned':
      return `Removed ${count} stale ${count === 1 ? 'entry' : 'entries'}.`;
    default:
      throw new CallscreenError(
        'CS_ERR_INVALID_VALUE',
        'query parameter "notice" is not one of the panel\'s messages',
        { field: 'notice', in: 'querystring' },
      );
  }
}

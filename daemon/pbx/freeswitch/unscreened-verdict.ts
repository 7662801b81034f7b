/**
 * The verdict an adapter gives itself when the list could not answer (no org for the DID, no
 * verdict by `screening.deadline_ms`, an error). Inbound calls follow `screening.fail_mode` —
 * open: allow; closed: reject with 503 (Service Unavailable: the screening service is, and a
 * caller's network may retry elsewhere). Inbound SMS closed: quarantine. Agents' own calls and
 * messages always go on. Used by the FreeSWITCH and SIP edge adapters.
 */
import type { Channel, Direction } from '../../core/screen-request.js';
import type { Verdict } from '../../core/verdict.js';

export function unscreenedVerdict(channel: Channel, direction: Direction, mode: 'open' | 'closed', why: string): Verdict {
  const base = { normalized: '', rule: null } as const;
  if (direction === 'outbound' || mode === 'open') {
    return { ...base, failMode: 'open', action: 'allow', reason: `not screened (${why}): allowed` };
  }
  if (channel === 'sms') return { ...base, failMode: 'closed', action: 'quarantine', reason: `not screened (${why}): held (fail closed)` };
  return { ...base, failMode: 'closed', action: 'reject', sipCode: 503, reason: `not screened (${why}): rejected (fail closed)` };
}

/**
 * What the AstDB mirror stores for one listed number, decided without I/O (docs/asterisk-contract.md,
 * "AstDB mirror"). The dialplan consults the mirror only for a caller ID that is a bare `+digits`
 * number with no Privacy header, so the verdict mirrored is the core's verdict for that number,
 * inbound call, not withheld — exactly what the FastAGI route would answer for the same call.
 *
 * Only verdicts that cannot change with time are mirrored: a number whose entries (exact, contact or a
 * matching prefix) include one that has not expired yet but will, is left to the FastAGI route, and if
 * it involves a block the organisation is "unsure" (a miss in the mirror then proves nothing).
 */
import { decide, type Matches } from '../../core/decide.js';
import type { OrgPolicy } from '../../core/org-policy.js';
import type { Verdict } from '../../core/verdict.js';

export type MirrorValue =
  /** Blocked, for good: store `value` (`<action>|<sip code>|<rule>|`). */
  | { readonly kind: 'put'; readonly value: string; readonly verdict: Verdict }
  /** Allowed, for good: nothing stored; a miss means allow. */
  | { readonly kind: 'none' }
  /** Depends on time and may block: nothing stored, and a miss no longer means allow. */
  | { readonly kind: 'unsure' };

/** The verdict the FastAGI route gives a bare E.164 caller with no Privacy header. */
function plainCallVerdict(number: string, matches: Matches, policy: OrgPolicy, now: number): Verdict {
  return decide({
    channel: 'call',
    direction: 'inbound',
    subject: { kind: 'number', value: number },
    withheld: false,
    matches,
    policy,
    now,
  });
}

/**
 * `<action>|<sip code>|<rule>|`: the dialplan splits it into CALLSCREEN_ACTION and CALLSCREEN_DETAIL
 * with one MSet, which separates on commas, so the value holds no free text: the reason (an admin's
 * words) stays in the daemon's record of the call, and the detail's reason field is empty.
 */
export function mirrorValueOf(number: string, matches: Matches, policy: OrgPolicy, now: number): MirrorValue {
  let timeBound = false;
  let mayBlock = false;
  for (const list of [matches.exact, matches.prefixes]) {
    for (const e of list) {
      // Already expired: it never matches again, whatever the time.
      if (e.expiresAt !== null && e.expiresAt <= now) continue;
      // "Allow only when attested": the verdict depends on a header the dialplan's mirror step
      // does not read, so the call goes to FastAGI (and a miss no longer proves allow).
      if (e.list === 'allow' && e.requireAttestation === true) return { kind: 'unsure' };
      if (e.expiresAt !== null) timeBound = true;
      // Scoped to some DIDs (the mirror is per org, not per DID) or in observe mode (its hits are
      // recorded by the FastAGI route only): left to the route.
      if (e.observe === true || (e.dids !== undefined && e.dids !== null && e.dids.length > 0))
        return { kind: 'unsure' };
      if (e.list === 'block') mayBlock = true;
    }
  }
  // A caller presenting an own DID: allowed only when attested (own-did-unattested), which the
  // mirror cannot see. Nothing stored; the dialplan sends own DIDs to FastAGI (it skips the mirror
  // for a caller ID that is under F/did/).
  if (matches.protection === 'did') return { kind: 'none' };
  if (timeBound) return matches.protection === null && mayBlock ? { kind: 'unsure' } : { kind: 'none' };
  const verdict = plainCallVerdict(number, matches, policy, now);
  if (verdict.action !== 'reject' && verdict.action !== 'voicemail') return { kind: 'none' };
  const code = verdict.action === 'reject' ? String(verdict.sipCode ?? 603) : '';
  const rule = verdict.rule ? `${verdict.rule.kind}:${verdict.rule.id}` : '';
  return { kind: 'put', value: `${verdict.action}|${code}|${rule}|`, verdict };
}

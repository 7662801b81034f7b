/**
 * The identity rules of decide(), apart so that decide.ts stays the precedence and nothing else.
 * Pure. Inbound only: an agent's own call carries no carrier attestation.
 *
 * Where they sit in the precedence (decide.ts; the own-DID rule for calls only):
 *   emergency > **own DID presented unattested** (ownDidUnattested) > allow (an entry marked
 *   "only when attested" counts only for an attested caller) > exact/contact > prefix >
 *   unidentified > **verification failed** (attestationFailed) > allow by default.
 * A block entry beats a failed verification (it names the number; the failure is a guess), and an
 * allow entry beats it too, unless the entry asks for attestation.
 */
import { attestationText, isAttested, type Attestation } from './attestation.js';
import type { EntryView } from './entry.js';
import type { IdentityAction, OrgPolicy } from './org-policy.js';
import type { Channel, Direction } from './screen-request.js';
import type { Verdict, VerdictRule } from './verdict.js';

export interface IdentityInput {
  readonly channel: Channel;
  readonly direction: Direction;
  readonly attestation?: Attestation | undefined;
  readonly policy: OrgPolicy;
}

/** An allow entry applies: it does not ask for attestation, or the caller is attested. */
export function allowApplies(entry: EntryView, input: IdentityInput): boolean {
  return entry.requireAttestation !== true || (input.direction === 'inbound' && isAttested(input.attestation));
}

/**
 * The verdict for a caller presenting one of the org's own DIDs, or null when it is let through.
 * Calls only: messages carry no STIR/SHAKEN, so "unless attested" could never be met by one.
 */
export function ownDidVerdict(input: IdentityInput, normalized: string): Verdict | null {
  if (
    input.direction !== 'inbound' ||
    input.channel !== 'call' ||
    input.policy.ownDidUnattested === 'allow' ||
    isAttested(input.attestation)
  )
    return null;
  const rule: VerdictRule = { id: 'did', kind: 'spoofed', value: normalized };
  const how = input.attestation === undefined ? 'no attestation' : `attestation ${attestationText(input.attestation)}`;
  return identityVerdict(
    input,
    input.policy.ownDidUnattested,
    normalized,
    rule,
    `${normalized} is one of the organisation's own numbers, presented with ${how}: treated as spoofed`,
  );
}

/** The verdict for a caller whose verification failed, or null when the org lets it through. */
export function failedVerdict(input: IdentityInput, normalized: string): Verdict | null {
  const a = input.attestation;
  if (input.direction !== 'inbound' || a?.status !== 'failed' || input.policy.attestationFailed === 'allow')
    return null;
  const rule: VerdictRule = { id: 'attestation', kind: 'attestation', value: attestationText(a) };
  return identityVerdict(
    input,
    input.policy.attestationFailed,
    normalized,
    rule,
    `the carrier could not verify ${normalized} (STIR/SHAKEN ${attestationText(a)})`,
  );
}

function identityVerdict(
  input: IdentityInput,
  action: Exclude<IdentityAction, 'allow'>,
  normalized: string,
  rule: VerdictRule,
  why: string,
): Verdict {
  if (input.channel === 'sms')
    return { action: 'quarantine', normalized, rule, reason: `message held for supervisors, ${why}` };
  if (action === 'voicemail')
    return {
      action: 'voicemail',
      normalized,
      rule: { ...rule, mode: 'voicemail' },
      reason: `sent to voicemail, ${why}`,
    };
  return {
    action: 'reject',
    normalized,
    rule: { ...rule, mode: 'reject' },
    reason: `rejected, ${why}`,
    sipCode: input.policy.rejectCode,
  };
}

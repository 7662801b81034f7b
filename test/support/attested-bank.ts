import type { IdentityAction } from '../../daemon/core/org-policy.js';
import type { BlocklistService } from '../../daemon/services/blocklist-service.js';
import type { OrgService } from '../../daemon/services/org-service.js';
import { cliActor } from './harness.js';

/** A bank inside a spoofed range: allowed only when the carrier attests it (issue #16). */
export const BANK = '+15557790001';

/**
 * The attestation fixture the call and SMS adapters' tests share: org `demo` sends a failed
 * verification to `failed`, blocks the +1555779 range (reject) and allows BANK in it only when
 * attested — so one caller shows the org rule, the entry rule and the range behind them.
 */
export async function listAttestedBank(
  s: { readonly orgs: OrgService; readonly blocklist: BlocklistService },
  failed: IdentityAction,
): Promise<void> {
  await s.orgs.updateSettings('demo', { attestationFailed: failed }, cliActor);
  await s.blocklist.block('demo', { kind: 'prefix', prefix: '+1555779' }, { mode: 'reject' }, cliActor);
  await s.blocklist.allow(
    'demo',
    { kind: 'exact', number: BANK },
    { name: 'Bank', requireAttestation: true },
    cliActor,
  );
}

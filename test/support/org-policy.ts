import type { OrgPolicy } from '../../daemon/core/org-policy.js';

/**
 * An organisation's policy as migration 4 leaves a new org (failed verification allowed, an own DID
 * presented unattested to voicemail, stand-ins not unidentified), changed by `over`. One copy for
 * the suites that build a policy by hand, so a new OrgPolicy field is added here once.
 */
export function orgPolicy(over: Partial<OrgPolicy> = {}): OrgPolicy {
  return {
    region: 'US',
    outboundPolicy: 'warn',
    rejectCode: 603,
    defaultMode: 'reject',
    agentsMayBlock: false,
    attestationFailed: 'allow',
    ownDidUnattested: 'voicemail',
    standinsUnidentified: false,
    ...over,
  };
}

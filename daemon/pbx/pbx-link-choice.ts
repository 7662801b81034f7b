/**
 * Which PBX link carries what belongs to no call (released SMS, agent warnings): AMI when enabled,
 * else the inbound Event Socket, else none. One rule for the daemon (main.ts buildPbxLinks) and the
 * CLI (`quarantine release`), so a message released from either goes out the same way.
 */
import type { Config } from '../config/schema.js';

export type PbxMessagingLink = 'ami' | 'esl_inbound';

export function pbxMessagingLink(config: Config): PbxMessagingLink | null {
  // AMI first: it was the only link before [esl_inbound] existed, and a site with both keeps it.
  if (config.ami.enabled) return 'ami';
  if (config.esl_inbound.enabled) return 'esl_inbound';
  return null;
}

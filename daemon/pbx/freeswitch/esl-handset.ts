/**
 * The handset feature codes through FreeSWITCH (issue #16; docs/freeswitch-and-sip-edge.md
 * "FreeSWITCH: handset feature codes"). The shipped snippets
 * (config/freeswitch/dialplan-callscreen-handset*.xml) run the same `socket` application as
 * screening, with these channel variables set first:
 *
 *   callscreen_handset           last-caller (`*32` after a call) | current-call (`*32` during one)
 *   callscreen_handset_endpoint  the phone's directory user (agent101): the callscreen user who acts
 *   callscreen_block_caller      the number to block: the extension's last caller (mod_db,
 *                                realm callscreen_calltrace) or the caller on the line
 *   callscreen_handset_did       the DID that caller dialled (optional): it picks the org
 *
 * Nothing is decided here: HandsetBlockService blocks, queues or refuses. The answer is one
 * `set callscreen_block_result=blocked|already-blocked|queued|refused`; the dialplan plays a tone
 * for it, and for the mid-call code ends the call when the caller was blocked. A fault answers
 * refused (nothing was blocked, and the phone says so); a daemon that does not answer leaves the
 * variable empty, which the dialplan treats as refused.
 */
import type { Logger } from 'pino';
import type { HandsetBlockService, HandsetHow } from '../../services/handset-block-service.js';
import { BY_DID, type ScreeningService } from '../../services/screening-service.js';

export type HandsetResult = 'blocked' | 'already-blocked' | 'queued' | 'refused';

const HOWS: readonly HandsetHow[] = ['last-caller', 'current-call'];

export interface EslHandsetAsk {
  /** As the dialplan wrote it; checked against HOWS by answerHandset. */
  readonly how: string;
  readonly endpoint: string;
  readonly caller: string;
  readonly did: string;
  readonly uuid: string;
}

/** The handset request in a `connect` reply's channel data, or undefined for an ordinary call. */
export function readHandset(h: Readonly<Record<string, string>>): EslHandsetAsk | undefined {
  const how = (h['variable_callscreen_handset'] ?? '').trim();
  if (how === '') return undefined;
  return {
    how,
    endpoint: (h['variable_callscreen_handset_endpoint'] ?? '').trim(),
    caller: (h['variable_callscreen_block_caller'] ?? '').trim(),
    did: (h['variable_callscreen_handset_did'] ?? '').trim(),
    uuid: h['Unique-ID'] ?? h['Channel-Unique-ID'] ?? '',
  };
}

export interface EslHandsetDeps {
  readonly screening: Pick<ScreeningService, 'inboundOrg' | 'outboundOrg'>;
  /** Absent: every request answers refused (logged). */
  readonly handset?: Pick<HandsetBlockService, 'block'>;
}

/** Asks the service; never throws (a fault is `refused`, logged). */
export async function answerHandset(deps: EslHandsetDeps, ask: EslHandsetAsk, log: Logger): Promise<HandsetResult> {
  // The org of the DID the caller dialled, else the default or only org (as agents' calls).
  const org =
    (ask.did !== '' ? deps.screening.inboundOrg(BY_DID, [ask.did]) : undefined) ?? deps.screening.outboundOrg(BY_DID);
  const where = {
    endpoint: ask.endpoint,
    how: ask.how,
    caller: ask.caller,
    did: ask.did,
    org: org?.org.slug ?? null,
    callId: ask.uuid,
  };
  try {
    if (!(HOWS as readonly string[]).includes(ask.how)) {
      log.warn(where, 'handset: callscreen_handset must be last-caller or current-call');
    } else if (ask.endpoint === '') {
      log.warn(
        where,
        'handset: callscreen_handset_endpoint is empty (an unauthenticated phone, or a snippet without it)',
      );
    } else if (!org) {
      log.warn(where, 'handset: no organisation (the DID is no org’s, and the site has several orgs)');
    } else if (!deps.handset) {
      log.warn(where, 'handset: handset blocking is not wired');
    } else {
      const out = await deps.handset.block({
        org: org.org.slug,
        endpoint: ask.endpoint,
        caller: ask.caller,
        how: ask.how as HandsetHow,
      });
      log.info({ ...where, ...out }, `handset: ${out.result}`);
      return out.result;
    }
  } catch (err) {
    log.warn({ ...where, err }, 'handset block failed: nothing was blocked');
  }
  return 'refused';
}

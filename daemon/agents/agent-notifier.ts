/**
 * Tells an agent that the number they dial or text is blocked (seed 001: "you will be notified …
 * you can either proceed with the call or abort it"). The Asterisk implementation sends a SIP
 * MESSAGE through AMI `MessageSend`; FreeSWITCH sends one through ESL `chat`.
 */
import type { Verdict } from '../core/verdict.js';

export interface AgentWarning {
  readonly org: string;
  /** PBX endpoint of the agent, e.g. `agent101` (Asterisk) or `1001@domain` (FreeSWITCH). */
  readonly endpoint: string;
  /** The number the agent dialled or texted, as normalised. */
  readonly number: string;
  readonly channel: 'call' | 'sms';
  readonly verdict: Verdict;
  /** Call/channel id, so one call warns once even when several hooks see it. */
  readonly callId?: string;
}

export interface AgentNotifier {
  /** Resolves when the PBX accepted the message; never throws (failures are logged and counted). */
  notify(warning: AgentWarning): Promise<boolean>;
}

/** The text an agent sees: the number, the entry's name and reason, and what happens next. */
export function warningText(w: AgentWarning): string {
  const rule = w.verdict.rule;
  const who = rule?.name ? ` (${rule.name})` : '';
  const why = rule?.reason ? ` Reason: ${rule.reason}.` : '';
  const what = w.channel === 'sms' ? 'You are texting' : 'You are calling';
  const next =
    w.verdict.action === 'deny'
      ? ' The call was not placed.'
      : w.verdict.action === 'confirm'
        ? ' Press 1 to continue or hang up to abort.'
        : w.channel === 'sms'
          ? ' The message was sent.'
          : ' You may continue or hang up.';
  return `callscreen: ${what} ${w.number}${who}, which is on the block list.${why}${next}`;
}

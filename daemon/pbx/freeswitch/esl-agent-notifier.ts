/**
 * Agent warnings over the daemon's inbound Event Socket login, so they work outside a call's own
 * socket (an agent's SMS, or a site that screens agents' calls another way): `api chat
 * sip|<agents.message_from>|<user@domain>|<text>` makes mod_sms send a SIP MESSAGE to every
 * registration of the agent. The command itself is EslChatNotifier's (shared with the outbound
 * server); this adds counters and the "warned" log line. Failures (not connected, timeout, mod_sms's
 * error text) are logged by EslChatNotifier and counted here; notify never throws.
 */
import type { Logger } from 'pino';
import type { AgentNotifier, AgentWarning } from '../../agents/agent-notifier.js';
import { EslChatNotifier, type EslCommandSender } from './esl-chat-notifier.js';

export class EslAgentNotifier implements AgentNotifier {
  readonly counters = { sent: 0, failed: 0 };
  private readonly chat: EslChatNotifier;

  constructor(
    sender: EslCommandSender,
    messageFrom: string,
    private readonly logger: Logger,
  ) {
    // `chat` takes user@host for its from field; agents.message_from is a SIP URI.
    this.chat = new EslChatNotifier(sender, messageFrom.replace(/^sips?:/, ''), logger);
  }

  async notify(w: AgentWarning): Promise<boolean> {
    const ok = await this.chat.notify(w);
    if (ok) {
      this.counters.sent++;
      this.logger.info(
        { org: w.org, endpoint: w.endpoint, number: w.number, action: w.verdict.action, callId: w.callId },
        'agent warned',
      );
    } else {
      this.counters.failed++;
    }
    return ok;
  }
}

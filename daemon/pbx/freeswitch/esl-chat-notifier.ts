/**
 * Agent warnings over the Event Socket: `api chat sip|<from>|<to>|<body>` makes FreeSWITCH (mod_sms)
 * send a SIP MESSAGE to the registered agent `to` (`1001@domain`). It is sent on the agent's own
 * outbound socket, which is open while their call is screened, so no inbound ESL login (and no
 * password in our config) is needed.
 */
import type { Logger } from 'pino';
import { warningText, type AgentNotifier, type AgentWarning } from '../../agents/agent-notifier.js';
import type { EslFrame } from './esl-frame.js';

export interface EslCommandSender {
  send(text: string): Promise<EslFrame>;
}

/** `chat` splits its argument on `|` and the command is one line: neither may appear in a field. */
const field = (s: string): string => s.replace(/[|\r\n]+/g, ' ').trim();

export class EslChatNotifier implements AgentNotifier {
  constructor(
    private readonly sender: EslCommandSender,
    private readonly from: string,
    private readonly logger: Logger,
  ) {}

  async notify(w: AgentWarning): Promise<boolean> {
    try {
      const reply = await this.sender.send(
        `api chat sip|${field(this.from)}|${field(w.endpoint)}|${field(warningText(w))}\n\n`,
      );
      // mod_sms answers "Sent" (older builds "+OK"); anything else is its error text.
      const ok = /^(Sent|\+OK)/.test(reply.body) || (reply.headers['Reply-Text'] ?? '').startsWith('+OK');
      if (!ok) this.logger.warn({ endpoint: w.endpoint, reply: reply.body.slice(0, 200) }, 'agent warning not sent');
      return ok;
    } catch (err) {
      this.logger.warn(
        { endpoint: w.endpoint, err: err instanceof Error ? err.message : String(err) },
        'agent warning not sent',
      );
      return false;
    }
  }
}

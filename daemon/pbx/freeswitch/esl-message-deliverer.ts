/**
 * Delivers a released SMS through the inbound Event Socket: `sendevent CUSTOM SMS::SEND_MESSAGE`
 * to where the chatplan was sending it when it was held (`deliverTo`, e.g. `sip/internal/1001@pbx`),
 * From the original sender, marked `<marker>: screened`. FreeSWITCH's `+OK` means it took the event;
 * the SIP MESSAGE itself is sent asynchronously by mod_sms and sofia (no delivery report comes back).
 */
import { CallscreenError } from '../../core/errors.js';
import type { HeldMessage, MessageDeliverer } from '../../services/message-deliverer.js';
import { replyText, type EslCommands } from './esl-inbound-client.js';
import { parseDeliverTo, releasedMessageHeaders, sendMessageCommand } from './esl-send-message.js';

export class EslMessageDeliverer implements MessageDeliverer {
  constructor(
    private readonly commands: EslCommands,
    private readonly marker: string,
  ) {}

  /** Throws CS_ERR_UNAVAILABLE (not connected, refused) or CS_ERR_TIMEOUT (from the client). */
  async deliver(message: HeldMessage): Promise<void> {
    const { destProto, to } = parseDeliverTo(message.deliverTo);
    const headers = releasedMessageHeaders(message.from, to, this.marker);
    const reply = await this.commands.command(sendMessageCommand(destProto, headers, message.body));
    const text = replyText(reply);
    if (!text.startsWith('+OK')) {
      throw new CallscreenError(
        'CS_ERR_UNAVAILABLE',
        `FreeSWITCH refused the released message: ${text.slice(0, 100)}`,
        { message: message.id },
      );
    }
  }
}

/**
 * Delivers a released SMS through AMI `MessageSend` to where the dialplan would have delivered it
 * (`pjsip:agent101`), with the original sender, as the dialplan's own `MessageSend` would have.
 */
import type { HeldMessage, MessageDeliverer } from '../../services/message-deliverer.js';
import type { AmiActions } from './ami-client.js';

export class AmiMessageDeliverer implements MessageDeliverer {
  constructor(private readonly ami: AmiActions) {}

  /** Throws CS_ERR_UNAVAILABLE (not connected, refused) or CS_ERR_TIMEOUT from the AMI client. */
  async deliver(message: HeldMessage): Promise<void> {
    // An AMI header cannot hold a line break: multi-line bodies go base64 (`Base64Body`, Asterisk 13+).
    const body: Record<string, string> = /[\r\n]/.test(message.body)
      ? { Base64Body: Buffer.from(message.body, 'utf8').toString('base64') }
      : { Body: message.body };
    await this.ami.action('MessageSend', { To: message.deliverTo, From: message.from, ...body });
  }
}

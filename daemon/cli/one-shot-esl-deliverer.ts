/**
 * `callscreen quarantine release` on a FreeSWITCH site ([esl_inbound] enabled, [ami] not): the CLI
 * cannot borrow the running daemon's Event Socket login, so it logs in itself for the command and
 * sends the same `sendevent CUSTOM SMS::SEND_MESSAGE` the daemon would (EslMessageDeliverer).
 *
 * The login asks for nothing else: no event subscription, and above all it never touches the
 * `<marker>_sms` switch or the watchdog task — those belong to the running daemon, and setting them
 * from here would switch its screening off or on behind its back.
 */
import type { Config } from '../config/schema.js';
import { CallscreenError } from '../core/errors.js';
import type { EslInboundClient } from '../pbx/freeswitch/esl-inbound-client.js';
import { buildEslInboundClient } from '../pbx/freeswitch/esl-inbound-links.js';
import { EslMessageDeliverer } from '../pbx/freeswitch/esl-message-deliverer.js';
import type { HeldMessage, MessageDeliverer } from '../services/message-deliverer.js';
import type { CliContext } from './cli-context.js';

/** Resolves once logged in; rejects at the first failed attempt (refused, bad password, no greeting in command_timeout_ms). */
function loggedIn(client: EslInboundClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const off = client.onState((s) => {
      if (s === 'ready') {
        off();
        resolve();
      } else if (s === 'backoff') {
        off();
        reject(new Error(client.status().lastError ?? 'connection failed'));
      }
    });
  });
}

/** An Event Socket login opened on first use and closed when the command ends. */
export class OneShotEslDeliverer implements MessageDeliverer {
  private client: EslInboundClient | null = null;

  constructor(private readonly config: Config, private readonly ctx: CliContext) {}

  async deliver(message: HeldMessage): Promise<void> {
    // The client's timers do not keep a process alive (right for the daemon); a CLI waiting only on
    // them (between a refusal and its error) would exit mid-command, so hold the event loop open.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      await this.send(message);
    } finally {
      clearInterval(keepAlive);
    }
  }

  private async send(message: HeldMessage): Promise<void> {
    const e = this.config.esl_inbound;
    if (!this.client) {
      const client = buildEslInboundClient(this.config, this.ctx.logger().child({ component: 'esl-inbound' }), { setup: [] });
      this.client = client;
      const ready = loggedIn(client);
      await client.start();
      try {
        await ready;
      } catch (err) {
        await client.stop();
        this.client = null;
        throw new CallscreenError('CS_ERR_UNAVAILABLE', `cannot log in to FreeSWITCH's Event Socket at ${e.host}:${e.port} to deliver the message; it stays held`,
          { host: e.host, port: e.port }, { cause: err });
      }
    }
    await new EslMessageDeliverer(this.client, e.chatplan_marker).deliver(message);
  }

  async close(): Promise<void> {
    await this.client?.stop();
  }
}

/**
 * `callscreen quarantine release` delivers through its own PBX login: the running daemon's link
 * cannot be borrowed from another process. The login is opened on first use, reused for the rest
 * of the command and closed when it ends; which PBX is chosen as the daemon chooses
 * (pbxMessagingLink): AMI `MessageSend`, else the inbound Event Socket's `sendevent
 * SMS::SEND_MESSAGE`. A failed login is CS_ERR_UNAVAILABLE and the message stays held.
 */
import type { Config } from '../config/schema.js';
import { CallscreenError } from '../core/errors.js';
import { buildAmiClient } from '../pbx/asterisk/ami-links.js';
import { AmiMessageDeliverer } from '../pbx/asterisk/ami-message-deliverer.js';
import type { EslInboundClient } from '../pbx/freeswitch/esl-inbound-client.js';
import { buildEslInboundClient } from '../pbx/freeswitch/esl-inbound-links.js';
import { EslMessageDeliverer } from '../pbx/freeswitch/esl-message-deliverer.js';
import { pbxMessagingLink } from '../pbx/pbx-link-choice.js';
import type { HeldMessage, MessageDeliverer } from '../services/message-deliverer.js';
import type { CliContext } from './cli-context.js';

/** A logged-in PBX link for the length of one command. */
interface PbxLogin {
  readonly deliverer: MessageDeliverer;
  close(): Promise<void>;
}

class OneShotDeliverer implements MessageDeliverer {
  /** Kept even when it failed: the rest of a release-all fails at once instead of logging in again per message. */
  private login: Promise<PbxLogin> | null = null;

  constructor(private readonly open: () => Promise<PbxLogin>) {}

  async deliver(message: HeldMessage): Promise<void> {
    // The links' timers do not keep a process alive (right for the daemon); a CLI waiting only on
    // them (a login, a retry, a reply) would exit mid-command, so hold the event loop open.
    const keepAlive = setInterval(() => undefined, 1000);
    try {
      this.login ??= this.open();
      await (await this.login).deliverer.deliver(message);
    } finally {
      clearInterval(keepAlive);
    }
  }

  async close(): Promise<void> {
    const login = await this.login?.catch(() => null);
    await login?.close();
  }
}

async function amiLogin(config: Config, ctx: CliContext): Promise<PbxLogin> {
  const a = config.ami;
  const client = buildAmiClient(config, ctx.logger().child({ component: 'ami' }), { events: 'off' });
  await client.start();
  try {
    await client.whenConnected(a.action_timeout_ms);
  } catch (err) {
    await client.stop();
    throw new CallscreenError(
      'CS_ERR_UNAVAILABLE',
      `cannot log in to AMI at ${a.host}:${a.port} to deliver the message; it stays held`,
      { host: a.host, port: a.port },
      { cause: err },
    );
  }
  return { deliverer: new AmiMessageDeliverer(client), close: () => client.stop() };
}

/** Resolves once logged in; rejects at the first failed attempt (refused, bad password, no greeting in command_timeout_ms). */
function eslReady(client: EslInboundClient): Promise<void> {
  return new Promise((resolve, reject) => {
    const off = client.onState((s) => {
      if (s === 'connected') {
        off();
        resolve();
      } else if (s === 'backoff') {
        off();
        reject(new Error(client.status().lastError ?? 'connection failed'));
      }
    });
  });
}

/**
 * The Event Socket login asks for nothing else: no event subscription, and above all it never
 * touches the `<marker>_sms` switch or the watchdog task — those belong to the running daemon, and
 * setting them from here would switch its screening off or on behind its back.
 */
async function eslLogin(config: Config, ctx: CliContext): Promise<PbxLogin> {
  const e = config.esl_inbound;
  const client = buildEslInboundClient(config, ctx.logger().child({ component: 'esl-inbound' }), { setup: [] });
  const ready = eslReady(client);
  await client.start();
  try {
    await ready;
  } catch (err) {
    await client.stop();
    throw new CallscreenError(
      'CS_ERR_UNAVAILABLE',
      `cannot log in to FreeSWITCH's Event Socket at ${e.host}:${e.port} to deliver the message; it stays held`,
      { host: e.host, port: e.port },
      { cause: err },
    );
  }
  return { deliverer: new EslMessageDeliverer(client, e.chatplan_marker), close: () => client.stop() };
}

/** The deliverer for this command, or null when no PBX link is configured (release then fails, CS_ERR_UNAVAILABLE). */
export function oneShotDeliverer(
  config: Config,
  ctx: CliContext,
): (MessageDeliverer & { close(): Promise<void> }) | null {
  const link = pbxMessagingLink(config);
  if (link === 'ami') return new OneShotDeliverer(() => amiLogin(config, ctx));
  if (link === 'esl_inbound') return new OneShotDeliverer(() => eslLogin(config, ctx));
  return null;
}

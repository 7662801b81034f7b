/**
 * FreeSWITCH SMS screening through the chatplan (config/freeswitch/chatplan-callscreen.xml). The
 * chatplan marks a message `<marker>: screen`, `fire`s a copy of it as a MESSAGE event and `stop`s,
 * so FreeSWITCH delivers nothing itself. This component hears that copy on the inbound Event Socket,
 * asks the ScreeningService (org by DID, verdict from memory, fail mode), and does with the answer
 * what the Asterisk SMS route does (same verdict, same outcome):
 *
 * - inbound, blocked (quarantine, reject) → held in quarantine with where it was going (deliverTo);
 * - inbound, allowed → sent on with `sendevent CUSTOM SMS::SEND_MESSAGE` (its own headers,
 *   `<marker>: screened`), which is what the chatplan's `send` would have done at that point;
 * - outbound (an agent texting: `<marker>_direction: outbound`) → always sent on; a listed number
 *   warns the agent over `api chat` (SMS are never refused, only warned about);
 * - no org for the DID (agents: several orgs and none is the default) → screening.fail_mode: open
 *   delivers; closed holds (and, with no org to hold it for, does not deliver: FreeSWITCH has
 *   already answered 202 to the sender, so there is no one to refuse);
 * - the hold fails (database) → fail_mode again, as the Asterisk route: open delivers;
 * - FreeSWITCH does not take an allowed message back (not connected, refused, timeout) → held, so
 *   a message already screened is not lost; a supervisor can release it.
 *
 * Every message gets one record (`ScreeningService.record`, adapter `esl-sms`) and one log line with
 * org, call id (the event's id), from, to and verdict.
 */
import type { Logger } from 'pino';
import type { AgentNotifier } from '../../agents/agent-notifier.js';
import type { Config } from '../../config/schema.js';
import type { Verdict } from '../../core/verdict.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import type { HoldInput } from '../../services/quarantine-service.js';
import { BY_DID, type Screened, type ScreeningService } from '../../services/screening-service.js';
import type { OrgState } from '../../store/screening-index.js';
import { readChatMessage, type EslChatMessage } from './esl-chat-message.js';
import type { EslEvent } from './esl-event.js';
import { replyText, type EslCommands, type EslEventSource } from './esl-inbound-client.js';
import { sendMessageCommand } from './esl-send-message.js';

export const ESL_SMS_ADAPTER = 'esl-sms';

export interface EslSmsScreenerDeps {
  readonly screening: ScreeningService;
  readonly quarantine: { hold(input: HoldInput): Promise<number> };
  /** Warns agents (EslAgentNotifier); null: no warnings. */
  readonly notifier: AgentNotifier | null;
  readonly events: EslEventSource;
  readonly commands: EslCommands;
  /** The config at start; reload() replaces it (screening.* apply to the next message). */
  readonly config: Config;
  readonly logger: Logger;
}

export type EslSmsOutcomeKind = 'delivered' | 'held' | 'dropped' | 'failed';

export interface EslSmsOutcome {
  readonly id: string;
  readonly direction: 'inbound' | 'outbound';
  readonly verdict: Verdict;
  readonly outcome: EslSmsOutcomeKind;
  readonly quarantineId?: number;
}

export class EslSmsScreener {
  readonly name = 'esl-sms';
  private config: Config;
  private unsubscribe: (() => void) | null = null;
  private readonly inflight = new Set<Promise<void>>();
  private readonly outcomeListeners = new Set<(o: EslSmsOutcome) => void>();
  /** Stands in for an id when FreeSWITCH gave the event none. */
  private localSeq = 0;
  readonly counters = { messages: 0, delivered: 0, held: 0, dropped: 0, failed: 0, warnings: 0 };

  constructor(private readonly deps: EslSmsScreenerDeps) {
    this.config = deps.config;
  }

  start(): Promise<void> {
    this.unsubscribe ??= this.deps.events.onEvent((e) => this.onEvent(e));
    return Promise.resolve();
  }

  /** Stops hearing events and waits for the messages in hand (each bounded by the command timeout). */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    await Promise.allSettled([...this.inflight]);
  }

  reload(next: Config): readonly string[] {
    this.config = next;
    return [];
  }

  health(): ComponentHealth {
    return {
      ok: this.unsubscribe !== null,
      state: this.unsubscribe !== null ? 'screening' : 'stopped',
      required: false,
      detail: { ...this.counters, inflight: this.inflight.size },
    };
  }

  /** Called once per message screened, with what became of it (for tests and metrics). */
  onOutcome(listener: (o: EslSmsOutcome) => void): () => void {
    this.outcomeListeners.add(listener);
    return () => this.outcomeListeners.delete(listener);
  }

  private onEvent(e: EslEvent): void {
    const h = e.headers;
    if (h['Event-Name'] !== 'MESSAGE') return;
    if (h[this.config.esl_inbound.chatplan_marker] !== 'screen') return;
    // The core's own delivery reports are copies of a message already handled.
    if (h['Delivery-Failure'] !== undefined || h['Nonblocking-Delivery'] !== undefined) return;
    const p = this.handle(e)
      .catch((err: unknown) => {
        this.counters.failed++;
        this.deps.logger.error({ err: err instanceof Error ? err.message : String(err) }, 'SMS screening failed');
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async handle(e: EslEvent): Promise<void> {
    this.counters.messages++;
    const started = performance.now();
    const config = this.config;
    const read = readChatMessage(e, config.esl_inbound.chatplan_marker);
    const m: EslChatMessage = read.id !== '' ? read : { ...read, id: `esl-sms-${++this.localSeq}` };
    const ask = {
      channel: 'sms',
      direction: m.direction,
      from: m.from,
      to: m.to,
      withheld: m.withheld,
      ...(m.attestation ? { attestation: m.attestation } : {}),
      callId: m.id,
    } as const;
    const s =
      m.direction === 'inbound' ? this.deps.screening.inbound(BY_DID, ask) : this.deps.screening.outbound(BY_DID, ask);
    const { req, org: state, verdict: v } = s;
    const latencyUs = (performance.now() - started) * 1000;
    const held = m.direction === 'inbound' && (v.action === 'quarantine' || v.action === 'reject');
    // A message to hold is recorded once its fate is known: held, or fail mode if it could not be.
    if (!held) this.deps.screening.record(s, ESL_SMS_ADAPTER, latencyUs, this.deps.logger);
    const log = this.deps.logger.child({ org: req.org, callId: m.id, from: req.from, to: req.to, verdict: v.action });
    if (m.direction === 'outbound') {
      const sent = this.deliver(e, m, state, v, log);
      this.warnAgent(m, s);
      await sent;
      return;
    }
    if (held) {
      await this.holdOrFallBack(e, m, s, latencyUs, log);
      return;
    }
    await this.deliver(e, m, state, v, log);
  }

  private async holdOrFallBack(
    e: EslEvent,
    m: EslChatMessage,
    s: Screened,
    latencyUs: number,
    log: Logger,
  ): Promise<void> {
    const { org: state, verdict: v } = s;
    if (!state) {
      this.deps.screening.record(s, ESL_SMS_ADAPTER, latencyUs, this.deps.logger);
      log.warn({ reason: v.reason }, 'message not delivered: fail closed and no organisation to hold it for');
      this.settle(m, v, 'dropped');
      return;
    }
    try {
      const id = await this.deps.quarantine.hold({
        orgId: state.org.id,
        fromRaw: m.fromRaw,
        to: m.to,
        body: e.body,
        deliverTo: m.deliverTo,
        verdict: v,
        adapter: ESL_SMS_ADAPTER,
      });
      this.deps.screening.record(s, ESL_SMS_ADAPTER, latencyUs, this.deps.logger);
      log.info({ quarantineId: id, reason: v.reason }, 'message held');
      this.settle(m, v, 'held', id);
    } catch (err) {
      // Not stored: holding would lose it. The fail mode decides, as on Asterisk (open: deliver after all).
      const fallback = this.deps.screening.unscreened(s.req, state, 'could not store the message', 'hold-failed', err);
      this.deps.screening.record(fallback, ESL_SMS_ADAPTER, latencyUs, this.deps.logger);
      log.error(
        { err: err instanceof Error ? err.message : String(err), then: fallback.verdict.action },
        'message could not be held',
      );
      if (fallback.verdict.action === 'allow') await this.deliver(e, m, state, fallback.verdict, log);
      else this.settle(m, fallback.verdict, 'dropped');
    }
  }

  private async deliver(
    e: EslEvent,
    m: EslChatMessage,
    state: OrgState | undefined,
    v: Verdict,
    log: Logger,
  ): Promise<void> {
    const marker = this.config.esl_inbound.chatplan_marker;
    let error: string;
    try {
      const reply = await this.deps.commands.command(
        sendMessageCommand(m.destProto, { ...e.headers, [marker]: 'screened' }, e.body),
      );
      const text = replyText(reply);
      if (text.startsWith('+OK')) {
        log[v.action === 'allow' ? 'debug' : 'info']({ reason: v.reason, destProto: m.destProto }, 'message sent on');
        this.settle(m, v, 'delivered');
        return;
      }
      error = `FreeSWITCH refused it: ${text.slice(0, 100)}`;
    } catch (err) {
      error = err instanceof Error ? err.message : String(err);
    }
    // Screened and allowed, but FreeSWITCH did not take it back: keep it rather than lose it.
    if (state) {
      try {
        const id = await this.deps.quarantine.hold({
          orgId: state.org.id,
          fromRaw: m.fromRaw,
          to: m.to,
          body: e.body,
          deliverTo: m.deliverTo,
          verdict: { ...v, reason: `${v.reason}; not sent on (${error}): held` },
          adapter: ESL_SMS_ADAPTER,
        });
        log.error({ error, quarantineId: id }, 'message could not be sent on; held so that it is not lost');
        this.settle(m, v, 'held', id);
        return;
      } catch (err) {
        log.error(
          { error, holdError: err instanceof Error ? err.message : String(err) },
          'message could not be sent on nor held: lost',
        );
      }
    } else {
      log.error({ error }, 'message could not be sent on and has no organisation to be held for: lost');
    }
    this.settle(m, v, 'failed');
  }

  private warnAgent(m: EslChatMessage, s: Screened): void {
    const { org: state, verdict: v } = s;
    const notifier = this.deps.notifier;
    if (!notifier || !state || m.agent === '') return;
    if (v.action !== 'warn' && v.action !== 'confirm' && v.action !== 'deny') return;
    this.counters.warnings++;
    // Not awaited by the message; withText and notify never throw. Tracked so that stop() waits for it.
    const p = this.deps.screening
      .withText(s)
      .then((text) =>
        notifier.notify({
          org: state.org.slug,
          endpoint: m.agent,
          number: v.normalized,
          channel: 'sms',
          verdict: text,
          callId: m.id,
        }),
      )
      .then(() => undefined)
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private settle(m: EslChatMessage, v: Verdict, outcome: EslSmsOutcomeKind, quarantineId?: number): void {
    this.counters[outcome]++;
    const o: EslSmsOutcome = {
      id: m.id,
      direction: m.direction,
      verdict: v,
      outcome,
      ...(quarantineId !== undefined ? { quarantineId } : {}),
    };
    for (const l of this.outcomeListeners) {
      try {
        l(o);
      } catch (err) {
        this.deps.logger.error({ err }, 'SMS outcome listener failed');
      }
    }
  }
}

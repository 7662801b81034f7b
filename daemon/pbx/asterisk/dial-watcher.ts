/**
 * Warns agents who dial a blocked number on sites whose dialplan does not call the `call-outbound`
 * AGI: listens for AMI `DialBegin` from an agent's channel, screens the dialled number as an
 * outbound call and sends the warning. The call is already being dialled, so this path cannot stop
 * it: a `confirm` or `deny` verdict is told to the agent as a warning ("you may continue or hang
 * up"), never as "the call was not placed".
 */
import type { Logger } from 'pino';
import type { AgentNotifier } from '../../agents/agent-notifier.js';
import type { ScreenRequest } from '../../core/screen-request.js';
import type { Verdict } from '../../core/verdict.js';
import { toDialBegin, type AmiEvent, type AmiEventSource, type DialBeginEvent } from './ami-client.js';

export interface OutboundScreener {
  screen(req: ScreenRequest): Promise<Verdict>;
}

export interface DialWatcherOptions {
  /** Regex on the calling channel; group 2 (else 1) is the endpoint to warn (config `agents.endpoint_pattern`). */
  readonly endpointPattern: RegExp;
  /** The org whose list applies (config `fastagi.default_org`, or the only org); null: nothing is screened. */
  readonly resolveOrg: () => Promise<string | null>;
}

/** A dialled number worth screening: digits with an optional leading +, at least 3 of them. */
const NUMBERISH = /^\+?[0-9]{3,}$/;

/** The dialled number: DialString's user part (`+15559990001@carrier`), else DestCallerIDNum, else Exten. */
export function dialledNumber(e: DialBeginEvent): string | null {
  const fromDialString =
    e.dialString
      .replace(/^[A-Za-z]+\//, '')
      .split('@')[0]
      ?.split('/')
      .pop() ?? '';
  for (const candidate of [fromDialString, e.destCallerIdNum, e.exten]) {
    const c = candidate.trim();
    if (NUMBERISH.test(c)) return c;
  }
  return null;
}

export class DialWatcher {
  readonly name = 'ami-dial-watcher';
  private off: (() => void) | null = null;
  /** Handlers in flight, awaited by stop(). */
  private readonly inflight = new Set<Promise<void>>();
  readonly counters = { seen: 0, screened: 0, warned: 0, errors: 0 };

  constructor(
    private readonly events: AmiEventSource,
    private readonly screener: OutboundScreener,
    private readonly notifier: AgentNotifier,
    private readonly options: DialWatcherOptions,
    private readonly logger: Logger,
  ) {}

  start(): Promise<void> {
    this.off ??= this.events.onEvent((e) => this.onEvent(e));
    return Promise.resolve();
  }

  async stop(): Promise<void> {
    this.off?.();
    this.off = null;
    await Promise.allSettled([...this.inflight]);
  }

  private onEvent(e: AmiEvent): void {
    const dial = toDialBegin(e);
    if (dial === null) return;
    const m = this.options.endpointPattern.exec(dial.channel);
    if (m === null) return;
    const endpoint = m[2] ?? m[1];
    if (endpoint === undefined) return;
    this.counters.seen++;
    const p = this.handle(dial, endpoint)
      .catch((err: unknown) => {
        this.counters.errors++;
        this.logger.warn({ err, channel: dial.channel }, 'dial not screened');
      })
      .finally(() => this.inflight.delete(p));
    this.inflight.add(p);
  }

  private async handle(dial: DialBeginEvent, endpoint: string): Promise<void> {
    const number = dialledNumber(dial);
    if (number === null) return;
    const org = await this.options.resolveOrg();
    if (org === null) {
      this.logger.debug({ channel: dial.channel }, 'no org to screen the dialled number against');
      return;
    }
    const callId = dial.uniqueId || undefined;
    const verdict = await this.screener.screen({
      org,
      channel: 'call',
      direction: 'outbound',
      from: dial.callerIdNum,
      to: number,
      ...(callId ? { callId } : {}),
    });
    this.counters.screened++;
    this.logger.debug({ org, endpoint, number, action: verdict.action, callId }, 'agent dial screened');
    if (verdict.action !== 'warn' && verdict.action !== 'confirm' && verdict.action !== 'deny') return;
    const sent = await this.notifier.notify({
      org,
      endpoint,
      number: verdict.normalized,
      channel: 'call',
      verdict: { ...verdict, action: 'warn' },
      ...(callId ? { callId } : {}),
    });
    if (sent) this.counters.warned++;
  }
}

/**
 * Owns the FreeSWITCH global variable `<marker>_sms` that switches SMS screening on in the chatplan
 * (config/freeswitch/chatplan-callscreen.xml), with a dead man's switch inside FreeSWITCH: screening
 * is on only while a one-shot task is scheduled there that switches it back off.
 *
 * Why: while `<marker>_sms=screen` the chatplan fires a copy of each message and stops. A daemon that
 * is SIGKILLed, a host that dies or a network that drops cannot unset it, and every message fired
 * then is lost. So, on each login (client `connected`):
 *
 *   api sched_del <marker>_watchdog                        tasks left by an earlier login or daemon
 *   api sched_api +<N> <marker>_watchdog global_setvar <marker>_sms=<fallback>   → "+OK Added: <id>"
 *   api global_setvar <marker>_sms=screen                  only once the task above exists
 *
 * and every watchdog_ms / 3 (ms), on the injected timers:
 *
 *   api sched_api +<N> <marker>_watchdog global_setvar <marker>_sms=<fallback>   the new task first,
 *   api sched_del <previous id>                            then the old one: never a moment with none
 *   api global_setvar <marker>_sms=screen                  again: if the task ran while we were slow
 *
 * N = ceil(watchdog_ms / 1000) s. FreeSWITCH's scheduler (switch_scheduler.c) keeps whole epoch
 * seconds and looks every 0.5 s, so the task runs between N-1 and N+0.5 s after it was scheduled.
 * When renewals stop, it runs at most N+0.5 s after the last one: messages fired in that window are
 * still lost; after it they go through the rest of the chatplan unscreened (fallback `off`), or, with
 * screening.fail_mode = closed, the chatplan refuses messages to the DIDs (fallback `closed`; agents'
 * messages go through, SMS are never refused to agents). A FreeSWITCH restart forgets both the
 * variable and the task (unset: unscreened) until the next login arms them again.
 *
 * A clean stop (this component stops before the SMS screener and the client) sets the fallback and
 * deletes the task group itself, so the chatplan stops handing messages over before nobody listens.
 *
 * One daemon per FreeSWITCH: a second one logging in would delete the first one's task.
 */
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import { replyText, type EslCommands } from './esl-inbound-client.js';
import type { LinkState } from '../../net/reconnecting-link.js';
import { systemClock, type Clock, type Scheduler } from '../../core/clock.js';

export interface EslStateSource {
  readonly currentState: LinkState;
  onState(listener: (s: LinkState) => void): () => void;
}

export interface EslSmsWatchdogDeps {
  readonly commands: EslCommands;
  readonly states: EslStateSource;
  /** The config at start; reload() replaces it (watchdog_ms and the fail mode apply at the next renewal). */
  readonly config: Config;
  readonly timers: Scheduler;
  readonly logger: Logger;
  /** Epoch ms, for health. */
  readonly clock?: Clock;
}

/** What FreeSWITCH's task sets `<marker>_sms` to when the daemon is gone, per screening.fail_mode. */
export function watchdogFallback(config: Config): 'off' | 'closed' {
  return config.screening.fail_mode === 'open' ? 'off' : 'closed';
}

/** FreeSWITCH schedules in whole seconds: rounded up, so the task never runs before watchdog_ms - 1 s. */
export function watchdogSeconds(config: Config): number {
  return Math.ceil(config.esl_inbound.watchdog_ms / 1000);
}

export class EslSmsWatchdog {
  readonly name = 'esl-sms-watchdog';
  private config: Config;
  private unsubscribe: (() => void) | null = null;
  private timer: unknown = null;
  /** FreeSWITCH's id of the task armed on this login (deleted by id once its successor exists). */
  private taskId: number | null = null;
  /** Bumped when the login is lost or the component stops, so a renewal in progress gives up. */
  private generation = 0;
  private inflight: Promise<void> | null = null;
  /** Epoch ms of the last renewal that ended with screening on, or null (not armed). */
  private armedAt: number | null = null;
  private readonly clock: Clock;
  private readonly roundListeners = new Set<(armed: boolean) => void>();
  readonly counters = { renewals: 0, failures: 0 };

  constructor(private readonly deps: EslSmsWatchdogDeps) {
    this.config = deps.config;
    this.clock = deps.clock ?? systemClock;
  }

  start(): Promise<void> {
    if (!this.unsubscribe) {
      this.unsubscribe = this.deps.states.onState((s) => this.onState(s));
      if (this.deps.states.currentState === 'connected') this.onState('connected');
    }
    return Promise.resolve();
  }

  /**
   * Stops renewing; then, still logged in, sets the fallback and deletes the task: messages flow
   * unscreened (open) or are refused (closed) at once rather than be fired to a daemon that is going.
   */
  async stop(): Promise<void> {
    this.unsubscribe?.();
    this.unsubscribe = null;
    this.cancel();
    await this.inflight;
    if (this.deps.states.currentState !== 'connected') return;
    const m = this.config.esl_inbound.chatplan_marker;
    for (const line of [`api global_setvar ${m}_sms=${watchdogFallback(this.config)}`, `api sched_del ${m}_watchdog`]) {
      try {
        await this.deps.commands.command(`${line}\n\n`);
      } catch (err) {
        this.deps.logger.warn(
          { command: line.split(' ', 2).join(' '), error: (err as Error).message },
          'SMS screening switch not reset at stop: the FreeSWITCH watchdog will',
        );
      }
    }
  }

  reload(next: Config, changed: readonly string[]): readonly string[] {
    this.config = next;
    return changed.filter((k) => k === 'esl_inbound.watchdog_ms');
  }

  health(): ComponentHealth {
    const armed = this.armedAt !== null;
    return {
      ok: armed,
      state: armed ? 'armed' : 'off',
      required: false,
      detail: {
        ...this.counters,
        taskId: this.taskId,
        armedAt: this.armedAt,
        watchdogMs: this.config.esl_inbound.watchdog_ms,
      },
    };
  }

  /** Called after each arming or renewal, once the next one is timed: screening on (armed) or not. */
  onRound(listener: (armed: boolean) => void): () => void {
    this.roundListeners.add(listener);
    return () => this.roundListeners.delete(listener);
  }

  private onState(s: LinkState): void {
    this.cancel();
    if (s !== 'connected' || this.unsubscribe === null) return;
    // A new login: whatever task id we knew belonged to the old one (or to a FreeSWITCH since restarted).
    this.taskId = null;
    this.run(true);
  }

  private cancel(): void {
    this.generation++;
    this.armedAt = null;
    if (this.timer !== null) this.deps.timers.clearTimeout(this.timer);
    this.timer = null;
  }

  private run(first: boolean): void {
    const gen = this.generation;
    const p = this.renew(first, gen).finally(() => {
      if (this.inflight === p) this.inflight = null;
      if (gen !== this.generation) return;
      // Next renewal counted from the end of this one, so two never overlap.
      this.timer = this.deps.timers.setTimeout(
        () => {
          this.timer = null;
          if (gen === this.generation) this.run(false);
        },
        Math.floor(this.config.esl_inbound.watchdog_ms / 3),
      );
      for (const l of this.roundListeners) l(this.armedAt !== null);
    });
    this.inflight = p;
  }

  private async renew(first: boolean, gen: number): Promise<void> {
    const config = this.config;
    const m = config.esl_inbound.chatplan_marker;
    const group = `${m}_watchdog`;
    const log = this.deps.logger;
    const send = async (line: string): Promise<string> => replyText(await this.deps.commands.command(`${line}\n\n`));
    try {
      if (first) await send(`api sched_del ${group}`);
      if (gen !== this.generation) return;
      const added = await send(
        `api sched_api +${watchdogSeconds(config)} ${group} global_setvar ${m}_sms=${watchdogFallback(config)}`,
      );
      const id = /^\+OK Added: (\d+)/.exec(added)?.[1];
      if (id === undefined) {
        // No task: screening is not switched on (or, if it was, the previous task still ends it).
        this.counters.failures++;
        log.error(
          { reply: added.slice(0, 100) },
          'FreeSWITCH did not schedule the SMS watchdog (is mod_commands loaded?): screening not switched on',
        );
        return;
      }
      const previous = this.taskId;
      this.taskId = Number(id);
      if (previous !== null) await send(`api sched_del ${previous}`);
      if (gen !== this.generation) return;
      const set = await send(`api global_setvar ${m}_sms=screen`);
      if (!set.startsWith('+OK')) {
        this.counters.failures++;
        log.error({ reply: set.slice(0, 100) }, 'FreeSWITCH refused to switch SMS screening on');
        return;
      }
      this.counters.renewals++;
      if (gen === this.generation) this.armedAt = this.clock.now();
      if (first)
        log.info(
          { taskId: this.taskId, watchdogS: watchdogSeconds(config), fallback: watchdogFallback(config) },
          'SMS screening switched on in the chatplan, with a FreeSWITCH watchdog',
        );
    } catch (err) {
      // Not connected or no reply: the client re-makes the connection and the next login re-arms.
      this.counters.failures++;
      log.warn({ error: (err as Error).message }, 'SMS watchdog not renewed');
    }
  }
}

/**
 * The outbound Event Socket server (`esl.listen`, default 127.0.0.1:8084). FreeSWITCH's dialplan
 * runs `socket 127.0.0.1:8084` (config/freeswitch/dialplan-callscreen.xml): for each call
 * it dials us, we send `connect`, read the channel data, screen, and answer with `sendmsg`. The
 * two-command exchange (`exchange: 'classic'`, and agents' calls):
 *
 * - reject  → `set callscreen_action=reject`, then `respond <org's SIP code>` (before answer);
 * - voicemail → `set callscreen_action=voicemail`, then `transfer <DID> XML callscreen_voicemail`
 *   (the shipped context answers and runs mod_voicemail's `voicemail default ${domain_name} <DID>`);
 * - allow   → `set callscreen_action=allow`; then `exit`, and the dialplan resumes.
 *
 * Agents' calls (marked `callscreen_direction=outbound`) that hit the list get a SIP MESSAGE over
 * the same socket (`api chat`, see EslChatNotifier) and, for `deny`, a `respond`.
 *
 * Handset feature codes (channel variable `callscreen_handset` set by the shipped handset snippets)
 * are not screened: esl-handset.ts asks HandsetBlockService and answers one
 * `set callscreen_block_result=<result>`, then our FIN.
 *
 * When the daemon is down or exceeds the session deadline, FreeSWITCH finds no
 * `callscreen_action` and the dialplan applies its own fail mode (open by default).
 *
 * One command a call (issue #21), the default: `respond <code>` alone for a rejected call,
 * `transfer <DID> XML callscreen_voicemail` alone for voicemail, `set callscreen_action=allow` alone
 * for an allowed one, then our FIN instead of `exit`. What FreeSWITCH pays per call is mostly per
 * application run (each fires CHANNEL_EXECUTE and CHANNEL_EXECUTE_COMPLETE events carrying every
 * channel variable) and per byte we send (mod_event_socket reads commands one byte per recv() and
 * sched_yield()), so the `set callscreen_action=reject|voicemail` that went before respond and
 * transfer, and the `exit`, are gone: after `respond` the call is over and after `transfer` it has
 * left the snippet, so nothing in the dialplan reads callscreen_action on those paths. (FreeSWITCH's
 * own records of a rejected call no longer carry callscreen_action=reject; the daemon's do.)
 * `exchange: 'classic'` keeps the two-command exchange (the bench compares them); agents' calls
 * always use it, since the warning is sent on the same socket after the verdict.
 */
import { createServer, type Server, type Socket } from 'node:net';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Verdict } from '../../core/verdict.js';
import type { Component } from '../../component.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import { BY_DID, type Screened, type ScreeningService } from '../../services/screening-service.js';
import { EslChatNotifier } from './esl-chat-notifier.js';
import { readCall, type EslCall } from './esl-channel.js';
import { executeCommand, EslProtocolError, type EslFrameLimits } from './esl-frame.js';
import { systemScheduler, type Scheduler } from '../../core/clock.js';
import { listenAddress, listenOn } from '../../net/listen.js';
import { EslSession } from './esl-session.js';
import { answerHandset, readHandset } from './esl-handset.js';
import type { HandsetBlockService } from '../../services/handset-block-service.js';

export interface EslServerDeps {
  /** Org by DID (agents: the only org of a single-org site), the verdict, fail mode. */
  readonly screening: ScreeningService;
  /** The current config (read per call, so a reload of screening.* applies at once). */
  readonly config: () => Config;
  readonly logger: Logger;
  readonly timers?: Scheduler;
  /** The handset feature codes (esl-handset.ts); absent: those requests answer refused. */
  readonly handset?: Pick<HandsetBlockService, 'block'>;
}

export interface EslServerOptions extends EslFrameLimits {
  /** Overrides esl.listen (tests use port 0). */
  readonly listen?: string;
  /** Whole-connection budget (ms, default 2000): FreeSWITCH's socket app has no timeout of its own. */
  readonly sessionDeadlineMs?: number;
  /** Simultaneous connections accepted (default 2000); Node closes any beyond that at once. */
  readonly maxConnections?: number;
  /**
   * `one` (default): one command and FIN for inbound calls; `classic`: `set callscreen_action`, then
   * respond/transfer, then `exit` (scripts/bench-freeswitch.ts measures the two interleaved).
   */
  readonly exchange?: 'one' | 'classic';
}

export const ESL_ADAPTER = 'esl';

export class EslServer implements Component {
  readonly name = 'esl-server';
  private server: Server | null = null;
  private readonly sockets = new Set<Socket>();
  private readonly timers: Scheduler;
  private counters = { connections: 0, screened: 0, failed: 0 };
  private stateNow: 'stopped' | 'listening' = 'stopped';

  constructor(
    private readonly deps: EslServerDeps,
    private readonly options: EslServerOptions = {},
  ) {
    this.timers = deps.timers ?? systemScheduler;
  }

  async start(): Promise<void> {
    const server = createServer((sock) => this.accept(sock));
    server.maxConnections = this.options.maxConnections ?? 2000;
    // A deep accept queue (LISTEN_BACKLOG): in a burst FreeSWITCH must not have its SYNs dropped.
    await listenOn(server, listenAddress(this.options.listen ?? this.deps.config().esl.listen));
    server.on('error', (err) => this.deps.logger.error({ err }, 'ESL server error'));
    this.server = server;
    this.stateNow = 'listening';
    this.deps.logger.info({ listen: this.address() }, 'ESL server listening');
  }

  /** `host:port` actually bound (port 0 in tests). */
  address(): string {
    const a = this.server?.address();
    return a && typeof a === 'object' ? `${a.address}:${a.port}` : '';
  }

  async stop(): Promise<void> {
    const server = this.server;
    if (!server) return;
    this.server = null;
    this.stateNow = 'stopped';
    // Calls in flight are cut: FreeSWITCH resumes their dialplan (socket_resume), i.e. fail mode.
    for (const s of this.sockets) s.destroy();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }

  health(): ComponentHealth {
    return {
      ok: this.stateNow === 'listening',
      state: this.stateNow,
      detail: { ...this.counters, open: this.sockets.size },
    };
  }

  private accept(sock: Socket): void {
    this.counters.connections++;
    this.sockets.add(sock);
    sock.on('close', () => this.sockets.delete(sock));
    const log = this.deps.logger.child({ peer: `${sock.remoteAddress ?? ''}:${sock.remotePort ?? ''}` });
    const session = new EslSession(sock, {
      ...this.options,
      deadlineMs: this.options.sessionDeadlineMs ?? 2000,
      timers: this.timers,
      onTransition: (from, to, why) => log.debug({ from, to, why }, 'ESL session state'),
    });
    this.serve(session, log).catch((err: unknown) => {
      this.counters.failed++;
      const reason = err instanceof EslProtocolError ? err.reason : 'error';
      // A peer that is not FreeSWITCH, or a call cut short: the dialplan's fail mode applies.
      log.warn({ err: err instanceof Error ? err.message : String(err), reason }, 'ESL session failed');
      session.fail(err instanceof Error ? err : new Error(String(err)), 'failed');
    });
  }

  private async serve(session: EslSession, log: Logger): Promise<void> {
    const data = await session.channelData();
    const handset = readHandset(data);
    if (handset) {
      // `*32` or the mid-call code, not a call to screen: one `set` with the result, then our FIN.
      const result = await answerHandset(this.deps, handset, log);
      session.closeWith(executeCommand('set', `callscreen_block_result=${result}`), 'answered');
      return;
    }
    const started = performance.now();
    const call = readCall(data);
    const ask = {
      channel: 'call',
      direction: call.direction,
      from: call.from,
      to: call.to,
      ...(call.callerName ? { callerName: call.callerName } : {}),
      withheld: call.withheld,
      callId: call.uuid,
      ...(call.attestation ? { attestation: call.attestation } : {}),
    } as const;
    const s =
      call.direction === 'inbound'
        ? this.deps.screening.inbound(BY_DID, ask)
        : this.deps.screening.outbound(BY_DID, ask);
    const { req, verdict } = s;
    const latencyUs = (performance.now() - started) * 1000;
    const callLog = log.child({ org: req.org, callId: call.uuid, from: req.from, to: req.to, verdict: verdict.action });
    this.counters.screened++;
    this.deps.screening.record(s, ESL_ADAPTER, latencyUs, log);
    if (this.options.exchange !== 'classic' && call.direction === 'inbound') {
      const one = oneCommand(verdict, call);
      session.closeWith(executeCommand(one.app, one.arg), 'answered');
      callLog[verdict.action === 'allow' ? 'debug' : 'info'](
        { reason: verdict.reason, latencyUs: Math.round(latencyUs) },
        'call screened',
      );
      return;
    }
    await this.answer(session, call, s, callLog);
    callLog[verdict.action === 'allow' ? 'debug' : 'info'](
      { reason: verdict.reason, latencyUs: Math.round(latencyUs) },
      'call screened',
    );
    session.close('answered');
  }

  private async answer(session: EslSession, call: EslCall, s: Screened, log: Logger): Promise<void> {
    const v = s.verdict;
    const run = async (app: string, arg: string): Promise<void> => {
      const reply = await session.send(executeCommand(app, arg));
      const text = reply.headers['Reply-Text'] ?? '';
      if (!text.startsWith('+OK')) log.warn({ app, reply: text }, 'FreeSWITCH refused a command');
    };
    if (v.action === 'reject' || v.action === 'deny') {
      await run('set', 'callscreen_action=reject');
      // respond sends the final response before answer: 603 Decline, 486 Busy Here, 607 Unwanted…
      await run('respond', String(v.sipCode ?? (v.action === 'deny' ? 403 : 603)));
    } else if (v.action === 'voicemail') {
      await run('set', 'callscreen_action=voicemail');
      await run('transfer', `${call.to} XML callscreen_voicemail`);
    } else {
      await run('set', 'callscreen_action=allow');
    }
    if (
      call.direction === 'outbound' &&
      (v.action === 'warn' || v.action === 'confirm' || v.action === 'deny') &&
      call.agent !== ''
    ) {
      const from = this.deps.config().agents.message_from.replace(/^sips?:/, '');
      // The action is already set; the warning quotes the entry's name and reason (maybe one read).
      const text = await this.deps.screening.withText(s);
      await new EslChatNotifier(session, from, log).notify({
        org: '',
        endpoint: call.agent,
        number: v.normalized,
        channel: 'call',
        verdict: text,
        callId: call.uuid,
      });
    }
  }
}

/** The single command that gives an inbound call its verdict (see the header). */
function oneCommand(v: Verdict, call: EslCall): { app: string; arg: string } {
  // respond sends the final response before answer: 603 Decline, 486 Busy Here, 607 Unwanted…
  if (v.action === 'reject' || v.action === 'deny')
    return { app: 'respond', arg: String(v.sipCode ?? (v.action === 'deny' ? 403 : 603)) };
  if (v.action === 'voicemail') return { app: 'transfer', arg: `${call.to} XML callscreen_voicemail` };
  // Read by the snippet's fail-mode step: an allowed call is not an unscreened one.
  return { app: 'set', arg: 'callscreen_action=allow' };
}

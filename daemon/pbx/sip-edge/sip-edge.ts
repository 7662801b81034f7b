/**
 * The drachtio SIP edge: a drachtio-srf application that connects to drachtio-server
 * (`sip_edge.host:port`, shared `secret`) and sees every INVITE and MESSAGE before the PBX does.
 *
 * - INVITE, blocked (reject) → the edge answers with the org's code: 603 Decline, 486 Busy Here,
 *   607 Unwanted or 404 Not Found (org setting `reject_code`);
 * - INVITE, voicemail mode → proxied to `voicemail_uri` (its `{did}` replaced by the DID), or when
 *   that is empty, `302 Moved Temporarily` with `Contact: <sip:{DID}@{pbx host};callscreen=voicemail>`
 *   so the PBX can route it to the DID's mailbox;
 * - INVITE, allowed → proxied to `pbx_uri` with the DID as user part;
 * - MESSAGE from a blocked sender → held in quarantine, then refused with `603 Decline` (the sender
 *   learns it was not delivered, as with a blocked call; nothing says it was kept); allowed →
 *   proxied to the PBX. Should the hold fail, the fail mode decides as on every door: open passes
 *   it on, closed refuses it with `503` (the sender may retry) — never a silent loss.
 *
 * Org resolution (by DID, no default), the verdict (from memory, synchronous) and fail mode belong
 * to the ScreeningService; this adapter only reads SIP and answers in SIP.
 *
 * Connection states: stopped → connecting → connected ⇄ reconnecting → stopped. drachtio-srf
 * reconnects by itself (150 ms growing ×1.7), capped here at RECONNECT_MAX_MS; every transition is
 * logged. A wrong secret is logged once per run of refusals (drachtio-server closes the connection
 * and drachtio-srf tries again every 255 ms).
 *
 * Note: drachtio-server 0.9.4 answers INVITE and MESSAGE itself with `503 Service Unavailable`
 * when no application is connected (measured: test/e2e/sip-edge-drachtio.test.ts): the edge
 * fails CLOSED while the daemon is down, unlike the FastAGI and ESL paths.
 */
import { inspect } from 'node:util';
import { callerIdentity } from '../../core/caller-identity.js';
import Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { Component } from '../../component.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import type { HoldInput } from '../../services/quarantine-service.js';
import { BY_DID, type Ask, type Screened, type ScreeningService } from '../../services/screening-service.js';
import { uriUser, withUser } from './sip-uri.js';

export interface SipEdgeDeps {
  /** The screening policy: the org by DID, the verdict from memory, fail mode, records. */
  readonly screening: Pick<ScreeningService, 'inbound' | 'unscreened' | 'record'>;
  readonly quarantine: { hold(input: HoldInput): Promise<number> };
  readonly config: () => Config;
  readonly logger: Logger;
  /** Ceiling of drachtio-srf's reconnect delay, ms (default RECONNECT_MAX_MS). */
  readonly reconnectMaxMs?: number;
}

export type SipEdgeState = 'stopped' | 'connecting' | 'connected' | 'reconnecting';

export const SIP_EDGE_ADAPTER = 'sip-edge';
/** Status for a MESSAGE from a blocked sender (see the header comment). */
export const BLOCKED_MESSAGE_STATUS = 603;

/**
 * Upper bound of drachtio-srf's reconnect delay, ms. drachtio-srf 5.0.29 grows the delay ×1.7 from
 * 150 ms with no ceiling unless one is passed (`reconnect.retryMaxDelay`): after drachtio-server had
 * been down a minute the edge would wait about 30 s more, after an hour many minutes, while every call
 * got 503 from drachtio-server. 2 s keeps that gap short for one cheap loopback connect a try.
 */
export const RECONNECT_MAX_MS = 2000;

const REASONS: Readonly<Record<number, string>> = {
  302: 'Moved Temporarily',
  403: 'Forbidden',
  404: 'Not Found',
  486: 'Busy Here',
  503: 'Service Unavailable',
  603: 'Decline',
  607: 'Unwanted',
};

/** The parts of a drachtio-srf Response that Response#send itself uses (not in its typings). */
interface RawResponse {
  msg: { status: number; reason: string };
  status: number;
  finished: boolean;
  _agent: { sendResponse(res: unknown, opts: { headers?: Record<string, string> }): void };
  emit(event: 'end', info: { status: number; reason: string }): boolean;
}

function isRawResponse(res: unknown): res is RawResponse {
  const r = res as Partial<RawResponse> | null;
  return typeof r?.msg === 'object' && typeof r._agent?.sendResponse === 'function';
}

/**
 * Sends a final response with an explicit reason phrase. drachtio-srf's Response#send refuses any
 * code missing from its status table (the `sip-status` package), which predates 607 Unwanted
 * (RFC 8197); drachtio-server itself sends 607 as given (checked against 0.9.4 on the wire). For
 * such a code this does what Response#send does after its check: set status and reason on the
 * response and hand it to drachtio-srf's agent. Patching the shared table instead would be global
 * mutable state in someone else's module.
 */
export function sendStatus(res: Srf.SrfResponse, code: number, headers: Record<string, string> = {}): void {
  const reason = REASONS[code] ?? 'Rejected';
  try {
    res.send(code, reason, { headers });
    return;
  } catch (err) {
    // Response#send validates before it sends anything: nothing has gone out yet.
    if (!isRawResponse(res)) throw err;
  }
  res.msg.status = res.status = code;
  res.msg.reason = reason;
  res._agent.sendResponse(res, { headers });
  res.finished = true;
  res.emit('end', { status: code, reason });
}

/** drachtio-srf's wire protocol as a client (lib/wire-protocol.js; not in its typings). */
interface WireInternals {
  closing?: boolean;
  socket?: { destroy(): void };
  reconnectVars?: { retryTimer?: ReturnType<typeof setTimeout> | null };
}

/**
 * Disconnects and stops drachtio-srf's reconnecting for good. Srf#disconnect() alone is not enough
 * in drachtio-srf 5.0.29: while no connection is up (drachtio-server down, or refusing the secret)
 * it throws an assertion before it marks its wire protocol closing, and the pending retry timer
 * then reconnects forever — a stopped edge would come back and keep the process alive. So in that
 * case what disconnect() would have done is done here: mark it closing (drachtio-srf schedules no
 * further retry once it is), clear the retry already scheduled, and drop a socket still opening.
 */
function haltSrf(srf: Srf): void {
  try {
    srf.disconnect();
    return;
  } catch {
    // not connected: see above
  }
  const wp = (srf as unknown as { _app?: { client?: { wp?: WireInternals } } })._app?.client?.wp;
  if (!wp) return;
  wp.closing = true;
  if (wp.reconnectVars?.retryTimer) clearTimeout(wp.reconnectVars.retryTimer);
  if (wp.reconnectVars) wp.reconnectVars.retryTimer = null;
  wp.socket?.destroy();
}

type Req = Srf.SrfRequest;
type Res = Srf.SrfResponse;

export class SipEdge implements Component {
  readonly name = 'sip-edge';
  private srf: Srf | null = null;
  private stateNow: SipEdgeState = 'stopped';
  private counters = { invites: 0, messages: 0, connects: 0, errors: 0, unanswered: 0 };
  /** True while drachtio-server keeps refusing the secret (logged once per run of refusals). */
  private refused = false;

  constructor(private readonly deps: SipEdgeDeps) {}

  get state(): SipEdgeState {
    return this.stateNow;
  }

  /** Starts connecting; resolves at once (a drachtio-server that is down must not stop the daemon). */
  start(): Promise<void> {
    const c = this.deps.config().sip_edge;
    const srf = new Srf();
    this.srf = srf;
    srf.on('connect', (err: Error | null, hostport: string) => {
      if (this.srf !== srf) {
        // Stopped while a connection attempt was under way: drop what it opened.
        if (!err) haltSrf(srf);
        return;
      }
      if (err) {
        this.counters.errors++;
        if (!this.refused)
          this.deps.logger.error({ err: err.message }, 'drachtio-server refused the edge (check sip_edge.secret)');
        else this.deps.logger.debug({ err: err.message }, 'drachtio-server refused the edge again');
        this.refused = true;
        return;
      }
      this.refused = false;
      this.counters.connects++;
      this.move('connected', { hostport });
    });
    // Srf re-emits its wire protocol's 'reconnecting' (not in its typings) with the delay before the try, ms.
    (srf as unknown as NodeJS.EventEmitter).on(
      'reconnecting',
      (info: { delay?: number; attempt?: number } | undefined) => {
        this.deps.logger.debug({ delayMs: info?.delay, attempt: info?.attempt }, 'drachtio reconnect scheduled');
        this.move('reconnecting', {});
      },
    );
    srf.on('error', (err: Error) => {
      this.counters.errors++;
      if (this.stateNow === 'connected') this.move('reconnecting', { err: err.message });
      else this.deps.logger.debug({ err: err.message }, 'drachtio connection error');
    });
    srf.invite((req, res) => void this.onInvite(req, res));
    srf.use('message', (req, res) => void this.onMessage(req, res));
    this.move('connecting', { host: c.host, port: c.port });
    // The secret goes to drachtio-srf only; it is never logged.
    // Returns the app, not a promise, despite its typings; outcomes arrive as connect/error events.
    // `reconnect` is passed through to drachtio-srf's wire protocol but missing from its typings.
    const options: Srf.SrfConfig & { reconnect: { retryMaxDelay: number } } = {
      host: c.host,
      port: c.port,
      secret: c.secret,
      reconnect: { retryMaxDelay: this.deps.reconnectMaxMs ?? RECONNECT_MAX_MS },
    };
    void srf.connect(options);
    return Promise.resolve();
  }

  stop(): Promise<void> {
    const srf = this.srf;
    this.srf = null;
    if (srf) haltSrf(srf);
    this.move('stopped', {});
    return Promise.resolve();
  }

  health(): ComponentHealth {
    return {
      ok: this.stateNow === 'connected',
      state: this.stateNow,
      detail: { ...this.counters, refused: this.refused },
    };
  }

  private move(to: SipEdgeState, detail: Record<string, unknown>): void {
    if (to === this.stateNow) return;
    const from = this.stateNow;
    this.stateNow = to;
    this.deps.logger[to === 'reconnecting' ? 'warn' : 'info']({ from, to, ...detail }, 'SIP edge state');
  }

  /** The request as the screening service takes it: DID from the Request-URI, caller from PAI or From. */
  private ask(req: Req, channel: 'call' | 'sms'): Ask {
    const did = uriUser(req.uri) || uriUser(header(req, 'To'));
    // Every identity header, in the core's one precedence (caller-identity.ts, docs/caller-identity.md).
    const info = header(req, 'Attestation-Info') || header(req, 'X-Attestation-Info');
    const id = callerIdentity({
      pai: header(req, 'P-Asserted-Identity'),
      remotePartyId: header(req, 'Remote-Party-ID'),
      from: header(req, 'From'),
      privacy: header(req, 'Privacy'),
      ...(info !== '' ? { attestationInfo: info } : {}),
    });
    const name = /^\s*"([^"]*)"/.exec(header(req, 'From'))?.[1] ?? '';
    return {
      channel,
      direction: 'inbound',
      from: id.from,
      to: did,
      ...(name ? { callerName: name } : {}),
      withheld: id.withheld,
      ...(id.attestation ? { attestation: id.attestation } : {}),
      callId: header(req, 'Call-ID'),
    };
  }

  private logFor(s: Screened): Logger {
    return this.deps.logger.child({
      org: s.req.org,
      callId: s.req.callId,
      from: s.req.from,
      to: s.req.to,
      verdict: s.verdict.action,
    });
  }

  private async onInvite(req: Req, res: Res): Promise<void> {
    this.counters.invites++;
    const started = performance.now();
    const edge = this.deps.config().sip_edge;
    // Synchronous, from memory: no deadline to race (the screening service's contract).
    const s = this.deps.screening.inbound(BY_DID, this.ask(req, 'call'));
    const v = s.verdict;
    const latencyUs = (performance.now() - started) * 1000;
    const log = this.logFor(s);
    this.deps.screening.record(s, SIP_EDGE_ADAPTER, latencyUs, log);
    log[v.action === 'allow' ? 'debug' : 'info'](
      { reason: v.reason, latencyUs: Math.round(latencyUs) },
      'call screened',
    );
    try {
      if (v.action === 'reject') {
        sendStatus(res, v.sipCode ?? 603);
      } else if (v.action === 'voicemail' && edge.voicemail_uri === '') {
        sendStatus(res, 302, {
          Contact: `<${withUser(edge.pbx_uri.split(';')[0] ?? edge.pbx_uri, s.req.to)};callscreen=voicemail>`,
        });
      } else {
        const destination =
          v.action === 'voicemail' ? edge.voicemail_uri.replace('{did}', s.req.to) : withUser(edge.pbx_uri, s.req.to);
        this.checkProxied(await this.proxy(req, destination), destination, log);
      }
    } catch (err) {
      this.counters.errors++;
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'SIP edge could not pass the call on');
    }
  }

  private async onMessage(req: Req, res: Res): Promise<void> {
    this.counters.messages++;
    const started = performance.now();
    const edge = this.deps.config().sip_edge;
    const svc = this.deps.screening;
    let s = svc.inbound(BY_DID, this.ask(req, 'sms'));
    const latencyUs = (performance.now() - started) * 1000;
    const log = this.logFor(s);
    const blocked =
      s.verdict.action === 'quarantine' || s.verdict.action === 'reject' || s.verdict.action === 'voicemail';
    try {
      if (blocked && s.org) {
        try {
          const id = await this.deps.quarantine.hold({
            orgId: s.org.org.id,
            fromRaw: header(req, 'From') || s.req.from,
            to: s.req.to,
            body: bodyOf(req),
            deliverTo: withUser(edge.pbx_uri, s.req.to),
            verdict: s.verdict,
            adapter: SIP_EDGE_ADAPTER,
          });
          svc.record(s, SIP_EDGE_ADAPTER, latencyUs, log);
          sendStatus(res, BLOCKED_MESSAGE_STATUS);
          log.info({ quarantineId: id }, 'message held');
          return;
        } catch (err) {
          // Not stored: refusing it as held would lose it. The fail mode decides, as on the other
          // doors: open passes it on; closed refuses it with 503 (the sender may retry).
          s = svc.unscreened(s.req, s.org, 'could not store the message', 'hold-failed', err);
          log.error(
            { err: err instanceof Error ? err.message : String(err), then: s.verdict.action },
            'message could not be held',
          );
        }
      }
      svc.record(s, SIP_EDGE_ADAPTER, latencyUs, log);
      if (s.verdict.action !== 'allow') {
        // Fail closed (no org to hold it for, or the hold failed): refused, nothing stored.
        sendStatus(res, 503);
        return;
      }
      const destination = withUser(edge.pbx_uri, s.req.to);
      this.checkProxied(await this.proxy(req, destination), destination, log);
      log.debug('message passed on');
    } catch (err) {
      this.counters.errors++;
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'SIP edge could not pass the message on');
    }
  }

  /**
   * Proxies through drachtio-server (no Record-Route: ACK, BYE and re-INVITEs then go between the
   * caller and whoever answered). Resolves, once the destination's final response has been relayed,
   * with its status; undefined when none came. Measured with drachtio-server 0.9.4 and a PBX that
   * was down: an INVITE got `408 Request Timeout` from drachtio-server after 32 s (Timer B) and
   * drachtio-srf reported no final status; a MESSAGE got no response at all (non-INVITE timeout).
   */
  private proxy(req: Req, destination: string): Promise<number | undefined> {
    const srf = this.srf;
    if (!srf) return Promise.reject(new Error('SIP edge stopped'));
    return new Promise((resolve, reject) => {
      srf.proxyRequest(req, [destination], {}, (err: unknown, results: unknown) => {
        if (err) reject(err instanceof Error ? err : new Error(inspect(err)));
        else
          resolve(
            typeof results === 'object' && results !== null
              ? (results as { finalStatus?: number }).finalStatus
              : undefined,
          );
      });
    });
  }

  /** Logs a proxied request that the destination did not take (none answered, or 5xx/408). */
  private checkProxied(status: number | undefined, destination: string, log: Logger): void {
    if (status !== undefined && status < 500 && status !== 408) return;
    this.counters.unanswered++;
    log.warn(
      { destination, status: status ?? null },
      status === undefined
        ? 'the destination gave no final response (is it up? drachtio-server answers 408 after 32 s)'
        : 'the destination refused the request',
    );
  }
}

/** What drachtio-srf really gives: its typings say `string`, but a missing header or body is undefined. */
interface RawSipMessage {
  get(name: string): string | undefined;
  readonly body?: string;
}

/** A header's value, or '' when the request has none. */
function header(req: RawSipMessage, name: string): string {
  return req.get(name) ?? '';
}

/** The message body, or '' when there is none. */
function bodyOf(req: RawSipMessage): string {
  return req.body ?? '';
}

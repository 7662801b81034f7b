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
 *   proxied to the PBX. Should the hold fail, `503` (the sender may retry) rather than a silent loss.
 *
 * Connection states: stopped → connecting → connected ⇄ reconnecting → stopped. drachtio-srf
 * reconnects by itself (150 ms growing ×1.7); every transition is logged.
 *
 * Note: drachtio-server answers requests itself (typically 503/480) when no application is
 * connected: the edge fails CLOSED while the daemon is down, unlike the FastAGI and ESL paths.
 */
import Srf from 'drachtio-srf';
import type { Logger } from 'pino';
import type { Config } from '../../config/schema.js';
import type { ScreenRequest } from '../../core/screen-request.js';
import type { Verdict } from '../../core/verdict.js';
import type { Component } from '../../main.js';
import type { ComponentHealth } from '../../ops/component-health.js';
import type { HoldInput } from '../../services/quarantine-service.js';
import type { OrgState } from '../../store/screening-index.js';
import { realOneShotTimers, type OneShotTimers } from '../one-shot-timers.js';
import { screenWithin, type VerdictSource } from '../freeswitch/screen-within.js';
import { uriUser, withUser } from './sip-uri.js';

export interface SipEdgeScreener extends VerdictSource {
  orgForDid(raw: string): OrgState | undefined;
  recordVerdict(req: ScreenRequest, orgId: number | null, verdict: Verdict, adapter: string, latencyUs: number | null): void;
}

export interface SipEdgeDeps {
  readonly screener: SipEdgeScreener;
  readonly quarantine: { hold(input: HoldInput): Promise<number> };
  readonly config: () => Config;
  readonly logger: Logger;
  readonly timers?: OneShotTimers;
}

export type SipEdgeState = 'stopped' | 'connecting' | 'connected' | 'reconnecting';

export const SIP_EDGE_ADAPTER = 'sip-edge';
/** Status for a MESSAGE from a blocked sender (see the header comment). */
export const BLOCKED_MESSAGE_STATUS = 603;

/**
 * Reason phrases given explicitly. drachtio-srf's Response#send refuses any code missing from its
 * status table, which predates 607 Unwanted (RFC 8197): an org set to 607 is answered 603 Decline
 * by the edge (logged once per call) until the library accepts it; patching its shared table would
 * be global mutable state.
 */
export const EDGE_UNSENDABLE: Readonly<Record<number, number>> = { 607: 603 };
const REASONS: Readonly<Record<number, string>> = { 302: 'Moved Temporarily', 403: 'Forbidden', 404: 'Not Found', 486: 'Busy Here', 503: 'Service Unavailable', 603: 'Decline', 607: 'Unwanted' };

function sendStatus(res: Srf.SrfResponse, wanted: number, headers: Record<string, string> = {}): number {
  const code = EDGE_UNSENDABLE[wanted] ?? wanted;
  res.send(code, REASONS[code] ?? 'Rejected', { headers });
  return code;
}

type Req = Srf.SrfRequest;
type Res = Srf.SrfResponse;

export class SipEdge implements Component {
  readonly name = 'sip-edge';
  private srf: Srf | null = null;
  private stateNow: SipEdgeState = 'stopped';
  private readonly timers: OneShotTimers;
  private counters = { invites: 0, messages: 0, connects: 0, errors: 0 };

  constructor(private readonly deps: SipEdgeDeps) {
    this.timers = deps.timers ?? realOneShotTimers;
  }

  get state(): SipEdgeState {
    return this.stateNow;
  }

  /** Starts connecting; resolves at once (a drachtio-server that is down must not stop the daemon). */
  async start(): Promise<void> {
    const c = this.deps.config().sip_edge;
    const srf = new Srf();
    this.srf = srf;
    srf.on('connect', (err: Error | null, hostport: string) => {
      if (err) {
        this.counters.errors++;
        this.deps.logger.error({ err: err.message }, 'drachtio-server refused the edge (check sip_edge.secret)');
        return;
      }
      this.counters.connects++;
      this.move('connected', { hostport });
    });
    // Srf re-emits its wire protocol's 'reconnecting' (not in its typings).
    (srf as unknown as NodeJS.EventEmitter).on('reconnecting', () => this.move('reconnecting', {}));
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
    srf.connect({ host: c.host, port: c.port, secret: c.secret });
  }

  async stop(): Promise<void> {
    const srf = this.srf;
    this.srf = null;
    if (srf) {
      try {
        srf.disconnect();
      } catch {
        // not connected: nothing to close
      }
    }
    this.move('stopped', {});
  }

  health(): ComponentHealth {
    return { ok: this.stateNow === 'connected', state: this.stateNow, detail: { ...this.counters } };
  }

  private move(to: SipEdgeState, detail: Record<string, unknown>): void {
    if (to === this.stateNow) return;
    const from = this.stateNow;
    this.stateNow = to;
    this.deps.logger[to === 'reconnecting' ? 'warn' : 'info']({ from, to, ...detail }, 'SIP edge state');
  }

  private request(req: Req, channel: 'call' | 'sms'): { sreq: ScreenRequest; state: OrgState | undefined } {
    const did = uriUser(req.uri) || uriUser(req.get('To') ?? '');
    const pai = req.has('P-Asserted-Identity') ? uriUser(req.get('P-Asserted-Identity')) : '';
    // A network-asserted identity beats the From header the caller chose.
    const from = pai || uriUser(req.get('From') ?? '');
    const privacy = req.has('Privacy') ? req.get('Privacy').toLowerCase() : '';
    const name = /^\s*"([^"]*)"/.exec(req.get('From') ?? '')?.[1] ?? '';
    const state = this.deps.screener.orgForDid(did);
    const sreq: ScreenRequest = {
      org: state?.org.slug ?? '', channel, direction: 'inbound', from, to: did,
      ...(name ? { callerName: name } : {}),
      withheld: /\b(id|user|header)\b/.test(privacy) || /^(anonymous|restricted)$/i.test(from),
      callId: req.get('Call-ID') ?? '',
    };
    return { sreq, state };
  }

  private async onInvite(req: Req, res: Res): Promise<void> {
    this.counters.invites++;
    const started = performance.now();
    const config = this.deps.config();
    const { sreq, state } = this.request(req, 'call');
    const v = await screenWithin(this.deps.screener, sreq, state, config, this.timers);
    const latencyUs = (performance.now() - started) * 1000;
    this.deps.screener.recordVerdict(sreq, state?.org.id ?? null, v, SIP_EDGE_ADAPTER, latencyUs);
    const log = this.deps.logger.child({ org: sreq.org, callId: sreq.callId, from: sreq.from, to: sreq.to, verdict: v.action });
    const edge = config.sip_edge;
    try {
      if (v.action === 'reject') {
        const sent = sendStatus(res, v.sipCode ?? 603);
        if (sent !== v.sipCode) log.warn({ wanted: v.sipCode, sent }, 'drachtio-srf cannot send this code; sent 603');
      } else if (v.action === 'voicemail') {
        if (edge.voicemail_uri !== '') await this.proxy(req, edge.voicemail_uri.replace('{did}', sreq.to));
        else sendStatus(res, 302, { Contact: `<${withUser(edge.pbx_uri.split(';')[0] ?? edge.pbx_uri, sreq.to)};callscreen=voicemail>` });
      } else {
        await this.proxy(req, withUser(edge.pbx_uri, sreq.to));
      }
      log[v.action === 'allow' ? 'debug' : 'info']({ reason: v.reason, latencyUs: Math.round(latencyUs) }, 'call screened');
    } catch (err) {
      this.counters.errors++;
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'SIP edge could not pass the call on');
    }
  }

  private async onMessage(req: Req, res: Res): Promise<void> {
    this.counters.messages++;
    const started = performance.now();
    const config = this.deps.config();
    const { sreq, state } = this.request(req, 'sms');
    const v = await screenWithin(this.deps.screener, sreq, state, config, this.timers);
    const latencyUs = (performance.now() - started) * 1000;
    const log = this.deps.logger.child({ org: sreq.org, callId: sreq.callId, from: sreq.from, to: sreq.to, verdict: v.action });
    this.deps.screener.recordVerdict(sreq, state?.org.id ?? null, v, SIP_EDGE_ADAPTER, latencyUs);
    try {
      if (v.action === 'quarantine' || v.action === 'reject' || v.action === 'voicemail') {
        if (!state) {
          // Fail-closed with no org to hold it for: refuse, nothing is stored.
          sendStatus(res, 503);
          return;
        }
        try {
          const id = await this.deps.quarantine.hold({
            orgId: state.org.id, fromRaw: req.get('From') ?? sreq.from, to: sreq.to, body: req.body ?? '',
            deliverTo: withUser(config.sip_edge.pbx_uri, sreq.to), verdict: v, adapter: SIP_EDGE_ADAPTER,
          });
          sendStatus(res, BLOCKED_MESSAGE_STATUS);
          log.info({ quarantineId: id }, 'message held');
        } catch (err) {
          sendStatus(res, 503);
          log.error({ err: err instanceof Error ? err.message : String(err) }, 'message could not be held; refused with 503');
        }
        return;
      }
      await this.proxy(req, withUser(config.sip_edge.pbx_uri, sreq.to));
      log.debug('message passed on');
    } catch (err) {
      this.counters.errors++;
      log.warn({ err: err instanceof Error ? err.message : String(err) }, 'SIP edge could not pass the message on');
    }
  }

  private proxy(req: Req, destination: string): Promise<void> {
    const srf = this.srf;
    if (!srf) return Promise.reject(new Error('SIP edge stopped'));
    return new Promise((resolve, reject) => {
      srf.proxyRequest(req, [destination], {}, (err: unknown) => (err ? reject(err instanceof Error ? err : new Error(String(err))) : resolve()));
    });
  }
}

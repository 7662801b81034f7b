/**
 * What each FastAGI route does (docs/asterisk-contract.md): turn the AGI environment (and, for
 * SMS, the MESSAGE() fields) into one ScreenRequest, get one Verdict within the deadline, and
 * answer with SET VARIABLE. The server owns sockets, limits, logging and counting; a route only
 * talks AGI through its session.
 *
 * Cost of the common path: an allowed call is one SET VARIABLE, a rejected one two (detail, action);
 * an allowed SMS is one GET FULL VARIABLE (the sender) and one SET VARIABLE — the body is read only
 * when it must be stored.
 */
import type { Config } from '../../config/schema.js';
import type { AgentNotifier } from '../../agents/agent-notifier.js';
import type { ScreenRequest } from '../../core/screen-request.js';
import type { Verdict } from '../../core/verdict.js';
import type { HoldInput } from '../../services/quarantine-service.js';
import type { AdapterScreener } from '../../services/screener.js';
import type { OrgState } from '../../store/screening-index.js';
import { agentEndpoint, inboundCaller, setVariable, type AgiEnv, type AgiScript } from './agi-protocol.js';
import type { AgiSession } from './agi-session.js';

export interface RouteDeps {
  readonly screener: AdapterScreener;
  readonly quarantine: { hold(input: HoldInput): Promise<number> };
  readonly agentNotifier: AgentNotifier | null;
  /** Slugs of all organisations (the outbound "only org" rule). */
  readonly orgSlugs: () => readonly string[];
}

/** Why a verdict did not come from the list. */
export type Fallback = 'timeout' | 'unknown-org' | 'error' | 'hold-failed' | null;

export interface RouteOutcome {
  readonly req: ScreenRequest;
  readonly orgId: number | null;
  readonly verdict: Verdict;
  readonly fallback: Fallback;
  /** Screening time: environment complete → verdict known (µs). */
  readonly latencyUs: number;
  readonly error?: unknown;
}

export interface RouteContext {
  readonly env: AgiEnv;
  readonly session: AgiSession;
  readonly config: Config;
  readonly deps: RouteDeps;
  /** Resolves to `TIMED_OUT` if `p` has not settled by the session's deadline. */
  within<T>(p: Promise<T>): Promise<T | typeof TIMED_OUT>;
  /** Microseconds since the environment was complete. */
  elapsedUs(): number;
}

export const TIMED_OUT: unique symbol = Symbol('timed out');

type Screened = { verdict: Verdict; fallback: Fallback; error?: unknown };

/** Asterisk's MESSAGE() fields are read with GET FULL VARIABLE; 'to' is the DID. */
async function getVariable(session: AgiSession, expr: string): Promise<string | undefined> {
  const r = await session.command(`GET FULL VARIABLE ${expr}`);
  return r !== null && r.code === 200 && r.result === 1 ? r.value : undefined;
}

/**
 * The verdict when the list could not answer: inbound calls follow `screening.fail_mode` (open:
 * allow; closed: reject with 503, as the dialplan does when the daemon is unreachable); inbound
 * SMS open: deliver, closed: quarantine; agents' calls and SMS always go on (seed 001).
 */
export function fallbackVerdict(req: ScreenRequest, mode: 'open' | 'closed', why: string): Verdict {
  const base = { normalized: '', rule: null, failMode: mode } as const;
  if (req.direction === 'outbound' || mode === 'open') {
    return { ...base, failMode: req.direction === 'outbound' ? 'open' : mode, action: 'allow', reason: `not screened (${why}): allowed` };
  }
  if (req.channel === 'sms') return { ...base, action: 'quarantine', reason: `not screened (${why}): held (fail closed)` };
  return { ...base, action: 'reject', sipCode: 503, reason: `not screened (${why}): rejected (fail closed)` };
}

async function screenWithin(ctx: RouteContext, req: ScreenRequest): Promise<Screened> {
  const mode = ctx.config.screening.fail_mode;
  try {
    // Memory alone answers almost every request: no promise, no timer.
    const sync = ctx.deps.screener.screenSync(req);
    if (sync !== undefined) return { verdict: sync, fallback: null };
    const v = await ctx.within(ctx.deps.screener.screen(req));
    if (v === TIMED_OUT) return { verdict: fallbackVerdict(req, mode, `no verdict within ${ctx.config.screening.deadline_ms} ms`), fallback: 'timeout' };
    return { verdict: v, fallback: null };
  } catch (error) {
    return { verdict: fallbackVerdict(req, mode, 'screening failed'), fallback: 'error', error };
  }
}

const ruleText = (v: Verdict): string => (v.rule ? `${v.rule.kind}:${v.rule.id}` : '');
const reasonText = (v: Verdict): string => v.rule?.reason ?? v.reason;

/**
 * `CALLSCREEN_DETAIL` = `<sip code>|<rule>|<reason>` (code empty unless reject): everything but the
 * action in one SET VARIABLE. Each AGI command is a round trip that holds the channel thread, and
 * Asterisk reads commands with a buffered fgets, so they cannot be pipelined: one variable instead
 * of three (CALLSCREEN_SIP_CODE, _RULE, _REASON) halved a blocked call's round trips. The dialplan
 * splits it with CUT(CALLSCREEN_DETAIL,|,n); `|` in a reason becomes `/`.
 */
export function detailValue(v: Verdict): string {
  const code = v.action === 'reject' ? String(v.sipCode ?? 603) : '';
  return `${code}|${ruleText(v)}|${reasonText(v).replace(/\|/g, '/')}`;
}

/** A DID, whatever the dialplan gave: agi_extension unless it is `s` or the like, else agi_dnid. */
function didOf(env: AgiEnv): string {
  const ext = env.agi_extension ?? '';
  if (/\d{3,}/.test(ext)) return ext;
  const dnid = env.agi_dnid ?? '';
  return /\d{3,}/.test(dnid) ? dnid : ext;
}

/** The org of an inbound call or SMS, per `fastagi.org_from`; default_org is the fallback. */
export function inboundOrg(ctx: RouteContext, did: string, extraDid?: string): OrgState | undefined {
  const f = ctx.config.fastagi;
  const s = ctx.deps.screener;
  let state: OrgState | undefined;
  if (f.org_from === 'did') state = s.orgForDid(did) ?? (extraDid ? s.orgForDid(extraDid) : undefined);
  else if (f.org_from === 'context') state = s.org(ctx.env.agi_context ?? '');
  return state ?? (f.default_org !== '' ? s.org(f.default_org) : undefined);
}

/**
 * The org of an agent (outbound): a channel carries no DID, so `fastagi.default_org`, else the
 * only org when there is exactly one (a single-tenant site). Several orgs and no default: none.
 */
export function agentOrg(ctx: RouteContext): OrgState | undefined {
  const d = ctx.config.fastagi.default_org;
  if (d !== '') return ctx.deps.screener.org(d);
  const all = ctx.deps.orgSlugs();
  return all.length === 1 && all[0] !== undefined ? ctx.deps.screener.org(all[0]) : undefined;
}

async function decideFor(ctx: RouteContext, req: ScreenRequest, state: OrgState | undefined): Promise<Screened> {
  if (!state) return { verdict: fallbackVerdict(req, ctx.config.screening.fail_mode, 'no organisation'), fallback: 'unknown-org' };
  return screenWithin(ctx, { ...req, org: state.org.slug });
}

async function callInbound(ctx: RouteContext): Promise<RouteOutcome> {
  const { env, session } = ctx;
  let caller = inboundCaller(env);
  if (caller.fromPai) {
    // Rare (a caller with no number but an asserted identity): one more round trip for the header
    // with its quotes intact, so a display name cannot choose the number screened. A dialplan that
    // does not set CALLSCREEN_PAI answers result=0 and the arguments' copy is used.
    const raw = await getVariable(session, '${CALLSCREEN_PAI}');
    if (raw !== undefined && raw.trim() !== '') caller = { ...caller, from: raw.trim() };
  }
  const to = didOf(env);
  const state = inboundOrg(ctx, to);
  const req: ScreenRequest = {
    org: state?.org.slug ?? '', channel: 'call', direction: 'inbound', from: caller.from, to,
    ...(caller.name ? { callerName: caller.name } : {}), withheld: caller.withheld, callId: env.agi_uniqueid ?? '',
  };
  const s = await decideFor(ctx, req, state);
  const latencyUs = ctx.elapsedUs();
  const v = s.verdict;
  // The dialplan knows allow, reject and voicemail; anything else would be treated as allow.
  const action = v.action === 'reject' || v.action === 'voicemail' ? v.action : 'allow';
  // CALLSCREEN_ACTION last: should the session break half-way, the dialplan sees no action and
  // applies its own fail mode instead of a half-told verdict. Allowed calls need no detail.
  if (action !== 'allow') await session.command(setVariable('CALLSCREEN_DETAIL', detailValue(v)));
  await session.command(setVariable('CALLSCREEN_ACTION', action));
  return { req, orgId: state?.org.id ?? null, ...s, latencyUs };
}

function warnAgent(ctx: RouteContext, state: OrgState | undefined, endpoint: string | undefined, channel: 'call' | 'sms', v: Verdict, callId?: string): void {
  if (!state || !ctx.deps.agentNotifier) return;
  if (v.action !== 'warn' && v.action !== 'confirm' && v.action !== 'deny') return;
  if (endpoint === undefined) return;
  // Not awaited: the dial (or the message) must not wait for the warning; notify never throws.
  void ctx.deps.agentNotifier.notify({
    org: state.org.slug, endpoint, number: v.normalized, channel, verdict: v, ...(callId ? { callId } : {}),
  });
}

async function callOutbound(ctx: RouteContext): Promise<RouteOutcome> {
  const { env, session } = ctx;
  const state = agentOrg(ctx);
  const req: ScreenRequest = {
    org: state?.org.slug ?? '', channel: 'call', direction: 'outbound', from: env.agi_callerid ?? '', to: env.agi_extension ?? '',
    callId: env.agi_uniqueid ?? '',
  };
  const s = await decideFor(ctx, req, state);
  const latencyUs = ctx.elapsedUs();
  const v = s.verdict;
  const action = v.action === 'warn' || v.action === 'confirm' || v.action === 'deny' ? v.action : 'allow';
  if (action !== 'allow') await session.command(setVariable('CALLSCREEN_DETAIL', detailValue(v)));
  await session.command(setVariable('CALLSCREEN_ACTION', action));
  const endpoint = agentEndpoint(new RegExp(ctx.config.agents.endpoint_pattern), env.agi_channel ?? '');
  warnAgent(ctx, state, endpoint, 'call', v, env.agi_uniqueid);
  return { req, orgId: state?.org.id ?? null, ...s, latencyUs };
}

/** The body, base64 on the wire so that line breaks and parentheses survive AGI's one-line replies. */
async function messageBody(session: AgiSession): Promise<string> {
  const b64 = await getVariable(session, '${BASE64_ENCODE(${MESSAGE(body)})}');
  if (b64) return Buffer.from(b64, 'base64').toString('utf8');
  // Empty: an empty body, or no func_base64 on this Asterisk; ask plainly.
  return (await getVariable(session, '${MESSAGE(body)}')) ?? '';
}

async function smsInbound(ctx: RouteContext): Promise<RouteOutcome> {
  const { env, session } = ctx;
  // agi_uniqueid is the same for every message (one long-lived message channel): not an id.
  const from = (await getVariable(session, '${MESSAGE(from)}')) ?? '';
  let to = didOf(env);
  let state = inboundOrg(ctx, to);
  if (!state && ctx.config.fastagi.org_from === 'did') {
    const msgTo = (await getVariable(session, '${MESSAGE(to)}')) ?? '';
    state = inboundOrg(ctx, msgTo);
    if (msgTo) to = msgTo;
  }
  const req: ScreenRequest = { org: state?.org.slug ?? '', channel: 'sms', direction: 'inbound', from, to };
  let s = await decideFor(ctx, req, state);
  const latencyUs = ctx.elapsedUs();
  let action: 'allow' | 'quarantine' = s.verdict.action === 'quarantine' || s.verdict.action === 'reject' ? 'quarantine' : 'allow';
  if (action === 'quarantine' && state) {
    const deliverTo = env.agi_arg_1 ?? '';
    try {
      const body = await messageBody(session);
      await ctx.deps.quarantine.hold({ orgId: state.org.id, fromRaw: from, to, body, deliverTo, verdict: s.verdict, adapter: 'fastagi' });
    } catch (error) {
      // Not stored: quarantining would lose it. Fail mode decides (open: deliver it after all).
      s = { verdict: fallbackVerdict(req, ctx.config.screening.fail_mode, 'could not store the message'), fallback: 'hold-failed', error };
      action = s.verdict.action === 'quarantine' ? 'quarantine' : 'allow';
    }
  }
  await session.command(setVariable('CALLSCREEN_ACTION', action));
  return { req, orgId: state?.org.id ?? null, ...s, latencyUs };
}

async function smsOutbound(ctx: RouteContext): Promise<RouteOutcome> {
  const { env, session } = ctx;
  const state = agentOrg(ctx);
  const from = (await getVariable(session, '${MESSAGE(from)}')) ?? '';
  const req: ScreenRequest = { org: state?.org.slug ?? '', channel: 'sms', direction: 'outbound', from, to: env.agi_extension ?? '' };
  const s = await decideFor(ctx, req, state);
  const latencyUs = ctx.elapsedUs();
  // Always sent on (seed 001: agents are not restricted); the dialplan does not read this.
  await session.command(setVariable('CALLSCREEN_ACTION', 'allow'));
  const endpoint = agentEndpoint(new RegExp(ctx.config.agents.endpoint_pattern), env.agi_channel ?? '', from);
  warnAgent(ctx, state, endpoint, 'sms', s.verdict);
  return { req, orgId: state?.org.id ?? null, ...s, latencyUs };
}

export const ROUTES: Readonly<Record<AgiScript, (ctx: RouteContext) => Promise<RouteOutcome>>> = {
  'call-inbound': callInbound,
  'call-outbound': callOutbound,
  'sms-inbound': smsInbound,
  'sms-outbound': smsOutbound,
};

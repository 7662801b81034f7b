/**
 * What each FastAGI route does (docs/asterisk-contract.md): turn the AGI environment (and, for
 * SMS, the MESSAGE() fields) into one request, ask the ScreeningService (which finds the org, gives
 * the verdict from memory and applies fail mode), and answer with SET VARIABLE. The server owns
 * sockets, limits, logging and counting; a route only talks AGI through its session.
 *
 * Cost of the common path: an allowed call is one SET VARIABLE, a rejected one two (detail, action);
 * an allowed SMS is one GET FULL VARIABLE (the sender) and one SET VARIABLE — the body is read only
 * when it must be stored.
 */
import type { Config } from '../../config/schema.js';
import { callerIdentity } from '../../core/caller-identity.js';
import type { AgentNotifier } from '../../agents/agent-notifier.js';
import type { Verdict } from '../../core/verdict.js';
import type { HandsetBlockService } from '../../services/handset-block-service.js';
import type { HoldInput } from '../../services/quarantine-service.js';
import type { OrgRouting, Screened, ScreeningService } from '../../services/screening-service.js';
import { agentEndpoint, inboundCaller, setVariable, type AgiEnv, type ScreenScript } from './agi-protocol.js';
import type { AgiSession } from './agi-session.js';

export interface RouteDeps {
  readonly screening: ScreeningService;
  readonly quarantine: { hold(input: HoldInput): Promise<number> };
  readonly agentNotifier: AgentNotifier | null;
  /** The handset feature codes (route block-caller); absent: that route answers "refused". */
  readonly handset?: Pick<HandsetBlockService, 'block'>;
}

export interface RouteOutcome {
  readonly screened: Screened;
  /** Screening time: environment complete → verdict known (µs). */
  readonly latencyUs: number;
}

export interface RouteContext {
  readonly env: AgiEnv;
  readonly session: AgiSession;
  readonly config: Config;
  readonly deps: RouteDeps;
  /** Microseconds since the environment was complete. */
  elapsedUs(): number;
}

/** Asterisk's MESSAGE() fields are read with GET FULL VARIABLE; 'to' is the DID. */
async function getVariable(session: AgiSession, expr: string): Promise<string | undefined> {
  const r = await session.command(`GET FULL VARIABLE ${expr}`);
  return r !== null && r.code === 200 && r.result === 1 ? r.value : undefined;
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

/** FastAGI's org routing: `fastagi.org_from` and `fastagi.default_org`. */
function routing(ctx: RouteContext): OrgRouting {
  return { orgFrom: ctx.config.fastagi.org_from, defaultOrg: ctx.config.fastagi.default_org };
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
  const s = ctx.deps.screening.inbound(
    routing(ctx),
    {
      channel: 'call',
      direction: 'inbound',
      from: caller.from,
      to,
      ...(caller.name ? { callerName: caller.name } : {}),
      withheld: caller.withheld,
      callId: env.agi_uniqueid ?? '',
      ...(caller.attestation ? { attestation: caller.attestation } : {}),
    },
    env.agi_context ?? '',
  );
  const latencyUs = ctx.elapsedUs();
  const v = s.verdict;
  // The dialplan knows allow, reject and voicemail; anything else would be treated as allow.
  const action = v.action === 'reject' || v.action === 'voicemail' ? v.action : 'allow';
  // CALLSCREEN_ACTION last: should the session break half-way, the dialplan sees no action and
  // applies its own fail mode instead of a half-told verdict. Allowed calls need no detail.
  if (action !== 'allow') await session.command(setVariable('CALLSCREEN_DETAIL', detailValue(v)));
  await session.command(setVariable('CALLSCREEN_ACTION', action));
  return { screened: s, latencyUs };
}

function warnAgent(
  ctx: RouteContext,
  s: Screened,
  endpoint: string | undefined,
  channel: 'call' | 'sms',
  callId?: string,
): void {
  const notifier = ctx.deps.agentNotifier;
  const state = s.org;
  const v = s.verdict;
  if (!state || !notifier) return;
  if (v.action !== 'warn' && v.action !== 'confirm' && v.action !== 'deny') return;
  if (endpoint === undefined) return;
  // Not awaited: the dial (or the message) must not wait for the warning (nor for the entry's name
  // and reason it quotes); withText and notify never throw.
  void ctx.deps.screening.withText(s).then((text) =>
    notifier.notify({
      org: state.org.slug,
      endpoint,
      number: v.normalized,
      channel,
      verdict: text,
      ...(callId ? { callId } : {}),
    }),
  );
}

async function callOutbound(ctx: RouteContext): Promise<RouteOutcome> {
  const { env, session } = ctx;
  const s = ctx.deps.screening.outbound(routing(ctx), {
    channel: 'call',
    direction: 'outbound',
    from: env.agi_callerid ?? '',
    to: env.agi_extension ?? '',
    callId: env.agi_uniqueid ?? '',
  });
  const latencyUs = ctx.elapsedUs();
  const v = s.verdict;
  const action = v.action === 'warn' || v.action === 'confirm' || v.action === 'deny' ? v.action : 'allow';
  if (action !== 'allow') await session.command(setVariable('CALLSCREEN_DETAIL', detailValue(v)));
  await session.command(setVariable('CALLSCREEN_ACTION', action));
  const endpoint = agentEndpoint(new RegExp(ctx.config.agents.endpoint_pattern), env.agi_channel ?? '');
  warnAgent(ctx, s, endpoint, 'call', env.agi_uniqueid);
  return { screened: s, latencyUs };
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
  const svc = ctx.deps.screening;
  let state = svc.inboundOrg(routing(ctx), [to], env.agi_context ?? '');
  if (!state && ctx.config.fastagi.org_from === 'did') {
    // The channel's extension was not a DID of ours: one more round trip for the message's To.
    const msgTo = (await getVariable(session, '${MESSAGE(to)}')) ?? '';
    state = svc.inboundOrg(routing(ctx), [msgTo]);
    if (msgTo) to = msgTo;
  }
  // STIR/SHAKEN: res_pjsip_messaging gives MESSAGE(from) as the From's URI with its user
  // parameters, so a carrier's `sip:+1555…;verstat=TN-Validation-Failed@host` keeps its verstat; the
  // core reads it as for calls (caller-identity.ts). The PAI of a MESSAGE (MESSAGE_DATA) is not read:
  // it would cost every message one more AGI round trip.
  const attestation = callerIdentity({ from }).attestation;
  let s = svc.screen(
    { channel: 'sms', direction: 'inbound', from, to, ...(attestation ? { attestation } : {}) },
    state,
  );
  const latencyUs = ctx.elapsedUs();
  let action: 'allow' | 'quarantine' =
    s.verdict.action === 'quarantine' || s.verdict.action === 'reject' ? 'quarantine' : 'allow';
  if (action === 'quarantine' && s.org) {
    const deliverTo = env.agi_arg_1 ?? '';
    try {
      const body = await messageBody(session);
      await ctx.deps.quarantine.hold({
        orgId: s.org.org.id,
        fromRaw: from,
        to,
        body,
        deliverTo,
        verdict: s.verdict,
        adapter: 'fastagi',
      });
    } catch (error) {
      // Not stored: quarantining would lose it. Fail mode decides (open: deliver it after all).
      s = svc.unscreened(s.req, s.org, 'could not store the message', 'hold-failed', error);
      action = s.verdict.action === 'quarantine' ? 'quarantine' : 'allow';
    }
  }
  await session.command(setVariable('CALLSCREEN_ACTION', action));
  return { screened: s, latencyUs };
}

async function smsOutbound(ctx: RouteContext): Promise<RouteOutcome> {
  const { env, session } = ctx;
  const from = (await getVariable(session, '${MESSAGE(from)}')) ?? '';
  const s = ctx.deps.screening.outbound(routing(ctx), {
    channel: 'sms',
    direction: 'outbound',
    from,
    to: env.agi_extension ?? '',
  });
  const latencyUs = ctx.elapsedUs();
  // Always sent on (seed 001: agents are not restricted); the dialplan does not read this.
  await session.command(setVariable('CALLSCREEN_ACTION', 'allow'));
  const endpoint = agentEndpoint(new RegExp(ctx.config.agents.endpoint_pattern), env.agi_channel ?? '', from);
  warnAgent(ctx, s, endpoint, 'sms');
  return { screened: s, latencyUs };
}

export const ROUTES: Readonly<Record<ScreenScript, (ctx: RouteContext) => Promise<RouteOutcome>>> = {
  'call-inbound': callInbound,
  'call-outbound': callOutbound,
  'sms-inbound': smsInbound,
  'sms-outbound': smsOutbound,
};

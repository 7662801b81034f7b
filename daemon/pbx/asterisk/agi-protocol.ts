/**
 * The AGI wire format, without I/O: the `agi_*` environment Asterisk sends first, argument quoting
 * for commands, and the `200 result=… (value)` replies. Kept pure so that the odd corners (quotes,
 * backslashes, values in parentheses, the network script name) are tested without a socket.
 */
import type { Attestation } from '../../core/attestation.js';
import { callerIdentity } from '../../core/caller-identity.js';

/** The environment as sent: `agi_request`, `agi_callerid`, `agi_arg_1`, … (keys without the `agi_` prefix are refused). */
export type AgiEnv = Readonly<Record<string, string>>;

/** Routes that screen a call or message: the path of `agi://host:port/<script>`. */
export const SCREEN_SCRIPTS = ['call-inbound', 'call-outbound', 'sms-inbound', 'sms-outbound'] as const;
export type ScreenScript = (typeof SCREEN_SCRIPTS)[number];
/** Routes that act rather than screen: `block-caller` (the handset feature codes, handset-route.ts). */
export const ACTION_SCRIPTS = ['block-caller'] as const;
export type ActionScript = (typeof ACTION_SCRIPTS)[number];
/** Every route the daemon serves. */
export const AGI_SCRIPTS = [...SCREEN_SCRIPTS, ...ACTION_SCRIPTS] as const;
export type AgiScript = (typeof AGI_SCRIPTS)[number];

/** One `agi_name: value` line; null when the line is not one (garbage, or not AGI at all). */
export function parseEnvLine(line: string): { key: string; value: string } | null {
  const colon = line.indexOf(':');
  if (colon <= 4 || !line.startsWith('agi_') || !isEnvKey(line, colon)) return null;
  const key = line.slice(0, colon);
  // Asterisk writes "agi_x: value"; one space after the colon is the separator, not the value.
  const value = line.charCodeAt(colon + 1) === 32 ? line.slice(colon + 2) : line.slice(colon + 1);
  return { key, value };
}

/**
 * `line[4..end)` is `[a-z0-9_]+` in either case (the name after `agi_`). A loop, not a RegExp: every
 * call sends ~25 of these lines, and the daemon's whole cost per call is a few hundred µs.
 */
function isEnvKey(line: string, end: number): boolean {
  for (let i = 4; i < end; i++) {
    const c = line.charCodeAt(i);
    const ok = (c >= 0x61 && c <= 0x7a) || (c >= 0x41 && c <= 0x5a) || (c >= 0x30 && c <= 0x39) || c === 0x5f;
    if (!ok) return false;
  }
  return true;
}

/**
 * The route of a session: `agi_network_script` (Asterisk 1.6+), else the path of `agi_request`.
 * Query strings and leading slashes are ignored. Undefined when it is none of ours.
 */
export function scriptOf(env: AgiEnv): AgiScript | undefined {
  let s = env.agi_network_script;
  if (s === undefined || s === '') {
    const m = /^agi:\/\/[^/]*\/([^?]*)/.exec(env.agi_request ?? '');
    s = m?.[1] ?? '';
  }
  s = s.replace(/^\/+/, '').split('?')[0] ?? '';
  return (AGI_SCRIPTS as readonly string[]).includes(s) ? (s as AgiScript) : undefined;
}

/** `agi_arg_1` … `agi_arg_n` in order (Asterisk numbers them from 1 with no gaps). */
export function argsOf(env: AgiEnv): string[] {
  const out: string[] = [];
  for (let i = 1; ; i++) {
    const v = env[`agi_arg_${i}`];
    if (v === undefined) return out;
    out.push(v);
  }
}

/**
 * One AGI command argument, double-quoted. Asterisk's parser (res_agi parse_args) treats `\` as
 * "take the next character literally" and `"` as a quote toggle, so both are escaped. A command
 * is one line: CR/LF (and other control characters) become spaces so a value can never inject a
 * second command. A value with none of these (the common case) is quoted as it is.
 */
export function quoteArg(value: string): string {
  if (!needsEscape(value)) return `"${value}"`;
  // eslint-disable-next-line no-control-regex
  const clean = value.replace(/[\u0000-\u001f\u007f]/g, ' ');
  return `"${clean.replace(/[\\"]/g, (c) => `\\${c}`)}"`;
}

function needsEscape(value: string): boolean {
  for (let i = 0; i < value.length; i++) {
    const c = value.charCodeAt(i);
    if (c < 0x20 || c === 0x7f || c === 0x22 || c === 0x5c) return true;
  }
  return false;
}

/** `SET VARIABLE NAME "value"`: the name is ours (fixed identifiers), the value quoted. */
export function setVariable(name: string, value: string): string {
  if (!/^[A-Z_][A-Z0-9_]*$/.test(name)) throw new Error(`not a channel variable name: ${name}`);
  return `SET VARIABLE ${name} ${quoteArg(value)}`;
}

export interface AgiReply {
  /** 200 success, 510 unknown command, 511 channel dead, 520 usage… */
  readonly code: number;
  /** The `result=` number (1 = variable found for GET FULL VARIABLE); NaN when absent. */
  readonly result: number;
  /** The text in parentheses after result, or undefined. */
  readonly value: string | undefined;
  readonly raw: string;
}

/**
 * `200 result=1 (some value)` → code 200, result 1, value `some value`. The value runs to the
 * last `)` of the reply, so parentheses inside it survive. Null when the line is not a reply.
 */
export function parseReply(raw: string): AgiReply | null {
  const m = /^(\d{3})[ -](.*)$/s.exec(raw);
  if (!m) return null;
  const code = Number(m[1]);
  const rest = m[2] ?? '';
  const r = /^result=(-?\d+)(?: \((.*)\))?/s.exec(rest);
  if (!r) return { code, result: Number.NaN, value: undefined, raw };
  return { code, result: Number(r[1]), value: r[2], raw };
}

/** The caller side of an inbound call, read from the environment and the contract's arguments. */
export interface InboundCaller {
  /** What to screen: agi_callerid when it is a number, else the PAI when there is one. */
  readonly from: string;
  readonly name: string;
  /** Privacy: id (or header/user) or a caller ID that is no number. */
  readonly withheld: boolean;
  /**
   * `from` is the PAI as it came in the AGI arguments. Asterisk's argument parsing strips double
   * quotes, so a display name holding `<` or a URI is no longer recognisable there: the route reads
   * the PAI again with GET FULL VARIABLE ${CALLSCREEN_PAI}, which keeps the header as received.
   */
  readonly fromPai: boolean;
  /** STIR/SHAKEN from the identity headers (contract `id2` only; the legacy form carries none). */
  readonly attestation?: Attestation;
}

/**
 * Contract `call-inbound,id2:<PAI>:<Remote-Party-ID>:<Privacy>:<Attestation-Info>:<X-Attestation-Info>:<From>`,
 * each field the base64 of ":" + the header as received (the ":" so that BASE64_ENCODE is never
 * given nothing) — so Asterisk's argument parsing (quotes stripped, commas split) cannot change a
 * byte — read by the one core precedence (caller-identity.ts). From is last: the caller writes it,
 * and nothing in it can reach another field. Undefined when the arguments are the legacy form.
 */
export function id2Caller(env: AgiEnv): InboundCaller | undefined {
  const arg = env.agi_arg_1 ?? '';
  if (!arg.startsWith('id2:')) return undefined;
  const parts = arg.slice(4).split(':');
  const field = (i: number): string => {
    const b = parts[i] ?? '';
    const text = b === '' ? '' : Buffer.from(b, 'base64').toString('utf8');
    return text.startsWith(':') ? text.slice(1) : text;
  };
  const info = field(3) || field(4);
  const id = callerIdentity({
    pai: field(0),
    remotePartyId: field(1),
    privacy: field(2),
    from: field(5),
    ...(info !== '' ? { attestationInfo: info } : {}),
    pbxCallerId: env.agi_callerid ?? '',
  });
  const name = env.agi_calleridname === 'unknown' ? '' : (env.agi_calleridname ?? '');
  return {
    from: id.from,
    name,
    withheld: id.withheld,
    fromPai: false,
    ...(id.attestation ? { attestation: id.attestation } : {}),
  };
}

/** Caller IDs Asterisk and carriers use for "no number" (compared lower-case). */
const NO_NUMBER = new Set(['', 'anonymous', 'unknown', 'restricted', 'private', 'unavailable', 'withheld', 'blocked']);

/**
 * Contract: `call-inbound,<Privacy>,<PAI>` — the PAI is arguments 2..n joined with "," (a display
 * name may hold commas). A Privacy of `id`, `header` or `user` (RFC 3323/3325, `;`-separated)
 * withholds the caller; so does a caller ID that is no number. The PAI stands in for the caller ID
 * when that is anonymous.
 */
export function inboundCaller(env: AgiEnv): InboundCaller {
  const id2 = id2Caller(env);
  if (id2 !== undefined) return id2;
  const args = argsOf(env);
  const privacy = (args[0] ?? '')
    .toLowerCase()
    .split(/[;,\s]+/)
    .filter(Boolean);
  const pai = args.slice(1).join(',').trim();
  const callerId = (env.agi_callerid ?? '').trim();
  const noNumber = NO_NUMBER.has(callerId.toLowerCase()) || !/\d/.test(callerId);
  const privacyWithheld = privacy.some((p) => p === 'id' || p === 'header' || p === 'user');
  const name = env.agi_calleridname === 'unknown' ? '' : (env.agi_calleridname ?? '');
  return {
    from: noNumber && pai !== '' ? pai : callerId,
    fromPai: noNumber && pai !== '',
    name,
    withheld: privacyWithheld || noNumber,
  };
}

/**
 * The agent's endpoint from a channel name (`PJSIP/agent101-0000001a` → `agent101`) with the
 * configured pattern (group 2); for SIP URIs from the message channel (`<sip:agent101@host>`) the
 * user part. Undefined when neither fits.
 */
export function agentEndpoint(pattern: RegExp, channel: string, uri?: string): string | undefined {
  const m = pattern.exec(channel);
  if (m?.[2]) return m[2];
  if (uri !== undefined) {
    const u = /sips?:([^@;>]+)@/.exec(uri);
    if (u?.[1]) return u[1];
  }
  return undefined;
}

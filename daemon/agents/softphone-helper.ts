/**
 * For web softphones built on SIP.js (a browser bundle, or Node): shows callscreen's warnings and
 * asks the daemon before dialling. Plain TypeScript with no runtime imports (sip.js types only,
 * `fetch` and `AbortController` from the platform), so it bundles as is. See docs/agents.md.
 *
 * 1. `watchWarnings(ua, onWarning)`: the daemon warns an agent with a SIP MESSAGE whose body starts
 *    with `callscreen:` (AMI MessageSend to the agent's endpoint). Those are accepted (200) and
 *    handed to `onWarning`; any other MESSAGE goes to the handler the app had installed.
 * 2. `precheck(number, options)`: `GET /api/v1/orgs/:org/precheck?number=…` with a bearer token,
 *    answered `{action, reason, normalized}`; turned into advice the dial button can follow —
 *    proceed, confirm (ask the agent first) or abort (seed 001: "proceed with the call or abort it").
 */
import type { Message, UserAgent } from 'sip.js';

/** Every warning the daemon sends starts with this (agents/agent-notifier.ts `warningText`). */
export const WARNING_PREFIX = 'callscreen:';

export function isWarning(body: string | undefined): boolean {
  return typeof body === 'string' && body.startsWith(WARNING_PREFIX);
}

/**
 * Routes callscreen warnings to `onWarning` and everything else to the UA's previous `onMessage`.
 * Returns a function that puts the previous handler back.
 */
export function watchWarnings(
  ua: Pick<UserAgent, 'delegate'>,
  onWarning: (text: string, message: Message) => void,
): () => void {
  // Bound: sip.js declares onMessage as a method of the delegate, which may use `this`.
  const previous = ua.delegate?.onMessage?.bind(ua.delegate);
  const handler = (message: Message): void => {
    const body = message.request.body;
    if (!isWarning(body)) {
      if (previous) previous(message);
      else void message.accept();
      return;
    }
    // Accept first: the PBX must not retransmit (or report failure) while the UI shows it.
    void message.accept();
    onWarning(body, message);
  };
  ua.delegate = { ...ua.delegate, onMessage: handler };
  return () => {
    if (ua.delegate?.onMessage === handler) ua.delegate = { ...ua.delegate, onMessage: previous };
  };
}

/** What the dial button should do. */
export type DialAdvice = 'proceed' | 'confirm' | 'abort';

export interface PrecheckResult {
  readonly advice: DialAdvice;
  /** The daemon's verdict action (`allow`, `warn`, `confirm`, `deny`), or `unknown` when it could not be asked. */
  readonly action: string;
  /** One sentence to show the agent. */
  readonly reason: string;
  /** The number as the daemon read it (E.164), or the input when unknown. */
  readonly normalized: string;
  /** Why the daemon could not be asked (then advice is `proceed`: an outage never stops an agent). */
  readonly error?: string;
}

/** The part of `fetch` used, so tests and old browsers can pass their own. */
export type FetchLike = (
  url: string,
  init: { method: 'GET'; headers: Record<string, string>; signal: AbortSignal },
) => Promise<{ ok: boolean; status: number; json(): Promise<unknown> }>;

export interface PrecheckOptions {
  /** Where the daemon's HTTP API is, e.g. `https://pbx.example.org:8080` (no trailing path). */
  readonly baseUrl: string;
  /** Organisation slug. */
  readonly org: string;
  /** API bearer token of the agent (or of the softphone's service account). */
  readonly token: string;
  /** Give up and advise `proceed` after this long (ms, default 1500: a dial button must not hang). */
  readonly timeoutMs?: number;
  readonly fetch?: FetchLike;
}

const ADVICE: Readonly<Record<string, DialAdvice>> = {
  allow: 'proceed',
  warn: 'proceed',
  confirm: 'confirm',
  deny: 'abort',
};

/** Asks the daemon whether `number` may be dialled. Never throws. */
export async function precheck(number: string, options: PrecheckOptions): Promise<PrecheckResult> {
  const doFetch: FetchLike = options.fetch ?? ((url, init) => fetch(url, init));
  const url = `${options.baseUrl.replace(/\/+$/, '')}/api/v1/orgs/${encodeURIComponent(options.org)}/precheck?number=${encodeURIComponent(number)}`;
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), options.timeoutMs ?? 1500);
  const unknown = (error: string): PrecheckResult => ({
    advice: 'proceed',
    action: 'unknown',
    reason: 'callscreen could not be asked; dial with care',
    normalized: number,
    error,
  });
  try {
    const res = await doFetch(url, {
      method: 'GET',
      headers: { authorization: `Bearer ${options.token}`, accept: 'application/json' },
      signal: controller.signal,
    });
    if (!res.ok) return unknown(`HTTP ${res.status}`);
    const body = (await res.json()) as { action?: unknown; reason?: unknown; normalized?: unknown } | null;
    const action = typeof body?.action === 'string' ? body.action : '';
    const advice = ADVICE[action];
    if (advice === undefined) return unknown(`unexpected answer: action ${JSON.stringify(body?.action)}`);
    return {
      advice,
      action,
      reason: typeof body?.reason === 'string' ? body.reason : '',
      normalized: typeof body?.normalized === 'string' ? body.normalized : number,
    };
  } catch (err) {
    return unknown(controller.signal.aborted ? 'timed out' : err instanceof Error ? err.message : String(err));
  } finally {
    clearTimeout(timer);
  }
}

/**
 * /readyz: is this daemon able to give verdicts now? Ready when the store answers, the change feed
 * has polled recently (so list edits reach memory) and every required component (AMI when enabled,
 * the FastAGI listener…) reports ok.
 */
import type { OpsView } from './ops-view.js';

export interface ReadinessCheck {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
}

export interface Readiness {
  readonly ready: boolean;
  readonly checks: readonly ReadinessCheck[];
}

/** A store query slower than this counts as not ready (ms). */
export const STORE_PROBE_TIMEOUT_MS = 1000;

export async function checkReadiness(view: OpsView): Promise<Readiness> {
  const checks: ReadinessCheck[] = [];
  checks.push(await probeStore(view));
  checks.push(feedCheck(view));
  for (const h of view.componentHealth()) {
    if (h.required === false) continue;
    checks.push({ name: h.component, ok: h.ok, detail: h.state });
  }
  return { ready: checks.every((c) => c.ok), checks };
}

async function probeStore(view: OpsView): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${STORE_PROBE_TIMEOUT_MS} ms`)), STORE_PROBE_TIMEOUT_MS);
  });
  try {
    await Promise.race([Promise.all([view.ctx.db.get('SELECT 1'), view.ctx.reader.get('SELECT 1')]), timeout]);
    return { name: 'store', ok: true, detail: view.ctx.db.path };
  } catch (err) {
    return { name: 'store', ok: false, detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

function feedCheck(view: OpsView): ReadinessCheck {
  const pollMs = view.ctx.config.store.change_poll_ms;
  // 20 missed polls, at least 2 s: a busy event loop can delay a few without harm.
  const maxAgeS = Math.max(2, (20 * pollMs) / 1000);
  const status = view.ctx.feed.getStatus();
  if (status.lastPollAt === 0) return { name: 'change_feed', ok: false, detail: 'has not polled yet' };
  const age = view.changeLagSync().pollAgeSeconds;
  if (age > maxAgeS) return { name: 'change_feed', ok: false, detail: `last poll ${age.toFixed(1)} s ago (limit ${maxAgeS} s)` };
  return { name: 'change_feed', ok: true, detail: `last poll ${age.toFixed(2)} s ago, seq ${status.lastSeq}${status.lastError ? `, last error: ${status.lastError}` : ''}` };
}

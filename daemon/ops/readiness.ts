/**
 * /readyz: is this daemon able to give verdicts that follow the list, and is every link it was
 * told to keep up? Not ready (503, with the reason) while:
 * - the store does not answer, or its file is deleted, replaced, unreadable, read-only or corrupt,
 *   or its disk is full (store-health.ts);
 * - the change feed has not polled recently (list edits would not reach memory);
 * - a required component is down: the listeners, and every enabled PBX link (AMI, the inbound
 *   Event Socket, drachtio) — those say `required: false` for their own purposes (calls are still
 *   screened without them) but a link the config enables and that is down is an outage to page on.
 * The daemon keeps screening from memory meanwhile; readiness only reports.
 */
import type { Readiness, ReadinessCheck, ReadinessSubject } from './readiness-check.js';
import type { StoreHealth } from './store-health.js';

/** A store query slower than this counts as not ready (ms). */
export const STORE_PROBE_TIMEOUT_MS = 1000;

/** Components that are links to a peer: down (while enabled, i.e. present) means not ready. */
export const LINK_COMPONENTS: ReadonlySet<string> = new Set(['ami', 'esl-inbound', 'sip-edge']);

/** What to do, by reason: printed by `callscreen doctor` under a failing readiness check. */
export const READINESS_FIXES = {
  deleted:
    'the database file was removed while the daemon ran: restore it (callscreen restore BACKUP_FILE) or put it back, then systemctl restart callscreen',
  replaced:
    'the database file was replaced while the daemon ran (a copy or restore without stopping it): systemctl restart callscreen so the daemon opens the new file',
  unreadable:
    'give the service user read and write access to the database and its directory: chown callscreen: FILE DIR && chmod 0640 FILE && chmod 0750 DIR',
  'read-only':
    'the file system holding the database is read-only: remount it read-write (mount -o remount,rw …) and check the kernel log (dmesg) for I/O errors',
  corrupt:
    'restore the latest backup: systemctl stop callscreen && callscreen restore BACKUP_FILE && systemctl start callscreen (callscreen doctor runs PRAGMA quick_check)',
  'disk-full':
    "free space on the database's file system (df -h DIR; old backups, logs), then the daemon becomes ready by itself",
  'store-slow': 'the database does not answer: another process holds a long lock (fuser FILE) or the disk is failing',
  'feed-stalled':
    'the change feed stopped polling: the event loop is blocked or the database unreadable; see the log, then systemctl restart callscreen',
  'link-down':
    'the PBX link is down: check the PBX is running and the credentials in the config ([ami], [esl_inbound], [sip_edge]); the log names the last error',
  'component-down': 'a listener stopped: see the log, then systemctl restart callscreen',
  'shared-store-down':
    "PostgreSQL ([store] url) cannot be reached: screening goes on from this node's replica and writes are refused; check PostgreSQL (pg_isready -d URL), the network and the credentials; the log names the last error",
  'replica-behind':
    "this node's replica is far behind PostgreSQL's change log: see the replicator's log lines (a failing apply, a disk problem); it resyncs by itself when the log no longer holds what it needs",
} as const satisfies Readonly<Record<string, string>>;

/** The fix for the reason a check gave (any text: it also comes from another process's /readyz), if one is known. */
export function readinessFix(reason: string): string | undefined {
  return (READINESS_FIXES as Readonly<Record<string, string | undefined>>)[reason];
}

export async function checkReadiness(
  view: ReadinessSubject,
  storeHealth: StoreHealth | null = null,
): Promise<Readiness> {
  const checks: ReadinessCheck[] = [];
  checks.push(await probeStore(view));
  if (storeHealth) checks.push(...(await storeHealth.check()));
  checks.push(feedCheck(view));
  const replica = replicaCheck(view);
  if (replica) checks.push(replica);
  for (const h of view.componentHealth()) {
    const link = LINK_COMPONENTS.has(h.component);
    if (h.required === false && !link) continue;
    const lastError = typeof h.detail?.lastError === 'string' ? `, last error: ${h.detail.lastError}` : '';
    checks.push(
      h.ok
        ? { name: h.component, ok: true, detail: h.state }
        : {
            name: h.component,
            ok: false,
            reason: link ? 'link-down' : 'component-down',
            detail: `${h.state}${lastError}`,
          },
    );
  }
  return { ready: checks.every((c) => c.ok), checks };
}

async function probeStore(view: ReadinessSubject): Promise<ReadinessCheck> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(
      () => reject(new Error(`no answer within ${STORE_PROBE_TIMEOUT_MS} ms`)),
      STORE_PROBE_TIMEOUT_MS,
    );
  });
  try {
    await Promise.race([Promise.all([view.ctx.db.get('SELECT 1'), view.ctx.reader.get('SELECT 1')]), timeout]);
    return { name: 'store', ok: true, detail: view.ctx.db.path };
  } catch (err) {
    return { name: 'store', ok: false, reason: 'store-slow', detail: err instanceof Error ? err.message : String(err) };
  } finally {
    clearTimeout(timer);
  }
}

/** Changes pending on a replica for longer than this make it not ready (s). */
export const REPLICA_MAX_LAG_S = 30;

/** With a shared store (issue #15): PostgreSQL reachable and this replica not far behind. */
function replicaCheck(view: ReadinessSubject): ReadinessCheck | null {
  const shared = view.ctx.shared;
  if (!shared) return null;
  const s = shared.status();
  const lag = `applied ${s.replica.appliedSeq} of ${s.replica.headSeq}, lag ${s.lagChanges} changes / ${(s.lagMs / 1000).toFixed(1)} s, outbox ${s.outbox.pendingRecords} records`;
  if (!s.replica.connected)
    return {
      name: 'replica',
      ok: false,
      reason: 'shared-store-down',
      detail: `${s.store} unreachable (${s.replica.lastError ?? 'not reached yet'}); screening from the replica, ${lag}`,
    };
  if (s.lagMs > REPLICA_MAX_LAG_S * 1000) return { name: 'replica', ok: false, reason: 'replica-behind', detail: lag };
  return { name: 'replica', ok: true, detail: `${s.node} ← ${s.store}, ${lag}` };
}

function feedCheck(view: ReadinessSubject): ReadinessCheck {
  const pollMs = view.ctx.config.store.change_poll_ms;
  // 20 missed polls, at least 2 s: a busy event loop can delay a few without harm.
  const maxAgeS = Math.max(2, (20 * pollMs) / 1000);
  const status = view.ctx.feed.getStatus();
  if (status.lastPollAt === 0)
    return { name: 'change_feed', ok: false, reason: 'feed-stalled', detail: 'has not polled yet' };
  const age = view.changeLagSync().pollAgeSeconds;
  if (age > maxAgeS)
    return {
      name: 'change_feed',
      ok: false,
      reason: 'feed-stalled',
      detail: `last poll ${age.toFixed(1)} s ago (limit ${maxAgeS} s)`,
    };
  return {
    name: 'change_feed',
    ok: true,
    detail: `last poll ${age.toFixed(2)} s ago, seq ${status.lastSeq}${status.lastError ? `, last error: ${status.lastError}` : ''}`,
  };
}

/** Call records (the `screened` table) written straight into a database, for replays (what-if). */
import type { Database } from '../../daemon/store/database.js';

export const DAY_MS = 86_400_000;

export interface RecordOptions {
  readonly direction?: 'inbound' | 'outbound';
  readonly channel?: 'call' | 'sms';
  /** How long before `now` (ms, default one day). */
  readonly ago?: number;
  readonly action?: string;
  /** The called number as the PBX sent it (default '+12125550100'). */
  readonly to?: string;
}

/** Inserts `n` records of `number` (an inbound call by default), `ago` ms before `now`. */
export async function recordCalls(
  db: Database,
  orgId: number,
  now: number,
  number: string,
  n: number,
  o: RecordOptions = {},
): Promise<void> {
  for (let i = 0; i < n; i++) {
    await db.run(
      `INSERT INTO screened (at, org_id, channel, direction, from_raw, to_raw, number, action, adapter) VALUES (?, ?, ?, ?, ?, ?, ?, ?, 'test')`,
      [
        now - (o.ago ?? DAY_MS) - i,
        orgId,
        o.channel ?? 'call',
        o.direction ?? 'inbound',
        number,
        o.to ?? '+12125550100',
        number,
        o.action ?? 'allow',
      ],
    );
  }
}

/**
 * Reads one AstDB value over AMI. `DBGet` answers `Response: Success` (an event list) and then sends
 * the value in a `DBGetResponse` event with the action's ActionID, then `DBGetComplete`; a missing key
 * is `Response: Error` "Database entry not found". Asterisk writes an action's own events straight to
 * the session that asked, not through the session's event `Filter`s (checked on Asterisk 22 by
 * test/e2e/asterisk-astdb-resync.test.ts, whose daemon filters on DialBegin and UserEvent).
 *
 * The event may be handled before the action's promise resumes its caller (both come from one read
 * of the socket), so values are kept by ActionID until collected.
 *
 * The one DBGet reader: the AstDB mirror reads its generation marker with it, the dialplan fail
 * counter (dialplan-fail-counter.ts) its counters.
 */
import type { Scheduler } from '../../core/clock.js';
import type { AmiActions, AmiEvent, AmiEventSource } from './ami-client.js';
import { field } from './ami-protocol.js';

export class AstdbReader {
  /** DBGetResponse values by ActionID, until the DBGet that asked for them collects them. */
  private readonly values = new Map<string, string>();
  private readonly waiting = new Map<string, (v: string | null) => void>();
  /** Families this reader asked about: another component's DBGets on the session are not kept here. */
  private readonly families = new Set<string>();

  constructor(
    private readonly ami: AmiActions & AmiEventSource,
    private readonly timers: Scheduler,
    /** How long a value event may follow its response (ms). */
    private readonly timeoutMs: number,
  ) {}

  /** Starts hearing DBGetResponse events; returns the unsubscribe. */
  attach(): () => void {
    return this.ami.onEvent((e) => this.onEvent(e));
  }

  /** The value of family/key; null when the key does not exist. Throws when no value comes. */
  async get(family: string, key: string): Promise<string | null> {
    this.families.add(family);
    let res;
    try {
      res = await this.ami.action('DBGet', { Family: family, Key: key });
    } catch (err) {
      if (/not found/i.test(err instanceof Error ? err.message : String(err))) return null;
      throw err;
    }
    const id = field(res, 'ActionID') ?? '';
    const raw = this.values.get(id) ?? (await this.wait(id));
    this.values.delete(id);
    if (raw === null) throw new Error(`DBGet ${family}/${key}: no DBGetResponse within ${this.timeoutMs} ms`);
    return raw;
  }

  private wait(id: string): Promise<string | null> {
    return new Promise((resolve) => {
      const timer = this.timers.setTimeout(() => {
        this.waiting.delete(id);
        resolve(null);
      }, this.timeoutMs);
      this.waiting.set(id, (v) => {
        this.timers.clearTimeout(timer);
        this.waiting.delete(id);
        resolve(v);
      });
    });
  }

  private onEvent(e: AmiEvent): void {
    if (e.name !== 'DBGetResponse' || !this.families.has(field(e.fields, 'Family') ?? '')) return;
    const id = field(e.fields, 'ActionID');
    if (id === undefined) return;
    const v = field(e.fields, 'Val') ?? '';
    const w = this.waiting.get(id);
    if (w) w(v);
    else this.values.set(id, v);
  }
}

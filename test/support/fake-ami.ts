// A fake AMI that keeps an AstDB in a Map (DBPut / DBDel / DBDelTree with Asterisk's "not found"
// errors), for the AstDB mirror's tests.
import { CallscreenError } from '../../daemon/core/errors.js';
import type { AmiEvent } from '../../daemon/pbx/asterisk/ami-client.js';
import type { LinkState } from '../../daemon/net/reconnecting-link.js';
import { overlongField, type AmiFields, type AmiMessage } from '../../daemon/pbx/asterisk/ami-protocol.js';

export class FakeAmi {
  currentState: LinkState = 'stopped';
  readonly db = new Map<string, string>();
  readonly actions: Array<{ name: string; fields: AmiFields }> = [];
  /**
   * Whether callscreen's Asterisk module is loaded: CallScreenDBPut stores its Put lines as the
   * module does; without it, Asterisk's answer to an action nobody registered. Default: not loaded.
   */
  module = false;
  /** Keys whose DBPut Asterisk refuses (a full disk, say). */
  readonly refuse = new Set<string>();
  /** DBGet answers without their DBGetResponse event (an event filter that ate it, say). */
  dropGetEvents = false;
  private nextId = 0;
  private readonly states = new Set<(s: LinkState) => void>();
  private readonly events = new Set<(e: AmiEvent) => void>();

  /** As the client's: a refusal is a rejected promise, never a throw. */
  action(name: string, fields: AmiFields = {}): Promise<AmiMessage> {
    return new Promise((resolve) => {
      resolve(this.answer(name, fields));
    });
  }

  private answer(name: string, fields: AmiFields): AmiMessage {
    if (this.currentState !== 'connected')
      throw new CallscreenError('CS_ERR_UNAVAILABLE', `AMI is not connected; ${name} not sent`);
    this.actions.push({ name, fields: { ...fields } });
    const key = `/${String(fields.Family)}/${String(fields.Key)}`;
    const fail = (m: string): never => {
      throw new CallscreenError('CS_ERR_UNAVAILABLE', `AMI ${name} failed: ${m}`, { action: name, reply: m });
    };
    // As Asterisk: a line longer than its buffer is refused (ami-protocol.ts, AMI_MAX_LINE_BYTES).
    if (overlongField(fields) !== null) fail('Failed to parse message: line too long');
    if (name === 'CallScreenDBPut') {
      if (!this.module) fail(`Invalid/unknown command: ${name}. Use Action: ListCommands to show available commands.`);
      this.putMany(fields, fail);
    } else if (name === 'DBPut') {
      if (this.refuse.has(String(fields.Key))) fail('Failed to update entry');
      this.db.set(key, String(fields.Val ?? ''));
    } else if (name === 'DBDel') {
      if (!this.db.delete(key)) fail('Database entry could not be deleted');
    } else if (name === 'DBGet') {
      // As Asterisk: an event list whose value comes in a DBGetResponse event with the ActionID.
      const value = this.db.get(key);
      if (value === undefined) fail('Database entry not found');
      const id = `fake-${++this.nextId}`;
      if (!this.dropGetEvents) {
        const event = {
          Event: 'DBGetResponse',
          Family: String(fields.Family),
          Key: String(fields.Key),
          Val: String(value),
          ActionID: id,
        };
        for (const l of this.events) l({ name: 'DBGetResponse', fields: event });
      }
      return { Response: 'Success', EventList: 'start', Message: 'Result will follow', ActionID: id };
    } else if (name === 'DBDelTree') {
      const prefix = `/${String(fields.Family)}/`;
      const gone = [...this.db.keys()].filter((k) => k.startsWith(prefix));
      if (gone.length === 0) fail('Database entry not found');
      for (const k of gone) this.db.delete(k);
    }
    return { Response: 'Success' };
  }

  /** The module's CallScreenDBPut: Count must equal the Put lines; keys stored in order until one is refused. */
  private putMany(fields: AmiFields, fail: (m: string) => never): void {
    const lines = fields.Put === undefined ? [] : typeof fields.Put === 'string' ? [fields.Put] : fields.Put;
    if (String(fields.Count) !== String(lines.length))
      fail(`Count says ${String(fields.Count)} Put lines, ${lines.length} arrived: nothing stored`);
    lines.forEach((line, i) => {
      const space = line.indexOf(' ');
      const k = space < 0 ? line : line.slice(0, space);
      if (this.refuse.has(k)) fail(`Put line ${i + 1}: AstDB refused it; ${i} stored`);
      this.db.set(`/${String(fields.Family)}/${k}`, space < 0 ? '' : line.slice(space + 1));
    });
  }

  get(key: string): string | undefined {
    return this.db.get(`/callscreen/${key}`);
  }

  setState(s: LinkState): void {
    this.currentState = s;
    for (const l of this.states) l(s);
  }

  emit(fields: Record<string, string>): void {
    for (const l of this.events)
      l({ name: 'UserEvent', fields: { Event: 'UserEvent', UserEvent: 'CallScreen', ...fields } });
  }

  onState(l: (s: LinkState) => void): () => void {
    this.states.add(l);
    return () => this.states.delete(l);
  }

  onEvent(l: (e: AmiEvent) => void): () => void {
    this.events.add(l);
    return () => this.events.delete(l);
  }
}

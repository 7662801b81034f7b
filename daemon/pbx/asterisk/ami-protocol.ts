/**
 * AMI wire format, pure: a message is `Key: Value` lines ended by CRLF and closed by an empty line;
 * the server first sends one banner line (`Asterisk Call Manager/9.0.0`) with no empty line after it.
 * No I/O here so the framing is tested on its own and the client holds only the state machine.
 */

/** One response or event, keys as Asterisk spells them (`Response`, `ActionID`, `DialString`). */
export type AmiMessage = Readonly<Record<string, string>>;

/**
 * An action's fields. A list is one line per item under the same name, in order: the module's
 * `CallScreenDBPut` takes one `Put:` line per key (docs/asterisk-contract.md "The module").
 */
export type AmiFields = Readonly<Record<string, string | readonly string[]>>;

export type AmiFrame =
  { readonly kind: 'banner'; readonly text: string } | { readonly kind: 'message'; readonly fields: AmiMessage };

/** The banner tells us we speak to an AMI server and which protocol version. */
const BANNER_TEXT = 'Asterisk Call Manager/';

/**
 * Splits a byte stream into frames. A message larger than `maxBytes` (default 1 MiB) without an
 * empty line means the peer is not speaking AMI: `push` throws and the caller drops the connection.
 *
 * The text is scanned in place with indexOf from a moving offset, and each line goes straight into
 * the message being built: a mirror sync reads ~3 responses of 3 lines per key (millions), and
 * re-slicing the whole unread buffer per line, then again per field, was a large part of its cost.
 * Only the tail after the last complete line is kept between chunks.
 */
export class AmiParser {
  /** Text after the last complete line of the previous chunk (a line split across reads). */
  private rest = '';
  /** The message being read, or null between messages. */
  private fields: Record<string, string> | null = null;
  /** Characters of the lines read into `fields` so far (CR excluded), for the size bound. */
  private messageChars = 0;
  private seenBanner = false;

  constructor(private readonly maxBytes = 1024 * 1024) {}

  push(chunk: string): AmiFrame[] {
    const text = this.rest === '' ? chunk : this.rest + chunk;
    const out: AmiFrame[] = [];
    let pos = 0;
    for (let nl = text.indexOf('\n'); nl >= 0; nl = text.indexOf('\n', pos)) {
      const start = pos;
      // One CR before the LF belongs to the line ending.
      const end = nl > start && text.charCodeAt(nl - 1) === CR ? nl - 1 : nl;
      pos = nl + 1;
      if (end === start) {
        if (this.fields !== null) out.push({ kind: 'message', fields: this.fields });
        this.fields = null;
        this.messageChars = 0;
        continue;
      }
      if (!this.seenBanner && this.fields === null && text.startsWith(BANNER_TEXT, start)) {
        this.seenBanner = true;
        out.push({ kind: 'banner', text: text.slice(start, end) });
        continue;
      }
      const fields = (this.fields ??= {});
      this.messageChars += end - start;
      const colon = text.indexOf(':', start);
      if (colon <= start || colon >= end) continue;
      const key = text.slice(start, colon).trim();
      // Repeated keys (ChanVariable, Output) keep the first value: the daemon reads none of them.
      if (key in fields) continue;
      fields[key] = text.slice(text.charCodeAt(colon + 1) === SPACE && colon + 1 < end ? colon + 2 : colon + 1, end);
    }
    this.rest = pos === 0 ? text : text.slice(pos);
    if (this.rest.length + this.messageChars > this.maxBytes) {
      throw new Error(`AMI message larger than ${this.maxBytes} bytes`);
    }
    return out;
  }
}

const CR = 13;
const SPACE = 32;

/** Case-insensitive field read: Asterisk is consistent, fake servers and old versions less so. */
export function field(msg: AmiMessage, key: string): string | undefined {
  const direct = msg[key];
  if (direct !== undefined) return direct;
  // Responses are read for `Event` first, which they lack: compare lengths before lowercasing.
  const lower = key.toLowerCase();
  for (const k in msg) if (k.length === lower.length && k.toLowerCase() === lower) return msg[k];
  return undefined;
}

/**
 * The longest line Asterisk's manager reads, CRLF included (bytes): its session buffer holds 1,024.
 * Measured on Asterisk 22: `Val: ` and 1,017 characters is the longest DBPut value; one more and it
 * answers "Failed to parse message: line too long".
 */
export const AMI_MAX_LINE_BYTES = 1024;

/** The first field whose `Key: value` line (any of a list's) Asterisk would refuse as too long, or null. */
export function overlongField(fields: AmiFields): string | null {
  for (const k in fields) {
    const v = fields[k] ?? '';
    if (typeof v === 'string' ? overlongLine(k, v) : v.some((item) => overlongLine(k, item))) return k;
  }
  return null;
}

/** Whether `Key: value` CRLF is longer than AMI_MAX_LINE_BYTES. */
export function overlongLine(key: string, value: string): boolean {
  // Bytes only when the characters alone come near the limit (UTF-8: up to 4 bytes a character).
  return (
    4 * (key.length + value.length) + 4 > AMI_MAX_LINE_BYTES &&
    Buffer.byteLength(`${key}: ${value}\r\n`) > AMI_MAX_LINE_BYTES
  );
}

/**
 * Encodes an action. CR and LF inside a value would end the header early and let a value (an
 * entry's name or reason, an SMS body) inject AMI headers: they become spaces. Multi-line SMS
 * bodies go through `Base64Body` instead (see AmiMessageDeliverer).
 */
export function encodeAction(action: string, actionId: string, fields: AmiFields): string {
  let out = `Action: ${clean(action)}\r\nActionID: ${clean(actionId)}\r\n`;
  for (const k in fields) {
    const v = fields[k] ?? '';
    if (typeof v === 'string') out += `${clean(k)}: ${clean(v)}\r\n`;
    else for (const item of v) out += `${clean(k)}: ${clean(item)}\r\n`;
  }
  return `${out}\r\n`;
}

/** A value with CR or LF made one line; the common case (none) is a scan, not a regex replace. */
function clean(v: string): string {
  return v.includes('\n') || v.includes('\r') ? v.replace(/[\r\n]+/g, ' ') : v;
}

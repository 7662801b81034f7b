/**
 * AMI wire format, pure: a message is `Key: Value` lines ended by CRLF and closed by an empty line;
 * the server first sends one banner line (`Asterisk Call Manager/9.0.0`) with no empty line after it.
 * No I/O here so the framing is tested on its own and the client holds only the state machine.
 */

/** One response or event, keys as Asterisk spells them (`Response`, `ActionID`, `DialString`). */
export type AmiMessage = Readonly<Record<string, string>>;

export type AmiFrame =
  { readonly kind: 'banner'; readonly text: string } | { readonly kind: 'message'; readonly fields: AmiMessage };

/** The banner tells us we speak to an AMI server and which protocol version. */
const BANNER = /^Asterisk Call Manager\//;

/**
 * Splits a byte stream into frames. A message larger than `maxBytes` (default 1 MiB) without an
 * empty line means the peer is not speaking AMI: `push` throws and the caller drops the connection.
 */
export class AmiParser {
  private buffer = '';
  private lines: string[] = [];
  private seenBanner = false;

  constructor(private readonly maxBytes = 1024 * 1024) {}

  push(chunk: string): AmiFrame[] {
    this.buffer += chunk;
    const out: AmiFrame[] = [];
    for (let nl = this.buffer.indexOf('\n'); nl >= 0; nl = this.buffer.indexOf('\n')) {
      const line = this.buffer.slice(0, nl).replace(/\r$/, '');
      this.buffer = this.buffer.slice(nl + 1);
      if (!this.seenBanner && this.lines.length === 0 && BANNER.test(line)) {
        this.seenBanner = true;
        out.push({ kind: 'banner', text: line });
        continue;
      }
      if (line === '') {
        if (this.lines.length > 0) out.push({ kind: 'message', fields: toFields(this.lines) });
        this.lines = [];
        continue;
      }
      this.lines.push(line);
    }
    if (this.buffer.length + this.lines.reduce((n, l) => n + l.length, 0) > this.maxBytes) {
      throw new Error(`AMI message larger than ${this.maxBytes} bytes`);
    }
    return out;
  }
}

function toFields(lines: readonly string[]): AmiMessage {
  const fields: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const key = line.slice(0, colon).trim();
    // Repeated keys (ChanVariable, Output) keep the first value: the daemon reads none of them.
    if (key in fields) continue;
    fields[key] = line.slice(colon + 1).replace(/^ /, '');
  }
  return fields;
}

/** Case-insensitive field read: Asterisk is consistent, fake servers and old versions less so. */
export function field(msg: AmiMessage, key: string): string | undefined {
  const direct = msg[key];
  if (direct !== undefined) return direct;
  const lower = key.toLowerCase();
  for (const k of Object.keys(msg)) if (k.toLowerCase() === lower) return msg[k];
  return undefined;
}

/**
 * Encodes an action. CR and LF inside a value would end the header early and let a value (an
 * entry's name or reason, an SMS body) inject AMI headers: they become spaces. Multi-line SMS
 * bodies go through `Base64Body` instead (see AmiMessageDeliverer).
 */
export function encodeAction(action: string, actionId: string, fields: Readonly<Record<string, string>>): string {
  const clean = (v: string): string => v.replace(/[\r\n]+/g, ' ');
  let out = `Action: ${clean(action)}\r\nActionID: ${clean(actionId)}\r\n`;
  for (const [k, v] of Object.entries(fields)) out += `${clean(k)}: ${clean(v)}\r\n`;
  return `${out}\r\n`;
}

/**
 * The body of a `text/event-plain` frame, read into headers and the event's own body.
 *
 * FreeSWITCH (switch_event_serialize with encoding on) writes one `Name: value` line per header,
 * the value URL-encoded (an empty value as `_undef_`), then either a blank line (no body) or
 * `Content-Length: N`, a blank line and N bytes of body. A MESSAGE event's body is the text of the
 * SMS, so it may itself hold blank lines: only the first blank line ends the header block, and the
 * inner Content-Length (bytes) says where the body ends.
 *
 * The outer frame is already bounded by EslFrameReader; this only splits what it delivered.
 */
import { decodeHeaderValue } from './esl-frame.js';

export interface EslEvent {
  /** Header names as sent (case kept: `Event-Name`, `to_user`); values URL-decoded. */
  readonly headers: Readonly<Record<string, string>>;
  /** The event's body (an SMS text), '' when it has none. */
  readonly body: string;
}

export type EslEventError = 'no-header-block' | 'bad-header-line' | 'bad-content-length' | 'short-body';

export type EslEventParse =
  { readonly ok: true; readonly event: EslEvent } | { readonly ok: false; readonly error: EslEventError };

/** What FreeSWITCH writes for an empty header value. */
const UNDEF = '_undef_';
/** Header names FreeSWITCH and chatplans use: letters, digits, `-`, `_`, `.` (`variable_sip_h_X-Foo`). */
const NAME = /^[A-Za-z0-9_.-]+$/;

export function parseEventPlain(text: string): EslEventParse {
  // FreeSWITCH ends lines with \n; a \r before it is tolerated in the header block, never touched in the body.
  const blank = /\r?\n\r?\n/.exec(text);
  // A body-less event ends with its blank line; one whose last header has no line end is accepted too.
  const block = blank === null ? text.replace(/\r?\n$/, '') : text.slice(0, blank.index);
  if (block.trim() === '') return { ok: false, error: 'no-header-block' };
  // No prototype: a header named `__proto__` or `constructor` is only a header.
  const headers = Object.create(null) as Record<string, string>;
  for (const raw of block.split('\n')) {
    const line = raw.endsWith('\r') ? raw.slice(0, -1) : raw;
    const colon = line.indexOf(':');
    if (colon <= 0 || !NAME.test(line.slice(0, colon))) return { ok: false, error: 'bad-header-line' };
    const value = decodeHeaderValue(line.slice(colon + 1).trimStart());
    // The first of a repeated header wins, as switch_event_get_header reads it.
    const name = line.slice(0, colon);
    if (!Object.hasOwn(headers, name)) headers[name] = value === UNDEF ? '' : value;
  }
  const lengthText = headers['Content-Length'];
  if (lengthText === undefined) return { ok: true, event: { headers, body: '' } };
  if (!/^\d{1,9}$/.test(lengthText)) return { ok: false, error: 'bad-content-length' };
  delete headers['Content-Length'];
  const rest = Buffer.from(blank === null ? '' : text.slice(blank.index + blank[0].length), 'utf8');
  const length = Number(lengthText);
  if (rest.length < length) return { ok: false, error: 'short-body' };
  return { ok: true, event: { headers, body: rest.subarray(0, length).toString('utf8') } };
}

/**
 * Putting a text message back into FreeSWITCH from outside: `sendevent CUSTOM` with
 * `Event-Subclass: SMS::SEND_MESSAGE`. mod_sms binds that subclass and hands the event to
 * `switch_core_chat_send(dest_proto, event)` — after setting `skip_global_process`, so the chatplan
 * is NOT run again: the message goes straight to the `dest_proto` endpoint (sofia for `sip`, which
 * sends a SIP MESSAGE to `to`), exactly as the chatplan's own `send` application does. (Hence
 * `dest_proto: GLOBAL` would deliver nothing: the core skips direct delivery for any GLOBAL* proto.)
 *
 * mod_event_socket reads a sendevent's header lines raw (no URL-decoding): a value cannot hold a line
 * break and a name only token characters; the body follows `Content-Length` (bytes).
 *
 * Also here: `deliverTo`, the text a held message keeps of where it was going (`sip/internal/1001@pbx`).
 */

/** Headers FreeSWITCH stamps on every fired event, or that would change what sendevent does. */
const NOT_FORWARDED = new Set([
  'event-name',
  'event-subclass',
  'core-uuid',
  'freeswitch-hostname',
  'freeswitch-switchname',
  'freeswitch-ipv4',
  'freeswitch-ipv6',
  'event-date-local',
  'event-date-gmt',
  'event-date-timestamp',
  'event-calling-file',
  'event-calling-function',
  'event-calling-line-number',
  'event-sequence',
  'event-uuid',
  'content-length',
  'content-type',
  'command',
  // sendevent queues an event that carries unique-id to that call instead of firing it.
  'unique-id',
  // mod_sms's handler returns at once on these: they mark its own delivery reports.
  'delivery-failure',
  'nonblocking-delivery',
  'delivery-result-code',
  // sofia would hold the chat thread up to 20 s waiting for the far end's answer.
  'blocking',
  // Set here, once.
  'dest_proto',
  'skip_global_process',
]);

const TOKEN = /^[A-Za-z0-9_.-]+$/;
const oneLine = (s: string): string => s.replace(/[\r\n]+/g, ' ');

/**
 * The endpoint a message goes to: its `dest_proto` (what `send` with no argument uses) unless that is
 * empty or GLOBAL*, then its `proto`, else `sip`.
 */
export function chatDestProto(headers: Readonly<Record<string, string>>): string {
  for (const p of [headers['dest_proto'], headers['proto']]) {
    if (p !== undefined && p !== '' && !/global/i.test(p) && TOKEN.test(p)) return p;
  }
  return 'sip';
}

/** The full sendevent command: headers (those not stamped by FreeSWITCH), `dest_proto`, body. */
export function sendMessageCommand(destProto: string, headers: Readonly<Record<string, string>>, body: string): string {
  const lines = ['sendevent CUSTOM', 'Event-Subclass: SMS::SEND_MESSAGE', `dest_proto: ${oneLine(destProto)}`];
  for (const [name, value] of Object.entries(headers)) {
    if (value === '' || !TOKEN.test(name) || NOT_FORWARDED.has(name.toLowerCase())) continue;
    lines.push(`${name}: ${oneLine(value)}`);
  }
  const bytes = Buffer.byteLength(body, 'utf8');
  return bytes > 0 ? `${lines.join('\n')}\nContent-Length: ${bytes}\n\n${body}` : `${lines.join('\n')}\n\n`;
}

/**
 * `<dest_proto>/<to>`, with sofia's `<profile>/` in front of `to` when it has none, since a held
 * message keeps no `sip_profile` header: sofia reads `internal/1001@pbx.example` as profile `internal`,
 * user `1001`, host `pbx.example`.
 */
export function formatDeliverTo(destProto: string, headers: Readonly<Record<string, string>>): string {
  const to = headers['to'] ?? '';
  const profile = headers['sip_profile'] ?? '';
  const withProfile = destProto === 'sip' && profile !== '' && !to.includes('/') ? `${profile}/${to}` : to;
  return `${destProto}/${withProfile}`;
}

export function parseDeliverTo(deliverTo: string): { destProto: string; to: string } {
  const slash = deliverTo.indexOf('/');
  if (slash <= 0 || !TOKEN.test(deliverTo.slice(0, slash))) return { destProto: 'sip', to: deliverTo };
  return { destProto: deliverTo.slice(0, slash), to: deliverTo.slice(slash + 1) };
}

/**
 * The headers of a released message. `proto: sip` makes sofia use `from_full` as the From header,
 * so the phone shows the original sender; its `tag` is dropped (a new request takes a new one).
 */
export function releasedMessageHeaders(from: string, to: string, marker: string): Record<string, string> {
  const addr = /sips?:([^;>\s]+)/i.exec(from)?.[1] ?? from.trim();
  const at = addr.indexOf('@');
  const user = at === -1 ? addr : addr.slice(0, at);
  const host = at === -1 ? '' : addr.slice(at + 1);
  const fromFull = /sips?:/i.test(from) ? from.replace(/;\s*tag=[^;>\s]*/gi, '').trim() : `<sip:${addr}>`;
  return {
    proto: 'sip',
    from: addr,
    from_user: user,
    ...(host ? { from_host: host } : {}),
    from_full: fromFull,
    to,
    type: 'text/plain',
    [marker]: 'screened',
  };
}

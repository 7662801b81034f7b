/** Small SIP URI helpers the edge needs (pure). */

/** The user part of a SIP/TEL URI anywhere in a header value (`"Bob" <sip:+1555@h>;tag=x` → `+1555`). */
export function uriUser(value: string): string {
  const m = /(?:sips?|tel):([^@;>?]+)/i.exec(value);
  return m?.[1] ?? '';
}

/** `sip:host:port;params` with its user part set to `user` (`sip:10.0.0.5:5060` + `+1555` → `sip:+1555@10.0.0.5:5060`). */
export function withUser(uri: string, user: string): string {
  const [, scheme, rest] = /^(sips?):(?:[^@]*@)?(.*)$/i.exec(uri) ?? [];
  if (scheme === undefined || rest === undefined) return uri;
  return user === '' ? `${scheme}:${rest}` : `${scheme}:${user}@${rest}`;
}

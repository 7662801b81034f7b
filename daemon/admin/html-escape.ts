/**
 * The one HTML escape helper. Every string that reaches a page goes through `escapeHtml` or the
 * `html` tagged template, which escapes each interpolated value unless it is already `SafeHtml`
 * (the output of another `html` call). Escapes the five characters that matter in text and in
 * quoted attribute values.
 */
const ESCAPES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' };

export function escapeHtml(value: string | number | boolean | bigint | null | undefined): string {
  return String(value ?? '').replace(/[&<>"']/g, (c) => ESCAPES[c] ?? c);
}

/** Markup that is already safe (built by `html`); the only way to skip escaping. */
export class SafeHtml {
  constructor(readonly value: string) {}
  toString(): string {
    return this.value;
  }
}

/** Anything: SafeHtml as is, arrays joined, null/undefined/false as nothing, text and numbers escaped. */
type Interpolated = unknown;

function render(v: Interpolated): string {
  if (v instanceof SafeHtml) return v.value;
  if (Array.isArray(v)) return v.map(render).join('');
  if (v === null || v === undefined || v === false) return '';
  if (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' || typeof v === 'bigint')
    return escapeHtml(v);
  // An object here is a bug in a page (it would print "[object Object]"): refuse it loudly.
  throw new TypeError(`html\`\`: cannot interpolate a ${typeof v}`);
}

export function html(strings: TemplateStringsArray, ...values: Interpolated[]): SafeHtml {
  let out = strings[0] ?? '';
  for (let i = 0; i < values.length; i++) out += render(values[i]) + (strings[i + 1] ?? '');
  return new SafeHtml(out);
}

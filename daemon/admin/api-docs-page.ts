/**
 * `/api/v1/docs`: the OpenAPI document as a readable page, rendered on the server (the CSP allows
 * no third-party script, so no Swagger UI): every operation with its summary, parameters, body
 * fields, answers and whether it needs sign-in. The JSON is at /api/v1/openapi.json.
 */
import { html, type SafeHtml } from './html-escape.js';
import { document } from './page-layout.js';

interface Schema {
  type?: unknown;
  enum?: unknown[];
  description?: string;
  properties?: Record<string, Schema>;
  required?: string[];
}
interface Operation {
  summary?: string;
  tags?: string[];
  security?: unknown[];
  parameters?: Array<{ name: string; in: string; required?: boolean; schema?: Schema }>;
  requestBody?: { content?: Record<string, { schema?: Schema }> };
  responses?: Record<string, { description?: string }>;
}
export interface OpenApiDoc {
  info?: { title?: string; description?: string };
  paths?: Record<string, Record<string, Operation>>;
}

const typeOf = (s: Schema | undefined): string =>
  s?.enum
    ? s.enum.map(String).join(' | ')
    : Array.isArray(s?.type)
      ? s.type.join(' | ')
      : typeof s?.type === 'string'
        ? s.type
        : 'any';

function operation(method: string, path: string, op: Operation): SafeHtml {
  const body = op.requestBody?.content?.['application/json']?.schema;
  const fields = Object.entries(body?.properties ?? {});
  return html`<section class="card" aria-label="${method.toUpperCase()} ${path}">
<h3><code>${method.toUpperCase()} ${path}</code> ${op.security && op.security.length === 0 ? html`<span class="tag">public</span>` : html`<span class="tag">sign-in or token</span>`}</h3>
<p>${op.summary ?? ''}</p>
${op.parameters && op.parameters.length > 0 ? html`<p><strong>Parameters:</strong> ${op.parameters.map((p, i) => html`${i ? ', ' : ''}<code>${p.name}</code> (${p.in}${p.required ? ', required' : ''}: ${typeOf(p.schema)})`)}</p>` : ''}
${fields.length > 0 ? html`<p><strong>Body:</strong> ${fields.map(([k, v], i) => html`${i ? ', ' : ''}<code>${k}</code>${body?.required?.includes(k) ? '*' : ''} (${typeOf(v)})`)}</p>` : ''}
<p><strong>Answers:</strong> ${Object.entries(op.responses ?? {}).map(([code, r], i) => html`${i ? '; ' : ''}<code>${code}</code> ${r.description ?? ''}`)}</p>
</section>`;
}

export function renderApiDocs(doc: OpenApiDoc): string {
  const ops = Object.entries(doc.paths ?? {}).flatMap(([path, methods]) =>
    Object.entries(methods).map(([m, op]) => operation(m, path, op)),
  );
  return document(
    'API',
    html`<main id="content"><h1>${doc.info?.title ?? 'API'}</h1>
<p>${doc.info?.description ?? ''} The machine-readable document: <a href="/api/v1/openapi.json">/api/v1/openapi.json</a>. Errors are always <code>{code, message, details}</code>.</p>
${ops}</main>`,
  );
}

/**
 * A refused form post, shown on the same form: what was typed stays in the fields and the catalogue
 * error's message is put next to the field it concerns, with the HTTP status the API gives for the
 * same error. Which field: the error's `details.field` or `details.key` (the catalogue's convention),
 * mapped to the form's input names; errors about a number (`CS_ERR_INVALID_NUMBER`, protected) name
 * no key, so the form says which of its inputs held the number. Anything else (a 5xx, a 401) is not
 * a form mistake and still goes to the error handler.
 */
import { CallscreenError } from '../core/errors.js';
import { html, type SafeHtml } from './html-escape.js';

export interface FormError {
  readonly message: string;
  /** The input name the message belongs next to; null = the form as a whole. */
  readonly field: string | null;
  readonly status: number;
}

/** Statuses a form re-renders with: bad value, refused scope, unknown contact/entry, conflict, invalid rows. */
const FORM_STATUSES: ReadonlySet<number> = new Set([400, 403, 404, 409, 422]);
/** Errors about what was typed as the number, prefix or pattern (issue #16's pattern errors name no key either). */
const NUMBER_CODES: ReadonlySet<string> = new Set([
  'CS_ERR_INVALID_NUMBER',
  'CS_ERR_INVALID_PREFIX',
  'CS_ERR_PROTECTED_NUMBER',
  'CS_ERR_INVALID_PATTERN',
  'CS_ERR_PATTERN_TOO_BROAD',
]);

/**
 * The error as a form error, or null when it is not one (the caller rethrows).
 * `fields` maps an error key to the form's input name (keys equal to an input name need no entry);
 * `numberField` is the input that held the number, for number errors.
 */
export function formErrorOf(
  err: unknown,
  known: readonly string[],
  fields: Readonly<Record<string, string>> = {},
  numberField: string | null = null,
): FormError | null {
  if (!(err instanceof CallscreenError) || !FORM_STATUSES.has(err.httpStatus)) return null;
  const raw = err.details.field ?? err.details.key;
  let field: string | null = null;
  if (typeof raw === 'string') field = fields[raw] ?? (known.includes(raw) ? raw : null);
  if (
    field === null &&
    (NUMBER_CODES.has(err.code) || (err.code === 'CS_ERR_FORBIDDEN' && err.details.kind === 'prefix'))
  )
    field = numberField;
  if (field === null && err.code === 'CS_ERR_CONTACT_NOT_FOUND') field = fields.contact ?? null;
  return { message: err.message, field, status: err.httpStatus };
}

/** The banner at the top of a refused form: read out at once (role=alert), linking to the field. */
export function errorSummary(fe: FormError | undefined, kindOf: Readonly<Record<string, string>> = {}): SafeHtml {
  if (!fe) return html``;
  // On a kind form, an error about one kind's field goes away with that kind's fieldset when the
  // user picks another kind (panel.css hides `.for-<kind>`), instead of pointing at a hidden field.
  const kind = fe.field ? kindOf[fe.field] : undefined;
  return html`<div class="error${kind ? ` for-kind for-${kind}` : ''}" role="alert"><strong>Not saved:</strong> ${fe.message}${fe.field ? html` <a href="#${fe.field}">Go to the field</a>` : ''}</div>`;
}

/** ` aria-invalid aria-describedby` for the input the error concerns (its id is the field name). */
export function invalidAttrs(fe: FormError | undefined, field: string): SafeHtml {
  return fe?.field === field ? html` aria-invalid="true" aria-describedby="${field}-error"` : html``;
}

/** The message under the input the error concerns. */
export function fieldError(fe: FormError | undefined, field: string): SafeHtml {
  return fe?.field === field ? html`<p class="field-error" id="${field}-error">${fe.message}</p>` : html``;
}

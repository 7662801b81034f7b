/**
 * Turns anything thrown in a route into the catalogue's JSON shape `{code, message, details}` and
 * its HTTP status. Fastify's own refusals (schema validation, body too large, wrong content type,
 * malformed JSON) keep their status but get a catalogue code; validation names the field.
 */
import { CallscreenError, ERROR_CATALOGUE, isCallscreenError } from '../core/errors.js';

export interface HttpError {
  readonly status: number;
  readonly body: { code: string; message: string; details: Record<string, unknown> };
}

interface FastifyLikeError {
  statusCode?: number;
  code?: string;
  message?: string;
  validation?: Array<{ instancePath?: string; message?: string; params?: Record<string, unknown> }>;
  validationContext?: string;
}

export function toHttpError(err: unknown): HttpError {
  if (isCallscreenError(err)) {
    // A 5xx says only what kind of failure it was (the catalogue's title): its message and details
    // can carry a path, SQL or a driver's text, which the daemon log has and a browser must not.
    // CS_ERR_UNAVAILABLE is ours alone ("no PBX connection is configured…") and tells what to do.
    if (err.httpStatus >= 500 && err.code !== 'CS_ERR_UNAVAILABLE')
      return {
        status: err.httpStatus,
        body: { code: err.code, message: `${ERROR_CATALOGUE[err.code].title}; see the daemon log`, details: {} },
      };
    return { status: err.httpStatus, body: { code: err.code, message: err.message, details: { ...err.details } } };
  }
  const e = (err ?? {}) as FastifyLikeError;
  const v = Array.isArray(e.validation) ? e.validation[0] : undefined;
  if (v !== undefined) {
    const params = v.params ?? {};
    const path = (v.instancePath ?? '').replace(/^\//, '').replace(/\//g, '.');
    const extra = typeof params.additionalProperty === 'string' ? params.additionalProperty : undefined;
    const missing = typeof params.missingProperty === 'string' ? params.missingProperty : undefined;
    const field = [path, missing ?? extra].filter(Boolean).join('.') || (e.validationContext ?? 'body');
    const what = extra ? 'is not a known field' : missing ? 'is required' : (v.message ?? 'is invalid');
    const allowed = Array.isArray(params.allowedValues) ? `: one of ${params.allowedValues.join(', ')}` : '';
    return {
      status: 400,
      body: {
        code: 'CS_ERR_INVALID_VALUE',
        message: `${e.validationContext ?? 'body'} field "${field}" ${what}${allowed}`,
        details: { field, in: e.validationContext ?? 'body' },
      },
    };
  }
  if (typeof e.statusCode === 'number' && e.statusCode >= 400 && e.statusCode < 500) {
    return {
      status: e.statusCode,
      body: { code: 'CS_ERR_USAGE', message: e.message ?? 'bad request', details: { reason: e.code ?? '' } },
    };
  }
  const internal = new CallscreenError('CS_ERR_INTERNAL', 'internal error; see the daemon log');
  return { status: 500, body: { code: internal.code, message: internal.message, details: {} } };
}

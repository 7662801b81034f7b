/**
 * The one error catalogue. Every error the daemon, CLI or API reports carries a stable code
 * (`CS_ERR_…`) that maps to a CLI exit code (sysexits.h values) and an HTTP status. Codes never
 * change meaning once released: scripts and monitoring match on them.
 */
export const ERROR_CATALOGUE = {
  CS_ERR_USAGE: { exit: 64, http: 400, title: 'bad command-line usage or request' },
  CS_ERR_INVALID_NUMBER: { exit: 65, http: 400, title: 'not a phone number' },
  CS_ERR_INVALID_PREFIX: { exit: 65, http: 400, title: 'not a number prefix' },
  CS_ERR_INVALID_VALUE: { exit: 65, http: 400, title: 'invalid value' },
  CS_ERR_INVALID_PATTERN: { exit: 65, http: 400, title: 'not a number pattern (wildcards or a range)' },
  CS_ERR_PATTERN_TOO_BROAD: { exit: 65, http: 422, title: "pattern is broader than the organisation's minimum allows" },
  CS_ERR_ENTRY_STATE: { exit: 65, http: 409, title: 'the entry is not in the state this action needs' },
  CS_ERR_PROTECTED_NUMBER: { exit: 65, http: 409, title: 'number is protected and cannot be blocked' },
  CS_ERR_CONFIRM_REQUIRED: {
    exit: 65,
    http: 409,
    title: 'broad change: confirm it with the figures shown (--yes, confirm: true)',
  },
  CS_ERR_ORG_NOT_FOUND: { exit: 66, http: 404, title: 'no such organisation' },
  CS_ERR_ORG_EXISTS: { exit: 65, http: 409, title: 'organisation already exists' },
  CS_ERR_DID_TAKEN: { exit: 65, http: 409, title: 'number already belongs to an organisation' },
  CS_ERR_CONTACT_NOT_FOUND: { exit: 66, http: 404, title: 'no such contact' },
  CS_ERR_ENTRY_NOT_FOUND: { exit: 66, http: 404, title: 'no such block or allow entry' },
  CS_ERR_MESSAGE_NOT_FOUND: { exit: 66, http: 404, title: 'no such quarantined message' },
  CS_ERR_USER_NOT_FOUND: { exit: 66, http: 404, title: 'no such user' },
  CS_ERR_USER_EXISTS: { exit: 65, http: 409, title: 'user already exists' },
  CS_ERR_TOKEN_NOT_FOUND: { exit: 66, http: 404, title: 'no such API token' },
  CS_ERR_REQUEST_NOT_FOUND: { exit: 66, http: 404, title: 'no such block request' },
  CS_ERR_ORIGIN: { exit: 77, http: 403, title: 'request comes from another site' },
  CS_ERR_FILE_NOT_FOUND: { exit: 66, http: 404, title: 'file not found or unreadable' },
  CS_ERR_IMPORT_INVALID: { exit: 65, http: 422, title: 'import file has invalid rows; nothing was written' },
  CS_ERR_CONFIG_SYNTAX: { exit: 78, http: 500, title: 'configuration file is not valid TOML' },
  CS_ERR_CONFIG_INVALID: { exit: 78, http: 500, title: 'configuration value is invalid' },
  CS_ERR_DB_OPEN: { exit: 74, http: 503, title: 'database cannot be opened' },
  CS_ERR_DB_BUSY: { exit: 75, http: 503, title: 'database is locked by another process' },
  CS_ERR_DB_FULL: { exit: 74, http: 507, title: 'disk or database is full' },
  CS_ERR_DB_CORRUPT: { exit: 74, http: 503, title: 'database file is corrupt; restore it from a backup' },
  CS_ERR_DB_MISSING: { exit: 66, http: 503, title: 'database file does not exist; create it with callscreen init' },
  CS_ERR_OUTPUT: { exit: 74, http: 500, title: 'the output cannot be written (disk full, I/O error)' },
  CS_ERR_DB_SCHEMA: { exit: 74, http: 500, title: 'database schema is newer than this program' },
  CS_ERR_UNAUTHENTICATED: { exit: 77, http: 401, title: 'sign-in required' },
  CS_ERR_FORBIDDEN: { exit: 77, http: 403, title: 'not allowed for this user' },
  CS_ERR_CSRF: { exit: 77, http: 403, title: 'missing or wrong CSRF token' },
  CS_ERR_THROTTLED: { exit: 75, http: 429, title: 'too many attempts; wait and try again' },
  CS_ERR_TIMEOUT: { exit: 75, http: 504, title: 'operation timed out' },
  CS_ERR_UNAVAILABLE: { exit: 69, http: 503, title: 'service unavailable' },
  CS_ERR_CONFLICT: {
    exit: 75,
    http: 409,
    title: 'the shared store changed under this write; nothing was written, try again',
  },
  CS_ERR_LISTEN_FAILED: {
    exit: 71,
    http: 500,
    title: 'cannot listen on a configured address (in use, not permitted or not of this host)',
  },
  CS_ERR_ALREADY_RUNNING: { exit: 75, http: 409, title: 'another daemon already serves this database' },
  CS_ERR_INTERNAL: { exit: 70, http: 500, title: 'internal error' },
} as const satisfies Record<string, { exit: number; http: number; title: string }>;

export type ErrorCode = keyof typeof ERROR_CATALOGUE;

export class CallscreenError extends Error {
  readonly code: ErrorCode;
  /** Machine-readable context: which key, line, row, value… Never holds secrets. */
  readonly details: Readonly<Record<string, unknown>>;

  constructor(code: ErrorCode, message: string, details: Record<string, unknown> = {}, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'CallscreenError';
    this.code = code;
    this.details = Object.freeze({ ...details });
  }

  get exitCode(): number {
    return ERROR_CATALOGUE[this.code].exit;
  }

  get httpStatus(): number {
    return ERROR_CATALOGUE[this.code].http;
  }

  toJSON(): { code: ErrorCode; message: string; details: Readonly<Record<string, unknown>> } {
    return { code: this.code, message: this.message, details: this.details };
  }
}

export function isCallscreenError(err: unknown): err is CallscreenError {
  return err instanceof CallscreenError;
}

/** Wraps anything thrown into a CallscreenError so callers need only one shape. */
export function toCallscreenError(err: unknown): CallscreenError {
  if (err instanceof CallscreenError) return err;
  const message = err instanceof Error ? err.message : String(err);
  return new CallscreenError('CS_ERR_INTERNAL', message, {}, { cause: err });
}

/**
 * Turns a component's failure to start into an error that names the config key to change: a
 * listener that cannot bind says `fastagi.listen 127.0.0.1:4573: address in use`, not Node's
 * `listen EADDRINUSE`. The daemon then stops what it had started and the process exits non-zero
 * (systemd sees a failed unit instead of a panel with no screening behind it).
 */
import type { Config } from '../config/schema.js';
import { CallscreenError, isCallscreenError } from '../core/errors.js';

/** Component name → the key holding the address it binds. */
const LISTEN_KEY_OF: Readonly<Record<string, { key: string; value: (c: Config) => string }>> = {
  fastagi: { key: 'fastagi.listen', value: (c) => c.fastagi.listen },
  admin: { key: 'admin.listen', value: (c) => c.admin.listen },
  'esl-server': { key: 'esl.listen', value: (c) => c.esl.listen },
};

/** errno → words for the message (the errno itself is kept in the details). */
const LISTEN_ERRNO: Readonly<Record<string, string>> = {
  EADDRINUSE: 'address in use (another program, or another callscreen daemon, listens there)',
  EACCES: 'permission denied (ports below 1024 need privileges the service does not have)',
  EADDRNOTAVAIL: 'address not available (not an address of this host)',
  ENOTFOUND: 'host name does not resolve',
  EAI_AGAIN: 'host name could not be resolved now',
};

/** Keys naming files a component reads at start. */
const FILE_KEYS: ReadonlyArray<{ key: string; value: (c: Config) => string }> = [
  { key: 'admin.tls_cert', value: (c) => c.admin.tls_cert },
  { key: 'admin.tls_key', value: (c) => c.admin.tls_key },
];

const FILE_ERRNO: Readonly<Record<string, string>> = {
  ENOENT: 'no such file',
  EACCES: 'not readable by the service user',
  EISDIR: 'is a directory, not a file',
};

export function describeStartFailure(component: string, err: unknown, config: Config): CallscreenError {
  if (isCallscreenError(err)) return err;
  const errno = (err as NodeJS.ErrnoException | null)?.code;
  const listen = LISTEN_KEY_OF[component];
  if (
    listen &&
    errno !== undefined &&
    (LISTEN_ERRNO[errno] !== undefined || (err as NodeJS.ErrnoException).syscall === 'listen')
  ) {
    const addr = listen.value(config);
    return new CallscreenError(
      'CS_ERR_LISTEN_FAILED',
      `${listen.key} ${addr}: ${LISTEN_ERRNO[errno] ?? errno}`,
      { key: listen.key, address: addr, errno, component },
      { cause: err },
    );
  }
  // A file the config names (the panel's TLS pair) that cannot be read.
  const file = (err as NodeJS.ErrnoException | null)?.path;
  if (file !== undefined && errno !== undefined) {
    const key = FILE_KEYS.find((k) => k.value(config) === file);
    if (key)
      return new CallscreenError(
        'CS_ERR_FILE_NOT_FOUND',
        `${key.key} ${file}: ${FILE_ERRNO[errno] ?? errno}`,
        { key: key.key, path: file, errno, component },
        { cause: err },
      );
  }
  const message = err instanceof Error ? err.message : String(err);
  return new CallscreenError(
    'CS_ERR_INTERNAL',
    `component ${component} failed to start: ${message}`,
    { component },
    { cause: err },
  );
}

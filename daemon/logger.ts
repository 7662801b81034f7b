/**
 * pino for every log line. JSON by default (journald keeps it as is); `pretty` for a terminal.
 * Secrets are redacted by path wherever they appear in a logged object.
 */
import { pino, type DestinationStream, type Logger } from 'pino';
import { SECRET_KEYS } from './config/schema.js';

/**
 * Paths pino replaces with `[redacted]`: any `secret`/`password`/`token`/`authorization` field one
 * level deep, the request headers that carry credentials, and every config key the schema marks
 * secret (SECRET_KEYS, the one list) under a logged `config`.
 */
export const REDACT_PATHS: readonly string[] = [
  'secret',
  '*.secret',
  'password',
  '*.password',
  'token',
  '*.token',
  'authorization',
  '*.authorization',
  'req.headers.cookie',
  'req.headers.authorization',
  'headers.cookie',
  ...SECRET_KEYS.map((key) => `config.${key}`),
  'config.store.url',
  'connectionString',
  '*.connectionString',
];

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
  /** Where lines go (default stdout); tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = {
    level: options.level,
    redact: { paths: [...REDACT_PATHS], censor: '[redacted]' },
    base: { service: 'callscreen' },
  };
  if (options.destination) return pino(base, options.destination);
  if (options.format === 'pretty') {
    return pino({
      ...base,
      transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard', destination: 2 } },
    });
  }
  // Buffered: a line per call written with its own write() was ~0.08 ms of CPU per FastAGI call
  // (`npm run bench:agi -- --cpu-prof --log-info`, BENCHMARKS.md). Lines wait for 4 KB (minLength,
  // bytes) or at most LOG_FLUSH_MS; pino flushes what is left synchronously when the process exits.
  const flushing = flushOnlyWhenWritten(pino.destination({ dest: 1, sync: false, minLength: 4096 }));
  const timer = setInterval(() => flushing.tick(), LOG_FLUSH_MS);
  timer.unref();
  return pino(base, flushing.stream);
}

/** What pino writes to and flushes (sonic-boom, as pino.destination makes it; fakes in tests). */
export interface FlushableDestination {
  write(line: string): unknown;
  flush(cb?: (err?: Error | null) => void): void;
}

/**
 * `destination` for pino, and `tick()` for the flush timer: it flushes only when a line was written
 * since the last tick. sonic-boom's flush() of an empty buffer still issues an empty write() through
 * the thread pool: 4 a second of nothing on a quiet daemon, part of its fixed cost per second
 * (BENCHMARKS.md, "The daemon's CPU per mirror-answered call").
 */
export function flushOnlyWhenWritten(destination: FlushableDestination): {
  readonly stream: DestinationStream & FlushableDestination;
  tick(): void;
} {
  let written = false;
  return {
    stream: {
      write(line: string): void {
        written = true;
        destination.write(line);
      },
      flush(cb?: (err?: Error | null) => void): void {
        written = false;
        destination.flush(cb);
      },
    },
    tick(): void {
      if (!written) return;
      written = false;
      try {
        destination.flush();
      } catch {
        // Not ready yet (opening) or already closed: the next line's tick or the exit flush writes it.
        written = true;
      }
    },
  };
}

/** Longest a buffered log line waits before it is written (ms): a quiet site's lines still show at once. */
const LOG_FLUSH_MS = 250;

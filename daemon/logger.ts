/**
 * pino for every log line. JSON by default (journald keeps it as is); `pretty` for a terminal.
 * Secrets are redacted by path wherever they appear in a logged object.
 */
import {
  pino,
  type DestinationStream,
  type Logger,
  type LoggerOptions as PinoOptions,
  type ChildLoggerOptions,
  type Bindings,
} from 'pino';
import { SECRET_KEYS } from './config/schema.js';

/**
 * Paths logged as `[redacted]`: any `secret`/`password`/`token`/`authorization` field one level
 * deep, the request headers that carry credentials, and every config key the schema marks secret
 * (SECRET_KEYS, the one list) under a logged `config`. The `*.x` ones are applied by censorNested,
 * the others by pino (see pinoOptions).
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

/** What a redacted value is logged as. */
export const REDACT_CENSOR = '[redacted]';

/**
 * pino's options for `level`, redaction included (the destination aside): createLogger's, and the
 * tests' to compare its lines with pino's own wildcard redaction.
 *
 * The `*.x` paths of REDACT_PATHS are not given to pino: a wildcard path makes pino run its redactor
 * (@pinojs/redact, which deep-clones the value) on every field of every line — 13 times per
 * `screened` line, ~10 µs of its ~16 µs of CPU (scripts/bench-agi-path.ts, BENCHMARKS.md, issue
 * #20). `censorNested` does what they did, one level down, copying only what it censors. The other
 * paths stay pino's: they cost only when their top-level key is logged.
 */
export function pinoOptions(level: string): PinoOptions {
  return {
    level,
    redact: { paths: REDACT_PATHS.filter((p) => !p.startsWith('*.')), censor: REDACT_CENSOR },
    formatters: { log: CENSOR_NESTED },
    base: { service: 'callscreen' },
  };
}

/** The names of REDACT_PATHS' `*.name` paths, censored by `censorNested`. */
const CENSOR_NESTED = censorNested(REDACT_PATHS.filter((p) => p.startsWith('*.')).map((p) => p.slice(2)));

type ChildFn = (this: Logger, bindings: Bindings, options?: ChildLoggerOptions) => Logger;

/**
 * `logger` (made with pinoOptions), its children's bindings censored as its lines are: pino gives a
 * child's bindings to no formatter, and its wildcard paths used to redact them. Children of children
 * inherit this `child`. Bindings are censored once, when the child is made.
 */
export function censoringChildren(logger: Logger): Logger {
  // pino's own child, called with the logger it is called on (a child's child is made from the child).
  const proto = Object.getPrototypeOf(logger) as { child: ChildFn };
  function child(this: Logger, bindings: Bindings, options?: ChildLoggerOptions): Logger {
    return proto.child.call(this, CENSOR_NESTED(bindings), options);
  }
  return Object.assign(logger, { child: child as unknown as Logger['child'] });
}

/**
 * Pino's `*.name` redaction without pino's cost: a logged object whose field holds an object with an
 * own `name` key (one of `names`) is logged with that key as REDACT_CENSOR. The caller's objects are
 * never changed: the line gets a shallow copy of the object and of each field censored; a copy keeps
 * its prototype and property descriptors, so an Error is still serialised as one (message, stack).
 * A line with nothing to censor is passed through as it is (one `typeof` per field).
 */
export function censorNested(names: readonly string[]): <T extends object>(obj: T) => T {
  return <T extends object>(obj: T): T => {
    let out: Record<string, unknown> | null = null;
    const fields = obj as Record<string, unknown>;
    for (const key in fields) {
      const value = fields[key];
      if (typeof value !== 'object' || value === null) continue;
      let descriptors: PropertyDescriptorMap | null = null;
      for (const name of names) {
        if (!Object.hasOwn(value, name)) continue;
        descriptors ??= Object.getOwnPropertyDescriptors(value);
        // Replaced in the copy's descriptors, not defined on the copy: the key may be read-only.
        const enumerable = descriptors[name]?.enumerable ?? true;
        descriptors[name] = { value: REDACT_CENSOR, enumerable, writable: true, configurable: true };
      }
      if (descriptors === null) continue;
      out ??= { ...fields };
      out[key] = Object.create(Object.getPrototypeOf(value) as object | null, descriptors) as object;
    }
    return (out ?? obj) as T;
  };
}

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
  /** Where lines go (default stdout); tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = pinoOptions(options.level);
  if (options.destination) return censoringChildren(pino(base, options.destination));
  if (options.format === 'pretty') {
    return censoringChildren(
      pino({
        ...base,
        transport: {
          target: 'pino-pretty',
          options: { colorize: true, translateTime: 'SYS:standard', destination: 2 },
        },
      }),
    );
  }
  // Buffered: a line per call written with its own write() was ~0.08 ms of CPU per FastAGI call
  // (`npm run bench:agi -- --cpu-prof --log-info`, BENCHMARKS.md). Lines wait for LOG_MIN_WRITE bytes
  // or at most LOG_FLUSH_MS; pino flushes what is left synchronously when the process exits.
  const flushing = flushOnlyWhenWritten(pino.destination({ dest: 1, sync: false, minLength: LOG_MIN_WRITE }));
  const timer = setInterval(() => flushing.tick(), LOG_FLUSH_MS);
  timer.unref();
  return censoringChildren(pino(base, flushing.stream));
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

/**
 * Bytes of log lines gathered before a write (12 KB; sonic-boom requires less than its 16 KB maxWrite).
 * Each write is a hand-off to libuv's thread pool and back: 400-byte lines at 500 a second into a pipe
 * cost 52.5–53.6 µs of CPU a line with 4 KB writes, 45.4–47.1 with 12 KB (BENCHMARKS.md, issue #20).
 */
const LOG_MIN_WRITE = 12 * 1024;

/** Longest a buffered log line waits before it is written (ms): a quiet site's lines still show at once. */
const LOG_FLUSH_MS = 250;

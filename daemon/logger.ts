/**
 * pino for every log line. JSON by default (journald keeps it as is); `pretty` for a terminal.
 * Secrets are redacted by path wherever they appear in a logged object.
 */
import { pino, type DestinationStream, type Logger } from 'pino';

export const REDACT_PATHS = [
  'secret', '*.secret', 'password', '*.password', 'token', '*.token', 'authorization', '*.authorization',
  'req.headers.cookie', 'req.headers.authorization', 'headers.cookie', 'config.ami.secret', 'config.sip_edge.secret',
  'config.esl_inbound.password', 'config.store.url', 'connectionString', '*.connectionString',
];

export interface LoggerOptions {
  readonly level: string;
  readonly format: 'json' | 'pretty';
  /** Where lines go (default stdout); tests pass a stream to read them. */
  readonly destination?: DestinationStream;
}

export function createLogger(options: LoggerOptions): Logger {
  const base = { level: options.level, redact: { paths: REDACT_PATHS, censor: '[redacted]' }, base: { service: 'callscreen' } };
  if (options.destination) return pino(base, options.destination);
  if (options.format === 'pretty') {
    return pino({ ...base, transport: { target: 'pino-pretty', options: { colorize: true, translateTime: 'SYS:standard', destination: 2 } } });
  }
  return pino(base);
}

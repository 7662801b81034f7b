/**
 * The CliContext one `callscreen` invocation runs with: config and services opened lazily (so
 * `--help` and `config check` never touch the database) and closed when the command ends.
 */
import { existsSync } from 'node:fs';
import { hostname } from 'node:os';
import type { Logger } from 'pino';
import { CallscreenError } from '../core/errors.js';
import { ConfigLoader, type LoadedConfig } from '../config/load-config.js';
import type { Config } from '../config/schema.js';
import { createLogger } from '../logger.js';
import { openServices } from '../main.js';
import type { Services } from '../daemon-context.js';
import type { Actor } from '../services/actor.js';
import type { CliContext, CliIo } from './cli-context.js';

export interface GlobalOptions {
  readonly config?: string;
  readonly db?: string;
}

export class CliSession implements CliContext {
  private loaded: LoadedConfig | null = null;
  private opened: Promise<Services> | null = null;
  private log: Logger | null = null;

  constructor(
    readonly io: CliIo,
    /** Read at use time: commander fills the global options while parsing. */
    private readonly globals: () => GlobalOptions,
  ) {}

  /** --config, else $CALLSCREEN_CONFIG, else null (embedded defaults). */
  configPath(): string | null {
    return this.globals().config ?? (this.io.env['CALLSCREEN_CONFIG'] || null);
  }

  config(): Config {
    this.loaded ??= new ConfigLoader().load(this.configPath());
    return this.loaded.config;
  }

  configSource(): string | null {
    return this.loaded?.source ?? null;
  }

  dbPath(): string | undefined {
    return this.globals().db;
  }

  logger(): Logger {
    // CLI commands log to stderr so stdout stays clean for --json and export.
    this.log ??= createLogger({
      level: this.config().log.level,
      format: 'json',
      destination: { write: (s: string) => this.io.stderr.write(s) },
    });
    return this.log;
  }

  /** --db, else [store] path. */
  databasePath(): string {
    return this.dbPath() ?? this.config().store.path;
  }

  /**
   * Opens an existing database. A missing file is refused (CS_ERR_DB_MISSING, naming the path):
   * a mistyped --db must not quietly create an empty database that answers "no organisations";
   * only `callscreen init` and the daemon's first start create one.
   */
  services(): Promise<Services> {
    if (this.opened === null) {
      const path = this.databasePath();
      if (path !== ':memory:' && !existsSync(path)) {
        throw new CallscreenError(
          'CS_ERR_DB_MISSING',
          `database ${path} does not exist; check --db / [store] path${configIn(this.configSource())}, or create it with: callscreen init`,
          { path },
        );
      }
      this.opened = openServices(this.config(), this.logger(), { dbPath: path });
    }
    return this.opened;
  }

  actor(by?: string): Actor {
    const name = (by ?? this.io.env['SUDO_USER'] ?? this.io.env['USER'] ?? '').trim();
    if (!name)
      throw new CallscreenError('CS_ERR_USAGE', 'cannot tell who is acting: pass --by USER (or set $USER)', {
        key: 'by',
      });
    return { name, source: 'cli', origin: `cli@${hostname()}` };
  }

  out(line: string): void {
    this.io.stdout.write(line + '\n');
  }

  err(line: string): void {
    this.io.stderr.write(line + '\n');
  }

  json(value: unknown): void {
    this.io.stdout.write(JSON.stringify(value, null, 2) + '\n');
  }

  /** Closes the database if a command opened it. */
  async close(): Promise<void> {
    const opened = this.opened;
    this.opened = null;
    if (opened) await (await opened.catch(() => null))?.close();
  }
}

/** " in FILE" for messages that point at the config file; empty when the defaults are in use. */
function configIn(source: string | null): string {
  return source !== null ? ` in ${source}` : '';
}

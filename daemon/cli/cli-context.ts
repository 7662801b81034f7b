/**
 * What every CLI command gets: its output streams, the loaded config, and services opened on
 * demand (so `config check` and `--help` never touch the database). Injected so tests run the
 * CLI in-process and read what it printed.
 */
import type { Logger } from 'pino';
import type { Config } from '../config/schema.js';
import type { Services } from '../daemon-context.js';
import type { Actor } from '../services/actor.js';

export interface CliIo {
  readonly stdout: { write(s: string): unknown; isTTY?: boolean };
  readonly stderr: { write(s: string): unknown; isTTY?: boolean };
  readonly env: Readonly<Record<string, string | undefined>>;
}

export interface CliContext {
  readonly io: CliIo;
  /** Loads (once) the config named by --config / CALLSCREEN_CONFIG, or the embedded defaults. */
  config(): Config;
  /** The config file used, or null for embedded defaults (after config() was called). */
  configSource(): string | null;
  /**
   * Opens (once) the existing database and services; closed when the command ends. Throws
   * CS_ERR_DB_MISSING when the file does not exist (only `init` and the daemon create one).
   */
  services(): Promise<Services>;
  /** The --db override, if given. */
  dbPath(): string | undefined;
  logger(): Logger;
  /** Who is acting: --by, else $SUDO_USER/$USER, source cli, origin cli@host. */
  actor(by?: string): Actor;
  out(line: string): void;
  err(line: string): void;
  json(value: unknown): void;
}

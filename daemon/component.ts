/**
 * What the daemon starts and stops: the adapters (FastAGI, AMI, admin HTTP, Event Socket, SIP edge)
 * and the links they need. Its own module so that adapters need not import the composition root
 * (daemon/main.ts), which imports them.
 */
import type { Config } from './config/schema.js';
import type { ComponentHealth } from './ops/component-health.js';

/** Something the daemon starts after the store is ready and stops before it closes. */
export interface Component {
  readonly name: string;
  start(): Promise<void>;
  /** Stop accepting, finish what is in flight, release resources. */
  stop(): Promise<void>;
  /** State for /readyz and the callscreen_component_up metric (optional). */
  health?(): ComponentHealth;
  /**
   * A reloaded config (SIGHUP) that passed validation, with the dotted keys that changed: apply what
   * can change live (timeouts…) and return the keys applied; the rest are logged as needing a
   * restart. Settings read from `ctx.config` at use time need nothing here.
   */
  reload?(config: Config, changed: readonly string[]): readonly string[] | Promise<readonly string[]>;
}

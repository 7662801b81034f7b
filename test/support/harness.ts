/**
 * Shared test helpers: a temporary database, a silent (or captured) logger, a manual clock, and
 * a started daemon with no adapters, all cleaned up by tap's teardown.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { pino, type Logger } from 'pino';
import { ManualClock } from './manual-clock.js';
import { ConfigLoader } from '../../daemon/config/load-config.js';
import type { Config } from '../../daemon/config/schema.js';
import { Daemon, openServices } from '../../daemon/main.js';
import type { Component } from '../../daemon/component.js';
import type { DaemonContext, Services } from '../../daemon/daemon-context.js';
import type { Actor } from '../../daemon/services/actor.js';
import type { Scheduler } from '../../daemon/core/clock.js';

export interface TapLike {
  teardown(fn: () => unknown): void;
}

export function tempDir(t: TapLike, prefix = 'callscreen-test-'): string {
  const dir = mkdtempSync(join(tmpdir(), prefix));
  t.teardown(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

/** A logger whose lines are kept (parsed) in `lines`, for asserting on logs. */
export function captureLogger(level = 'debug'): { logger: Logger; lines: Array<Record<string, unknown>> } {
  const lines: Array<Record<string, unknown>> = [];
  const stream = new Writable({
    write(chunk: Buffer, _enc, cb) {
      for (const l of chunk.toString().split('\n')) if (l.trim()) lines.push(JSON.parse(l) as Record<string, unknown>);
      cb();
    },
  });
  return { logger: pino({ level }, stream), lines };
}

export const silentLogger = (): Logger => pino({ level: 'silent' });

export function testConfig(dbPath: string, tomlExtra = ''): Config {
  return new ConfigLoader().fromText(
    `[store]\npath = ${JSON.stringify(dbPath)}\nchange_poll_ms = 20\n[log]\nlevel = "silent"\n${tomlExtra}`,
    'test.toml',
  );
}

export const cliActor: Actor = { name: 'tester', source: 'cli', origin: 'test' };

export async function services(
  t: TapLike,
  options: { clock?: ManualClock; toml?: string } = {},
): Promise<Services & { dbPath: string; clock: ManualClock }> {
  const dir = tempDir(t);
  const dbPath = join(dir, 'callscreen.db');
  const clock = options.clock ?? new ManualClock(Date.UTC(2026, 10, 1));
  const s = await openServices(testConfig(dbPath, options.toml), silentLogger(), { clock });
  t.teardown(() => s.close());
  return { ...s, dbPath, clock };
}

export async function startDaemon(
  t: TapLike,
  dbPath: string,
  options: {
    clock?: ManualClock;
    timers?: Scheduler;
    components?: (ctx: DaemonContext) => Component[];
    toml?: string;
    logger?: Logger;
  } = {},
): Promise<{ daemon: Daemon; ctx: DaemonContext }> {
  const daemon = new Daemon(testConfig(dbPath, options.toml), options.logger ?? silentLogger(), {
    ...(options.clock ? { clock: options.clock } : {}),
    // Timers that never fire by themselves (a ManualClock nobody advances): tests call poll()/flush().
    timers: options.timers ?? new ManualClock(),
    components: options.components ?? (() => []),
  });
  const ctx = await daemon.start();
  t.teardown(() => daemon.stop());
  return { daemon, ctx };
}

/** Polls `cond` every `stepMs` until it holds (true) or `timeoutMs` has passed (false). For real I/O only: time-based behaviour uses injected timers. */
export async function until(cond: () => boolean | Promise<boolean>, timeoutMs: number, stepMs = 100): Promise<boolean> {
  const end = Date.now() + timeoutMs;
  for (;;) {
    if (await cond()) return true;
    if (Date.now() > end) return false;
    await new Promise((r) => setTimeout(r, stepMs));
  }
}

/**
 * A ManualClock that follows the wall clock (set every 100 ms), for daemons whose timestamps a real
 * peer compares with its own time: the AstDB mirror's heartbeat against Asterisk's ${EPOCH}.
 */
export function wallClock(t: TapLike): ManualClock {
  const clock = new ManualClock(Date.now());
  const follow = setInterval(() => clock.set(Date.now()), 100);
  t.teardown(() => clearInterval(follow));
  return clock;
}

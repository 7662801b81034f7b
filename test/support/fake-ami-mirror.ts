/**
 * An AstdbMirror over the fake AMI of fake-ami.ts and a running daemon's index, change feed and
 * screener, as the mirror's unit suites (test/pbx/asterisk/astdb-mirror*.test.ts) build it: org
 * `demo` with its DIDs, the rules a test writes before the daemon starts, the mirror's timers on a
 * ManualClock (heartbeats and retries move when the test advances them), its log lines captured.
 * The real Asterisk is in test/e2e/asterisk-astdb-*.test.ts.
 */
import { AstdbMirror, type AstdbMirrorDeps, type AstdbMirrorOptions } from '../../daemon/pbx/asterisk/astdb-mirror.js';
import type { DaemonContext } from '../../daemon/daemon-context.js';
import { captureLogger, cliActor, services, startDaemon, type TapLike } from './harness.js';
import { FakeAmi } from './fake-ami.js';
import { ManualClock } from './manual-clock.js';

export type MirrorServices = Awaited<ReturnType<typeof services>>;

/**
 * The options the suites reason about: a window of 4 DBPuts, the heartbeat valid 15 s (ms), a failed
 * sync retried after 5 s (ms), DIDs written.
 */
export const MIRROR_DEFAULTS: AstdbMirrorOptions = {
  family: 'callscreen',
  aliveTtlMs: 15_000,
  window: 4,
  writeDids: true,
  retryMs: 5000,
};

export interface MirrorRigOptions<A extends FakeAmi> {
  /** Org `demo`'s region (default US). */
  readonly region?: string;
  /** Org `demo`'s DIDs (default none). */
  readonly dids?: readonly string[];
  /** More orgs and rules, written before the daemon starts (its index loads them at start-up). */
  readonly beforeStart?: (s: MirrorServices) => Promise<void>;
  /** Every mirror's options over MIRROR_DEFAULTS. */
  readonly options?: Partial<AstdbMirrorOptions>;
  /** The AMI (default a new FakeAmi); a subclass can hold or refuse actions. */
  readonly ami?: A;
  /** The captured log's level (default info). */
  readonly logLevel?: string;
}

export interface MirrorRig<A extends FakeAmi> {
  readonly s: MirrorServices;
  readonly ctx: DaemonContext;
  readonly ami: A;
  readonly timers: ManualClock;
  readonly lines: Array<Record<string, unknown>>;
  /** A mirror on this rig, not started; stopped at `t`'s teardown. Options over the rig's, deps added to its own. */
  make(options?: Partial<AstdbMirrorOptions>, deps?: Partial<AstdbMirrorDeps>): AstdbMirror;
}

/** Org `demo`, the daemon, the AMI, timers and log; mirrors are made with `make`. */
export async function mirrorRig<A extends FakeAmi = FakeAmi>(
  t: TapLike,
  rig: MirrorRigOptions<A> = {},
): Promise<MirrorRig<A>> {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', rig.region ?? 'US', cliActor);
  if (rig.dids !== undefined) await s.orgs.addDids('demo', [...rig.dids], cliActor);
  await rig.beforeStart?.(s);
  const { ctx } = await startDaemon(t, s.dbPath, { clock: s.clock });
  const ami = rig.ami ?? (new FakeAmi() as A);
  const timers = new ManualClock();
  const { logger, lines } = captureLogger(rig.logLevel ?? 'info');
  const make = (options: Partial<AstdbMirrorOptions> = {}, deps: Partial<AstdbMirrorDeps> = {}): AstdbMirror => {
    const mirror = new AstdbMirror(
      { ...MIRROR_DEFAULTS, ...rig.options, ...options },
      {
        ami,
        index: ctx.index,
        feed: ctx.feed,
        screener: ctx.screener,
        normalizer: s.normalizer,
        clock: s.clock,
        timers,
        logger,
        ...deps,
      },
    );
    t.teardown(() => mirror.stop());
    return mirror;
  };
  return { s, ctx, ami, timers, lines, make };
}

/** mirrorRig with one mirror made and started (idle until the test connects the AMI). */
export async function startedMirror<A extends FakeAmi = FakeAmi>(
  t: TapLike,
  rig: MirrorRigOptions<A> = {},
): Promise<MirrorRig<A> & { readonly mirror: AstdbMirror }> {
  const r = await mirrorRig(t, rig);
  const mirror = r.make();
  await mirror.start();
  return { ...r, mirror };
}

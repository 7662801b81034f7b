// Faults against the real Asterisk 22 sandbox under SIPp load (issue #8):
// - the daemon (its own OS process, as in production) SIGKILLed while calls arrive: every call
//   still completes (the dialplan fails open), no channel is left in Asterisk, and once restarted
//   the daemon gives verdicts again within 2 s of being ready;
// - Asterisk restarted: the daemon's AMI link reconnects by itself;
// - a soak: memory and file descriptors of the daemon stay flat.
// Under CI the load is shorter (CI=true); `npm run test:faults:full` runs it at full length.
// Needs root (chroot); takes the sandbox lock. CALLSCREEN_SKIP_SANDBOX=1 skips.
import { spawn, execFile, type ChildProcess } from 'node:child_process';
import { readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { join } from 'node:path';
import { promisify } from 'node:util';
import t from 'tap';
import { cliActor, services, tempDir, until } from '../support/harness.js';
import * as sandbox from '../support/pbx-sandbox.js';
import { describeSipp, runSipp, startSipp, type SippCall } from '../support/sipp.js';

t.setTimeout(20 * 60_000);

const FULL = process.env.CS_FAULTS_FULL === '1';
const CI = process.env.CI === 'true' || process.env.CI === '1';
const skip =
  process.env.CALLSCREEN_SKIP_SANDBOX === '1'
    ? 'CALLSCREEN_SKIP_SANDBOX=1'
    : process.getuid?.() !== 0
      ? 'the PBX sandbox needs root (chroot)'
      : null;
/** Safety ceiling for a real daemon process to log "callscreen ready" (ms): a loaded 2-core machine needs far more than an idle one. */
const READY_CEILING_MS = 180_000;
const BIN = new URL('../../daemon/cli/bin.ts', import.meta.url).pathname;
const BLOCKED = ['+15557771001', '+15557771002', '+15557771003'];

/**
 * Load levels. Issue #8 asks 500 calls/s for the kill; on this 2-core machine the sandbox Asterisk
 * itself cannot answer 500 calls/s once the daemon is gone (measured: every call got its final
 * response, but 938 of 5,000 then failed in SIPp with 2.4 s mean response — Asterisk answering
 * and tearing down calls, no daemon involved), so full mode uses 200/s; CS_KILL_RATE overrides.
 */
const KILL_RATE = Number(process.env.CS_KILL_RATE ?? (FULL ? 500 : 100));
const KILL_CALLS = KILL_RATE * (FULL ? 10 : 4);
const SOAK_RATE = FULL ? 200 : 50;
const SOAK_SECONDS = Number(process.env.CS_SOAK_SECONDS ?? (FULL ? 600 : 15));

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
    s.on('error', reject);
  });
}

interface DaemonProcess {
  child: ChildProcess;
  lines: Array<Record<string, unknown>>;
  readyAt: number;
}

/** Starts `callscreen daemon` as its own process; resolves once it logged "callscreen ready", fails if it exits first. */
function startDaemonProcess(configPath: string): Promise<DaemonProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', BIN, '--config', configPath, 'daemon'], {
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const lines: Array<Record<string, unknown>> = [];
  let buf = '';
  return new Promise((resolve, reject) => {
    const timer = setTimeout(
      () => reject(new Error(`daemon not ready within the ${READY_CEILING_MS / 1000} s safety ceiling`)),
      READY_CEILING_MS,
    );
    child.stdout.on('data', (chunk: Buffer) => {
      buf += chunk.toString();
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        try {
          const rec = JSON.parse(line) as Record<string, unknown>;
          lines.push(rec);
          if (rec.msg === 'callscreen ready') {
            clearTimeout(timer);
            resolve({ child, lines, readyAt: Date.now() });
          }
        } catch {
          // not JSON (should not happen): ignore
        }
      }
    });
    child.on('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`daemon exited early with ${String(code)}`));
    });
  });
}

function procStats(pid: number): { rssMb: number; fds: number } {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const rssKb = Number(/VmRSS:\s+(\d+)/.exec(status)?.[1] ?? 0);
  return { rssMb: rssKb / 1024, fds: readdirSync(`/proc/${pid}/fd`).length };
}

/** Callers for a load run: every fourth call from a blocked number, the rest random. */
function loadCalls(n: number): SippCall[] {
  return Array.from({ length: Math.min(n, 1000) }, (_, i) => ({
    caller: i % 4 === 0 ? BLOCKED[i % BLOCKED.length]! : `+1555${String(2000000 + i).padStart(7, '0')}`,
    did: `+1555010${i % 10}`,
  }));
}

if (skip !== null && CI) t.fail(`${skip}: the sandbox suites must run in CI`);
else {
  t.test('the daemon killed under load, Asterisk restarted, a soak', { skip: skip ?? false }, async (t) => {
    const s = await services(t);
    await s.orgs.add('demo', 'Demo', 'US', cliActor);
    await s.orgs.addDids('demo', sandbox.SANDBOX.dids, cliActor);
    for (const n of BLOCKED)
      await s.blocklist.block('demo', { kind: 'exact', number: n }, { mode: 'reject', reason: 'fault test' }, cliActor);
    const port = await freePort();
    const config = join(tempDir(t), 'callscreen.toml');
    writeFileSync(
      config,
      [
        '[store]',
        `path = ${JSON.stringify(s.dbPath)}`,
        '[log]',
        'level = "info"',
        '[fastagi]',
        `listen = "127.0.0.1:${port}"`,
        'default_org = "demo"',
        // FastAGI alone: this proves the dialplan's fail-open path and its counter. With the AstDB mirror
        // (on by default) the dialplan would go on answering from AstDB for astdb_alive_ttl_ms after the
        // kill, and this restart comes sooner, so no call would fail open to count.
        '[ami]',
        'enabled = true',
        'secret = "callscreen-sandbox"',
        'reconnect_min_ms = 200',
        'reconnect_max_ms = 2000',
        'keepalive_ms = 2000',
        'astdb_mirror = false',
        '[admin]',
        'enabled = false',
      ].join('\n'),
    );

    let daemon = await startDaemonProcess(config);
    t.teardown(() => {
      daemon.child.kill('SIGKILL');
    });
    await sandbox.start({ agi: `127.0.0.1:${port}`, failMode: 'open' });
    t.teardown(() => sandbox.stop());
    await sandbox.rx('database deltree callscreen_stats');

    const blockedOnce = async (): Promise<number | undefined> =>
      (
        await runSipp({
          scenario: 'inbound-call.xml',
          remote: sandbox.SANDBOX.sip,
          bindIp: sandbox.SANDBOX.carrierIp,
          caller: BLOCKED[0],
          did: '+15550100',
          timeoutSec: 10,
        })
      ).codes[0];
    t.equal(await blockedOnce(), 603, 'before the fault: a blocked caller is rejected');

    await t.test(
      `SIGKILL at ${KILL_RATE} calls/s: every call completes, no channel left, verdicts back within 2 s`,
      async (t) => {
        const load = await startSipp({
          scenario: 'inbound-call.xml',
          remote: sandbox.SANDBOX.sip,
          bindIp: sandbox.SANDBOX.carrierIp,
          calls: loadCalls(KILL_CALLS),
          count: KILL_CALLS,
          rate: KILL_RATE,
          timeoutSec: 120,
        });
        const killAfterMs = Math.round((KILL_CALLS / KILL_RATE) * 400); // 40 % into the run
        await new Promise((r) => setTimeout(r, killAfterMs));
        daemon.child.kill('SIGKILL');
        const r = await load.done;
        t.comment(
          `sent ${r.totalCalls} calls at ${KILL_RATE}/s, daemon SIGKILLed ${killAfterMs} ms in; ${describeSipp(r)}`,
        );
        // Under overload Asterisk's BYE can arrive exactly as the scenario sends its own: SIPp aborts
        // that (answered, finished) call as failed. Those are counted apart; any other failure fails.
        t.equal(r.codes.length, KILL_CALLS, `every call got its final response (${r.codes.length})`);
        t.equal(
          r.failedCalls - r.unexpectedByes,
          0,
          `no call failed (${r.failedCalls} counted by SIPp, of which ${r.unexpectedByes} hung up by Asterisk as we hung up)`,
        );
        t.ok(r.unexpectedByes <= Math.ceil(KILL_CALLS / 1000), `hang-up races stay rare (${r.unexpectedByes})`);
        t.ok(
          (r.codeCounts[603] ?? 0) > 0,
          `some calls were rejected before the kill (603 × ${r.codeCounts[603] ?? 0})`,
        );
        t.ok(
          (r.codeCounts[200] ?? 0) > 0,
          `calls after the kill were let through, fail-open (200 × ${r.codeCounts[200] ?? 0})`,
        );
        t.ok(
          await until(async () => (await sandbox.activeChannels()) === 0, 15_000, 250),
          'no channel left in Asterisk (core show channels)',
        );

        const spawnAt = Date.now();
        daemon = await startDaemonProcess(config);
        const readyMs = daemon.readyAt - spawnAt;
        let firstVerdictMs = -1;
        const resumed = await until(
          async () => {
            if ((await blockedOnce()) === 603) {
              firstVerdictMs = Date.now() - daemon.readyAt;
              return true;
            }
            return false;
          },
          10_000,
          0,
        );
        t.ok(resumed, 'a blocked caller is rejected again after the restart');
        t.comment(
          `restart: process spawn → ready ${readyMs} ms (includes loading TypeScript through tsx); ready → first blocked verdict ${firstVerdictMs} ms`,
        );
        t.ok(
          firstVerdictMs >= 0 && firstVerdictMs <= 2000,
          `verdicts resume within 2 s of the daemon being ready (${firstVerdictMs} ms)`,
        );
        // The calls let through while the daemon was dead are not lost to monitoring: the dialplan
        // counted them in AstDB and the restarted daemon reads them at its AMI login.
        const counted = (): Record<string, unknown> | undefined =>
          daemon.lines.find((l) => /^the dialplan handled \d+ call/.test(String(l.msg)));
        t.ok(
          await until(() => counted() !== undefined, 60_000),
          'the restarted daemon logs the calls the dialplan let through',
        );
        const n = Number(counted()?.count);
        t.comment(
          `dialplan fail-open count read by the restarted daemon: ${n} (SIPp saw ${r.codeCounts[200] ?? 0} answered calls, before and after the kill)`,
        );
        t.ok(n > 0 && n <= (r.codeCounts[200] ?? 0), `counted ${n} fail-open calls, no more than were answered`);
      },
    );

    await t.test('Asterisk restarted: AMI reconnects by itself', async (t) => {
      const amiState = (): string | undefined =>
        [...daemon.lines].reverse().find((l) => l.component === 'ami' && typeof l.to === 'string')?.to as
          string | undefined;
      t.ok(await until(() => amiState() === 'connected', 10_000), 'AMI connected before the restart');
      const mark = daemon.lines.length;
      await promisify(execFile)(sandbox.SANDBOX_SCRIPT, ['stop'], { env: process.env });
      await sandbox.start({ agi: `127.0.0.1:${port}`, failMode: 'open' });
      const reconnected = await until(
        () => daemon.lines.slice(mark).some((l) => l.component === 'ami' && l.to === 'connected'),
        30_000,
      );
      const transitions = daemon.lines
        .slice(mark)
        .filter((l) => l.component === 'ami' && typeof l.to === 'string')
        .map((l) => l.to);
      t.comment(`AMI transitions across the restart: ${transitions.join(' → ')}`);
      t.ok(reconnected, 'the AMI link logged in again without a daemon restart');
      t.equal(await blockedOnce(), 603, 'calls are screened again after the Asterisk restart');
    });

    await t.test(`soak: ${SOAK_SECONDS} s at ${SOAK_RATE} calls/s — memory and file descriptors flat`, async (t) => {
      const pid = daemon.child.pid!;
      // Warm up so that caches and pools are at their working size before the first reading.
      await runSipp({
        scenario: 'inbound-call.xml',
        remote: sandbox.SANDBOX.sip,
        bindIp: sandbox.SANDBOX.carrierIp,
        calls: loadCalls(200),
        count: 200,
        rate: SOAK_RATE,
        timeoutSec: 60,
      });
      const before = procStats(pid);
      const count = SOAK_RATE * SOAK_SECONDS;
      const r = await runSipp({
        scenario: 'inbound-call.xml',
        remote: sandbox.SANDBOX.sip,
        bindIp: sandbox.SANDBOX.carrierIp,
        calls: loadCalls(count),
        count,
        rate: SOAK_RATE,
        timeoutSec: SOAK_SECONDS + 120,
      });
      await until(async () => (await sandbox.activeChannels()) === 0, 15_000, 250);
      const after = procStats(pid);
      const errors = daemon.lines.filter((l) => typeof l.level === 'number' && l.level >= 50);
      t.comment(
        `soak: ${describeSipp(r)}; daemon rss ${before.rssMb.toFixed(1)} → ${after.rssMb.toFixed(1)} MB, fds ${before.fds} → ${after.fds}`,
      );
      t.equal(r.failedCalls, 0, 'no call failed');
      t.equal(r.successfulCalls, count, 'every call completed');
      t.ok(after.fds <= before.fds + 10, `file descriptors flat (${before.fds} → ${after.fds})`);
      t.ok(after.rssMb - before.rssMb < 40, `memory flat (${before.rssMb.toFixed(1)} → ${after.rssMb.toFixed(1)} MB)`);
      t.equal(errors.length, 0, `no error logged (${errors.map((e) => e.msg).join('; ')})`);
    });
  });
}

/**
 * `npm run demo`: the whole path on this machine. Starts the PBX sandbox (real Asterisk 22 on
 * loopback; needs root), makes sure org `demo` (US, DIDs +15550100..+15550109) exists with a few
 * blocks, starts the daemon with config/sandbox.toml, places SIPp calls as the carrier and prints
 * what happened to each, then the daemon's own record (`callscreen calls`).
 */
import { fileURLToPath } from 'node:url';
import { ConfigLoader } from '../daemon/config/load-config.js';
import { CallscreenError } from '../daemon/core/errors.js';
import { createLogger } from '../daemon/logger.js';
import { Daemon, openServices } from '../daemon/main.js';
import type { Actor } from '../daemon/services/actor.js';
import { runCli } from '../daemon/cli/program.js';
import * as sandbox from '../test/support/pbx-sandbox.js';
import { runSipp } from '../test/support/sipp.js';

const say = (line: string): void => void process.stdout.write(`${line}\n`);
const actor: Actor = { name: 'demo', source: 'cli', origin: 'demo-script' };
const CONFIG = fileURLToPath(new URL('../config/sandbox.toml', import.meta.url));

/** Adds something unless it exists already (the demo runs again on the same database). */
async function ensure(what: string, fn: () => Promise<unknown>): Promise<void> {
  try {
    await fn();
    say(`  + ${what}`);
  } catch (err) {
    if (err instanceof CallscreenError && /EXISTS|TAKEN|USAGE|INVALID_VALUE/.test(err.code))
      say(`  = ${what} (already there)`);
    else throw err;
  }
}

async function main(): Promise<void> {
  if (process.getuid?.() !== 0) throw new Error('the PBX sandbox needs root (chroot, mount)');
  const { config } = new ConfigLoader().load(CONFIG);
  // Warnings only: the demo prints its own story.
  const logger = createLogger({ level: 'warn', format: 'json' });

  say('1. PBX sandbox (Asterisk 22 on 127.0.0.1) …');
  await sandbox.start({ agi: config.fastagi.listen, failMode: 'open' });

  say(`2. organisation demo in ${config.store.path}`);
  const s = await openServices(config, logger);
  await ensure('org demo (US)', () => s.orgs.add('demo', 'Demo', 'US', actor));
  await ensure('DIDs +15550100..+15550109', () => s.orgs.addDids('demo', sandbox.SANDBOX.dids, actor));
  await ensure('block +15557770001 (reject)', () =>
    s.blocklist.block(
      'demo',
      { kind: 'exact', number: '+15557770001' },
      { mode: 'reject', name: 'Robocaller', reason: 'spam calls' },
      actor,
    ),
  );
  await ensure('block +15557770003 (voicemail)', () =>
    s.blocklist.block(
      'demo',
      { kind: 'exact', number: '+15557770003' },
      { mode: 'voicemail', reason: 'ex-customer' },
      actor,
    ),
  );
  await ensure('block unidentified callers (voicemail)', () =>
    s.blocklist.block('demo', { kind: 'unidentified' }, { mode: 'voicemail', reason: 'no caller id' }, actor),
  );
  await s.close();

  say(`3. daemon (FastAGI ${config.fastagi.listen})`);
  const daemon = new Daemon(config, logger);
  await daemon.start();
  try {
    say('4. calls from the carrier:');
    const calls: Array<{ caller: string; did: string; scenario?: string; what: string }> = [
      { caller: '+15557770001', did: '+15550100', what: 'blocked (reject)' },
      { caller: '+15557770003', did: '+15550101', what: 'blocked (voicemail)' },
      { caller: '+15557770004', did: '+15550102', what: 'not listed' },
      {
        caller: '+15557770005',
        did: '+15550103',
        scenario: 'inbound-call-withheld.xml',
        what: 'withheld (Privacy: id)',
      },
    ];
    for (const c of calls) {
      const r = await runSipp({
        scenario: c.scenario ?? 'inbound-call.xml',
        remote: sandbox.SANDBOX.sip,
        bindIp: sandbox.SANDBOX.carrierIp,
        caller: c.caller,
        did: c.did,
        timeoutSec: 20,
      });
      const rec = r.records.find((x) => x.kind === 'RESULT');
      const code = r.codes[0];
      const outcome = code === 200 ? `answered (${rec?.disposition || '?'})` : `rejected ${code ?? '?'}`;
      say(`   ${c.caller} -> ${c.did}  ${c.what.padEnd(24)} ${outcome}  [${r.responseTimes.meanMs.toFixed(0)} ms]`);
    }
    await daemon.context.recorder.flush();
  } finally {
    await daemon.stop();
  }

  say('5. callscreen calls --org demo');
  await runCli(['--config', CONFIG, 'calls', '--org', 'demo', '--limit', '8'], {
    stdout: process.stdout,
    stderr: process.stderr,
    env: process.env,
  });
  await sandbox.stop();
  say('done (the sandbox stays up if it was running before; scripts/pbx-sandbox stop stops it)');
}

main().catch(async (err: unknown) => {
  process.stderr.write(`demo failed: ${err instanceof Error ? err.message : String(err)}\n`);
  await sandbox.stop().catch(() => undefined);
  process.exitCode = 1;
});

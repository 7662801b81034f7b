/**
 * `callscreen doctor`: checks config, database, permissions, ports and (when ami.enabled) the AMI
 * login and the dialplan hook; prints ✓/✗ with a fix for each failure; exits non-zero if any fails.
 */
import type { Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import type { Config } from '../../config/schema.js';
import type { CliContext } from '../cli-context.js';
import { runDoctor } from '../../ops/doctor.js';
import { nextSteps } from '../../ops/next-steps.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('doctor')
    .description('check the installation and say how to fix what is wrong')
    .option('--json', 'print the checks as JSON')
    .option('--timeout <ms>', 'how long each network check may take (ms)', '3000')
    .action(async (opts: { json?: boolean; timeout: string }) => {
      let config: Config | null = null;
      let configError: string | undefined;
      try {
        config = ctx.config();
      } catch (err) {
        configError = err instanceof Error ? err.message : String(err);
      }
      const dbPath = ctx.dbPath();
      const checks = await runDoctor({
        config,
        configSource: config ? ctx.configSource() : null,
        ...(configError !== undefined ? { configError } : {}),
        ...(dbPath !== undefined ? { dbPath } : {}),
        timeoutMs: Number(opts.timeout) || 3000,
      });
      const failed = checks.filter((c) => !c.ok);
      // What a fresh site still has to do (first org and user, the PBX link, the dialplan hook).
      const next =
        config && dbPath !== undefined ? await nextSteps({ config, configSource: ctx.configSource(), dbPath }) : [];
      if (opts.json) ctx.json({ ok: failed.length === 0, checks, nextSteps: next });
      else {
        for (const c of checks) {
          ctx.out(`${c.ok ? '✓' : '✗'} ${c.name}: ${c.detail}`);
          if (!c.ok && c.fix) ctx.out(`    fix: ${c.fix}`);
        }
        ctx.out(failed.length === 0 ? 'all checks passed' : `${failed.length} of ${checks.length} checks failed`);
        if (next.length > 0) {
          ctx.out('next steps:');
          next.forEach((step, i) => ctx.out(`  ${i + 1}. ${step}`));
        }
      }
      if (failed.length > 0) {
        throw new CallscreenError('CS_ERR_UNAVAILABLE', `doctor: ${failed.map((c) => c.name).join(', ')} failed`, {
          failed: failed.map((c) => c.name),
        });
      }
    });
}

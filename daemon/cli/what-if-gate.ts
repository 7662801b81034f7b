/**
 * `--what-if`, `--days` and `--yes` on `callscreen block` and `allow` (issue #16): the replay of the
 * org's recorded calls against the entry before it is saved. `--what-if` prints the figures and
 * saves nothing; without it a broad entry (see services/what-if.ts) is refused (exit 65,
 * CS_ERR_CONFIRM_REQUIRED) with the figures on stderr unless `--yes` is given. `--yes` skips the
 * replay altogether (scripts that block in bulk pay nothing for it).
 */
import type { Command } from 'commander';
import {
  DEFAULT_WHAT_IF_DAYS,
  describeReport,
  MAX_WHAT_IF_DAYS,
  requireConfirmation,
  type Proposal,
} from '../services/what-if.js';
import type { CliContext } from './cli-context.js';
import { positiveInt } from './options.js';

export interface WhatIfFlags {
  whatIf?: boolean;
  days?: number;
  yes?: boolean;
  json?: boolean;
}

export function addWhatIfOptions(cmd: Command): Command {
  return cmd
    .option(
      '--what-if',
      "replay the org's recorded calls against this entry and print what it would have changed; saves nothing",
    )
    .option(
      '--days <n>',
      `days of recorded calls the what-if replays (default ${DEFAULT_WHAT_IF_DAYS}, at most ${MAX_WHAT_IF_DAYS})`,
      positiveInt('--days'),
    )
    .option('--yes', 'save a broad entry without the what-if (it is refused otherwise, with the figures)');
}

/** True when the command must stop here (a what-if was printed); throws when a broad entry is not confirmed. */
export async function whatIfGate(
  ctx: CliContext,
  org: string,
  proposal: Proposal,
  flags: WhatIfFlags,
): Promise<boolean> {
  if (flags.yes === true && flags.whatIf !== true) return false;
  const s = await ctx.services();
  const report = await s.whatIf.report(org, proposal, flags.days ?? DEFAULT_WHAT_IF_DAYS);
  if (flags.whatIf === true) {
    if (flags.json === true) ctx.json(report);
    else for (const l of describeReport(report)) ctx.out(l);
    return true;
  }
  if (report.broad) for (const l of describeReport(report)) ctx.err(l);
  requireConfirmation(report, false, 'run it again with --yes to save it');
  return false;
}

/**
 * `callscreen completion bash` and `callscreen man`: the bash completion script and the man page,
 * generated from the same command definitions the CLI parses with (help-docs.ts). Registered last,
 * so the tree it walks is complete when its action runs.
 */
import { Argument, type Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { bashCompletion, manPage } from '../help-docs.js';
import { packageVersion } from '../version.js';

export function register(program: Command, ctx: CliContext): void {
  program
    .command('completion')
    .description(
      'print the bash completion script (install: callscreen completion bash > /etc/bash_completion.d/callscreen)',
    )
    .addArgument(new Argument('[shell]', 'the shell').choices(['bash']).default('bash'))
    .action(() => {
      ctx.io.stdout.write(bashCompletion(program));
    });

  program
    .command('man')
    .description('print the callscreen(1) man page in roff (view: callscreen man | man -l -)')
    .action(() => {
      // The date of the version, not of today: the same build prints the same page.
      ctx.io.stdout.write(manPage(program, packageVersion(), 'December 2026'));
    });
}

/**
 * `callscreen` as a function: argv in, exit code out, all output through `io`. Nothing here calls
 * process.exit, so tests run every command in-process; bin.ts is the only place that exits.
 */
import { Command, CommanderError } from 'commander';
import { ERROR_CATALOGUE, toCallscreenError, type CallscreenError } from '../core/errors.js';
import type { CliIo } from './cli-context.js';
import { CliSession, type GlobalOptions } from './cli-session.js';
import { COMMANDS } from './commands/index.js';
import { packageVersion } from './version.js';

/** Global options that take a value: `callscreen --db FILE` alone still asks for nothing. */
const GLOBAL_WITH_VALUE = new Set(['--config', '--db']);

/**
 * Every command, defined once: runCli parses with it, and `callscreen completion` and
 * `callscreen man` (help-docs.ts) walk the same tree, so help, completion and the man page agree.
 */
export function buildProgram(io: CliIo): { program: Command; session: CliSession } {
  const program = new Command('callscreen');
  const session = new CliSession(io, () => program.opts<GlobalOptions>());
  program
    .description('Screen calls and SMS against a blocklist: manage organisations, blocks, imports; run the daemon')
    .option('--config <file>', 'config file (default: $CALLSCREEN_CONFIG, else embedded defaults)')
    .option('--db <file>', 'database file (overrides [store] path)')
    .version(packageVersion(), '-V, --version', 'print the version (package.json) and exit')
    .exitOverride()
    .showHelpAfterError('(run with --help for usage)')
    .configureOutput({
      writeOut: (s) => io.stdout.write(s),
      writeErr: (s) => io.stderr.write(s),
      // Commander's own usage errors get the same shape and code as ours.
      outputError: (s, write) => write(`callscreen: CS_ERR_USAGE: ${s.replace(/^error: /, '')}`),
    });
  for (const register of COMMANDS) register(program, session);
  // Subcommands inherit the overrides so their usage errors also come back here.
  const inherit = (cmd: Command): void => {
    for (const sub of cmd.commands) {
      sub.exitOverride().configureOutput(program.configureOutput()).showHelpAfterError('(run with --help for usage)');
      inherit(sub);
    }
  };
  inherit(program);
  return { program, session };
}

export async function runCli(argv: readonly string[], io: CliIo): Promise<number> {
  const { program, session } = buildProgram(io);
  if (asksForNothing(argv)) {
    // Plain `callscreen` is someone finding out what it does, not a mistake: the help on stdout
    // and 0, as docker and kubectl do (git and npm print it and exit 1, which reads as a
    // failure to someone who only wanted to look). A group without its subcommand
    // (`callscreen contact`) stays a usage error (64): something was asked, half-way.
    io.stdout.write(program.helpInformation());
    await session.close();
    return 0;
  }
  try {
    await program.parseAsync([...argv], { from: 'user' });
    return 0;
  } catch (err) {
    if (err instanceof CommanderError) {
      // --help, --version and "no command" help exit 0 or 1 in commander; usage errors are 64.
      if (err.code === 'commander.helpDisplayed' || err.code === 'commander.version') return 0;
      if (err.code === 'commander.help' || err.code === 'commander.executeSubCommandAsync')
        return err.exitCode === 0 ? 0 : ERROR_CATALOGUE.CS_ERR_USAGE.exit;
      return ERROR_CATALOGUE.CS_ERR_USAGE.exit;
    }
    const e = toCallscreenError(err);
    printError(io, e);
    return e.exitCode;
  } finally {
    await session.close();
  }
}

/** Nothing but global options (`callscreen`, `callscreen --db x.db`): nothing was asked for. */
function asksForNothing(argv: readonly string[]): boolean {
  let isValue = false; // the argument after a global option that takes a value
  for (const a of argv) {
    if (isValue) {
      isValue = false;
      continue;
    }
    if (GLOBAL_WITH_VALUE.has(a)) {
      isValue = true;
      continue;
    }
    if ([...GLOBAL_WITH_VALUE].some((g) => a.startsWith(`${g}=`))) continue;
    return false;
  }
  return true;
}

/** `callscreen: CODE: message`, then one line per detail that helps (bad rows, key, line). */
export function printError(io: CliIo, e: CallscreenError): void {
  io.stderr.write(`callscreen: ${e.code}: ${e.message}\n`);
  if (e.code === 'CS_ERR_INTERNAL' && e.cause instanceof Error && e.cause.stack) {
    io.stderr.write(e.cause.stack.split('\n').slice(1, 4).join('\n') + '\n');
  }
}

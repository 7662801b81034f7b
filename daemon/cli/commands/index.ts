/**
 * Every command module registers itself here. One line each; the order is the order in --help.
 * A command module exports `register(program, ctx)`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [
];

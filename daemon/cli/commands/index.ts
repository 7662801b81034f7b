/**
 * Every command module registers itself here. One line each; the order is the order in --help.
 * A command module exports `register(program, ctx)`.
 */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { register as daemon } from './daemon.js';
import { register as init } from './init.js';
import { register as org } from './org.js';
import { register as contact } from './contact.js';
import { register as entries } from './entries.js';
import { register as rules } from './rules.js';
import { register as check } from './check.js';
import { register as transfer } from './transfer.js';
import { register as audit } from './audit.js';
import { register as config } from './config.js';
import { register as doctor } from './doctor.js';
import { register as backup } from './backup.js';
import { register as calls } from './calls.js';
import { register as quarantine } from './quarantine.js';
import { register as user } from './user.js';
import { register as token } from './token.js';
import { register as stale } from './stale.js';
import { register as store } from './store.js';
import { register as flood } from './flood.js';
import { register as requests } from './requests.js';
import { register as edit } from './edit.js';
import { register as dashboard } from './dashboard.js';
import { register as completion } from './completion.js';

export type RegisterCommand = (program: Command, ctx: CliContext) => void;

export const COMMANDS: readonly RegisterCommand[] = [
  daemon,
  init,
  org,
  contact,
  entries,
  edit,
  rules,
  check,
  transfer,
  audit,
  config,
  doctor,
  backup,
  calls,
  dashboard,
  quarantine,
  user,
  token,
  stale,
  store,
  flood,
  requests,
  completion,
];

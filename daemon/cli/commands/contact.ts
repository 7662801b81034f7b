/** `callscreen contact …`: contacts with several numbers, blockable as a whole (`block --contact ID`). */
import type { Command } from 'commander';
import { CallscreenError } from '../../core/errors.js';
import type { CliContext } from '../cli-context.js';
import { renderTable } from '../table.js';

export function register(program: Command, ctx: CliContext): void {
  const contact = program
    .command('contact')
    .description('contacts (several numbers, blocked together with block --contact ID)');

  contact
    .command('add <numbers...>')
    .description('add a contact with its numbers; prints the contact id')
    .requiredOption('--org <org>', 'organisation')
    .requiredOption('--name <name>', "contact's name")
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .action(async (numbers: string[], o: { org: string; name: string; by?: string }) => {
      const actor = ctx.actor(o.by);
      const s = await ctx.services();
      const c = await s.contacts.add(o.org, o.name, numbers, actor);
      ctx.out(String(c.id));
    });

  const number = contact
    .command('number')
    .description('add or remove numbers of an existing contact (a block on the contact follows)');

  number
    .command('add <id> <numbers...>')
    .description('add numbers to a contact; if the contact is blocked they are blocked at once')
    .requiredOption('--org <org>', 'organisation')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--json', 'print the contact as JSON')
    .action(async (id: string, numbers: string[], o: { org: string; by?: string; json?: boolean }) => {
      const contactId = contactIdOf(id);
      const actor = ctx.actor(o.by);
      const s = await ctx.services();
      const c = await s.contacts.addNumbers(o.org, contactId, numbers, actor);
      if (o.json) ctx.json(c);
      else ctx.out(`contact ${c.id} ${c.name}: ${c.numbers.join(' ')}`);
    });

  number
    .command('remove <id> <numbers...>')
    .description('remove numbers from a contact (each must be one of its numbers; all or nothing)')
    .requiredOption('--org <org>', 'organisation')
    .option('--by <user>', 'who is acting (default $SUDO_USER/$USER)')
    .option('--reason <text>', 'why (kept in the audit log)')
    .option('--json', 'print the contact as JSON')
    .action(async (id: string, numbers: string[], o: { org: string; by?: string; reason?: string; json?: boolean }) => {
      const contactId = contactIdOf(id);
      const actor = ctx.actor(o.by);
      const s = await ctx.services();
      const c = await s.contacts.removeNumbers(o.org, contactId, numbers, actor, o.reason ?? '');
      if (o.json) ctx.json(c);
      else ctx.out(`contact ${c.id} ${c.name}: ${c.numbers.length ? c.numbers.join(' ') : '(no numbers left)'}`);
    });

  contact
    .command('list')
    .description("list an organisation's contacts")
    .requiredOption('--org <org>', 'organisation')
    .option('--search <text>', 'part of a name or number')
    .option('--json', 'one JSON document')
    .action(async (o: { org: string; search?: string; json?: boolean }) => {
      const s = await ctx.services();
      const contacts = await s.contacts.list(o.org, o.search ?? '');
      if (o.json) {
        ctx.json(contacts);
        return;
      }
      if (contacts.length === 0) {
        ctx.out(`no contacts in ${o.org}`);
        return;
      }
      for (const l of renderTable(
        ['ID', 'Name', 'Blocked', 'Numbers'],
        contacts.map((c) => [String(c.id), c.name, c.blocked ? 'yes' : 'no', c.numbers.join(' ')]),
      ))
        ctx.out(l);
    });
}

/** A contact id as `contact list` prints it: a positive whole number. */
function contactIdOf(text: string): number {
  const n = Number(text.trim());
  if (!/^\d+$/.test(text.trim()) || !Number.isSafeInteger(n) || n <= 0) {
    throw new CallscreenError(
      'CS_ERR_USAGE',
      `contact id "${text}" is not a positive whole number (see callscreen contact list)`,
      { key: 'id' },
    );
  }
  return n;
}

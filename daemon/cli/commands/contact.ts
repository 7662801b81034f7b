/** `callscreen contact …`: contacts with several numbers, blockable as a whole (`block --contact ID`). */
import type { Command } from 'commander';
import type { CliContext } from '../cli-context.js';
import { renderTable } from '../table.js';

export function register(program: Command, ctx: CliContext): void {
  const contact = program.command('contact').description('contacts (several numbers, blocked together with block --contact ID)');

  contact.command('add <numbers...>')
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

  contact.command('list')
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
      for (const l of renderTable(['ID', 'Name', 'Blocked', 'Numbers'], contacts.map((c) => [String(c.id), c.name, c.blocked ? 'yes' : 'no', c.numbers.join(' ')]))) ctx.out(l);
    });
}

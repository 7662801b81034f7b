/**
 * `callscreen user`: panel and API accounts. Prompt-free (runs from scripts and CI):
 * `user add` reads the password from stdin with --password-stdin, or generates one and prints it
 * once. `user token` prints a new API token once (stored hashed).
 */
import type { Readable } from 'node:stream';
import type { Command } from 'commander';
import { ROLES, roleIn, UserService, type Role } from '../../admin/user-service.js';
import { generatePassword } from '../../admin/password-hash.js';
import { CallscreenError } from '../../core/errors.js';
import type { CliContext } from '../cli-context.js';

async function readAll(stream: Readable): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const c of stream) chunks.push(Buffer.isBuffer(c) ? c : Buffer.from(String(c)));
  // One trailing newline (echo, a here-string) is not part of the password.
  return Buffer.concat(chunks)
    .toString('utf8')
    .replace(/\r?\n$/, '');
}

export function register(program: Command, ctx: CliContext): void {
  const users = async () => {
    const s = await ctx.services();
    return new UserService(s.db, s.orgs, s.audit, s.clock);
  };
  // Tests hand in their own stdin through the io object; the real CLI reads the process's.
  const stdin = (): Readable => (ctx.io as { stdin?: Readable }).stdin ?? process.stdin;

  const user = program.command('user').description('panel and API users: add, list, password, tokens, disable');

  user
    .command('add')
    .description('add a user with a role in one or more organisations')
    .argument('<name>', 'user name (letters, digits, . _ @ -)')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .requiredOption('--org <org...>', 'organisation(s) the user works in')
    .option('--password-stdin', 'read the password from stdin (else one is generated and printed)')
    .option('--json', 'one JSON document')
    .option('--by <name>', 'who is making the change (audit log)')
    .action(
      async (
        name: string,
        o: { role: string; org: string[]; passwordStdin?: boolean; json?: boolean; by?: string },
      ) => {
        if (!ROLES.includes(o.role as Role))
          throw new CallscreenError('CS_ERR_USAGE', `--role must be one of ${ROLES.join(', ')}`, { key: 'role' });
        const generated = !o.passwordStdin;
        const password = generated ? generatePassword() : await readAll(stdin());
        const u = await (await users()).add(name, o.role as Role, o.org, password, ctx.actor(o.by));
        if (o.json) ctx.json({ user: u, ...(generated ? { password } : {}) });
        else {
          ctx.out(`✓ added ${u.role} ${u.name} in ${u.orgs.join(', ')}`);
          if (generated) ctx.out(`  password (shown once): ${password}`);
        }
      },
    );

  user
    .command('list')
    .description('users, roles and organisations')
    .option('--json', 'one JSON document')
    .action(async (o: { json?: boolean }) => {
      const list = await (await users()).list();
      if (o.json) ctx.json({ users: list });
      else if (list.length === 0) ctx.out('no users yet: callscreen user add NAME --role admin --org ORG');
      else
        for (const u of list)
          ctx.out(
            `${u.name}\t${u.role}\t${u.orgs.map((o) => (roleIn(u, o) === u.role ? o : `${o}:${roleIn(u, o)}`)).join(',')}${u.disabled ? '\tdisabled' : ''}`,
          );
    });

  user
    .command('role')
    .description(
      'give a user a role in one organisation (others keep theirs); adds them to it if they do not work there yet',
    )
    .argument('<name>', 'user name')
    .requiredOption('--org <org>', 'the organisation')
    .requiredOption('--role <role>', `one of ${ROLES.join(', ')}`)
    .option('--by <name>', 'who is making the change (audit log)')
    .action(async (name: string, o: { org: string; role: string; by?: string }) => {
      if (!ROLES.includes(o.role as Role))
        throw new CallscreenError('CS_ERR_USAGE', `--role must be one of ${ROLES.join(', ')}`, { key: 'role' });
      const u = await (await users()).setRole(name, o.org, o.role as Role, ctx.actor(o.by));
      ctx.out(
        `✓ ${u.name} is ${o.role} in ${o.org}${u.orgs.length > 1 ? ` (${u.orgs.map((x) => `${x}: ${u.roles[x] ?? u.role}`).join(', ')})` : ''}`,
      );
    });

  user
    .command('token')
    .description('create an API token for a user (same as: callscreen token create USER --name LABEL)')
    .argument('<name>', 'user name')
    .option('--label <label>', 'what the token is for', 'cli')
    .option('--json', 'one JSON document')
    .option('--by <name>', 'who is making the change (audit log)')
    .action(async (name: string, o: { label: string; json?: boolean; by?: string }) => {
      const t = await (await users()).createToken(name, { name: o.label }, ctx.actor(o.by));
      if (o.json) ctx.json(t);
      else ctx.out(`token for ${name} (shown once, expires ${new Date(t.expiresAt ?? 0).toISOString()}): ${t.token}`);
    });

  user
    .command('password')
    .description("reset a user's password (from stdin, else generated and printed once); ends all their sessions")
    .argument('<name>', 'user name')
    .option('--password-stdin', 'read the new password from stdin')
    .option('--by <name>', 'who is making the change (audit log)')
    .action(async (name: string, o: { passwordStdin?: boolean; by?: string }) => {
      const generated = !o.passwordStdin;
      const password = generated ? generatePassword() : await readAll(stdin());
      await (await users()).setPassword(name, password, ctx.actor(o.by), { self: false });
      ctx.out(`✓ password of ${name} reset; their sessions ended`);
      if (generated) ctx.out(`  password (shown once): ${password}`);
    });

  for (const [verb, disabled] of [
    ['disable', true],
    ['enable', false],
  ] as const) {
    user
      .command(verb)
      .description(
        disabled
          ? 'stop a user signing in (signs them out everywhere, revokes their tokens for good)'
          : 'let a disabled user sign in again (their old tokens stay revoked)',
      )
      .argument('<name>', 'user name')
      .option('--by <name>', 'who is making the change (audit log)')
      .action(async (name: string, o: { by?: string }) => {
        const u = await (await users()).setDisabled(name, disabled, ctx.actor(o.by));
        ctx.out(`✓ ${u.name} ${disabled ? 'disabled' : 'enabled'}`);
      });
  }
}

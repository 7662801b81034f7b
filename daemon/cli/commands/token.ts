/**
 * `callscreen token`: API tokens for softphones and scripts (Authorization: Bearer <token>).
 * Each is named, carries a role no higher than its user's (or is read-only), and expires (90 days
 * by default). The secret is printed once at creation and stored only as a hash; `list` shows
 * when each was last used; `revoke` ends one at once. Disabling a user revokes all of theirs.
 */
import type { Command } from 'commander';
import { ROLES, UserService, type Role, type TokenInfo } from '../../admin/user-service.js';
import { CallscreenError } from '../../core/errors.js';
import type { CliContext } from '../cli-context.js';

const iso = (ms: number | null): string => (ms === null ? '-' : new Date(ms).toISOString().replace(/\.\d{3}Z$/, 'Z'));

function line(t: TokenInfo): string {
  return [
    t.id,
    t.user,
    t.name,
    t.readOnly ? `${t.role ?? 'owner'} read-only` : (t.role ?? 'owner'),
    t.state,
    `expires ${iso(t.expiresAt)}`,
    `last used ${iso(t.lastUsedAt)}`,
  ].join('\t');
}

export function register(program: Command, ctx: CliContext): void {
  const users = async () => {
    const s = await ctx.services();
    return new UserService(s.db, s.orgs, s.audit, s.clock);
  };
  const token = program.command('token').description('API tokens: create, list, revoke');

  token
    .command('create')
    .description('create a token for a user (printed once)')
    .argument('<user>', 'user name')
    .requiredOption('--name <name>', 'what the token is for (e.g. softphone-101)')
    .option('--role <role>', `${ROLES.join(', ')}; at most the user's role (default: the user's role)`)
    .option('--read-only', 'the token may only read')
    .option('--days <days>', 'lifetime in days, 1-366', '90')
    .option('--json', 'one JSON document')
    .option('--by <name>', 'who is making the change (audit log)')
    .action(
      async (
        user: string,
        o: { name: string; role?: string; readOnly?: boolean; days: string; json?: boolean; by?: string },
      ) => {
        if (o.role !== undefined && !ROLES.includes(o.role as Role))
          throw new CallscreenError('CS_ERR_USAGE', `--role must be one of ${ROLES.join(', ')}`, { key: 'role' });
        if (!/^\d{1,3}$/.test(o.days))
          throw new CallscreenError('CS_ERR_USAGE', `--days must be a whole number of days, not "${o.days}"`, {
            key: 'days',
          });
        const t = await (
          await users()
        ).createToken(
          user,
          {
            name: o.name,
            ...(o.role ? { role: o.role as Role } : {}),
            readOnly: o.readOnly === true,
            expiresInDays: Number(o.days),
          },
          ctx.actor(o.by),
        );
        if (o.json) ctx.json(t);
        else {
          ctx.out(
            `✓ token ${t.id} "${t.name}" for ${t.user}: ${t.readOnly ? 'read-only, ' : ''}role ${t.role ?? 'owner'}, expires ${iso(t.expiresAt)}`,
          );
          ctx.out(`  token (shown once): ${t.token}`);
        }
      },
    );

  token
    .command('list')
    .description("a user's tokens (or everyone's): name, role, state, expiry, last use — never the secret")
    .argument('[user]', 'user name (default: all users)')
    .option('--json', 'one JSON document')
    .action(async (user: string | undefined, o: { json?: boolean }) => {
      const svc = await users();
      const names = user ? [user] : (await svc.list()).map((u) => u.name);
      const all: TokenInfo[] = [];
      for (const n of names) all.push(...(await svc.listTokens(n)));
      if (o.json) ctx.json({ tokens: all });
      else if (all.length === 0) ctx.out('no tokens: callscreen token create USER --name NAME');
      else for (const t of all) ctx.out(line(t));
    });

  token
    .command('revoke')
    .description('revoke a token now')
    .argument('<user>', 'user name')
    .argument('<id>', 'token id (see token list)')
    .option('--by <name>', 'who is making the change (audit log)')
    .action(async (user: string, id: string, o: { by?: string }) => {
      if (!/^\d{1,12}$/.test(id))
        throw new CallscreenError('CS_ERR_USAGE', `token id must be a number, not "${id}"`, { key: 'id' });
      const t = await (await users()).revokeToken(user, Number(id), ctx.actor(o.by));
      ctx.out(`✓ token ${t.id} "${t.name}" of ${t.user} revoked`);
    });
}

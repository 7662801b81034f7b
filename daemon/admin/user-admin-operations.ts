/**
 * An organisation's admins manage its users from the panel and the API (issue #17; the CLI has
 * `callscreen user`): list, add (role and this organisation), disable/enable, reset a password.
 *
 * An admin manages only users whose every organisation they also work in: a user who also works
 * somewhere else could otherwise be used to reach that organisation (signed in as them after a
 * password reset). Such users are listed but refused, with "ask their admin or use the CLI".
 * No one disables themself here (that would lock the last admin out); the CLI can.
 */
import { CallscreenError } from '../core/errors.js';
import { generatePassword } from './password-hash.js';
import type { AdminOperations, Principal } from './admin-operations.js';
import { ROLE_RANK } from './access-policy.js';
import { roleIn, ROLES, type Role, type User, type UserService } from './user-service.js';

export class UserAdminOperations {
  constructor(
    private readonly ops: AdminOperations,
    private readonly users: UserService,
  ) {}

  /** The users who work in the organisation, each with their role in it and whether this admin may manage them. */
  async list(p: Principal, slug: string): Promise<Array<User & { orgRole: Role; manageable: boolean }>> {
    const org = await this.ops.org(p, slug, 'users');
    return (await this.users.list())
      .filter((u) => u.orgs.includes(org.slug))
      .map((u) => ({ ...u, orgRole: roleIn(u, org.slug), manageable: this.manages(p, u) }));
  }

  /**
   * Gives a user of this organisation another role in it (their roles elsewhere stay). Not your
   * own (an admin demoting themself could leave the organisation with no admin).
   */
  async setRole(p: Principal, slug: string, name: string, role: Role): Promise<User> {
    const target = await this.target(p, slug, name);
    if (target.id === p.user.id)
      throw new CallscreenError(
        'CS_ERR_FORBIDDEN',
        'you cannot change your own role (ask another admin, or use the CLI)',
        { field: 'role' },
      );
    if (!ROLES.includes(role))
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `role "${role}" is not one of ${ROLES.join(', ')}`, {
        field: 'role',
      });
    return this.users.setRole(target.name, slug, role, p.actor);
  }

  /**
   * Adds a user with `role` in this organisation. The password is the one given, else generated
   * and returned once (`password`). A role above the admin's own cannot be given (tokens can carry
   * a lower one).
   */
  async add(
    p: Principal,
    slug: string,
    name: string,
    role: Role,
    password?: string,
  ): Promise<{ user: User; password?: string }> {
    const org = await this.ops.org(p, slug, 'users');
    if (!ROLES.includes(role))
      throw new CallscreenError('CS_ERR_INVALID_VALUE', `role "${role}" is not one of ${ROLES.join(', ')}`, {
        field: 'role',
      });
    const own = roleIn(p.user, org.slug);
    if (ROLE_RANK[role] > ROLE_RANK[own])
      throw new CallscreenError('CS_ERR_FORBIDDEN', `a ${own} may not make a ${role}`, { field: 'role' });
    const generated = password === undefined || password === '';
    const secret = generated ? generatePassword() : password;
    const user = await this.users.add(name, role, [org.slug], secret, p.actor);
    return generated ? { user, password: secret } : { user };
  }

  async setDisabled(p: Principal, slug: string, name: string, disabled: boolean): Promise<User> {
    const target = await this.target(p, slug, name);
    if (disabled && target.id === p.user.id)
      throw new CallscreenError(
        'CS_ERR_FORBIDDEN',
        'you cannot disable your own account here (ask another admin, or use the CLI)',
        { field: 'name' },
      );
    return this.users.setDisabled(target.name, disabled, p.actor);
  }

  /** Sets a new password (all the user's sessions end); generated and returned once when none is given. */
  async resetPassword(
    p: Principal,
    slug: string,
    name: string,
    password?: string,
  ): Promise<{ user: User; password?: string }> {
    const target = await this.target(p, slug, name);
    // A reset ends every session of the user, this one too: your own password changes on Account.
    if (target.id === p.user.id)
      throw new CallscreenError(
        'CS_ERR_FORBIDDEN',
        'change your own password on the Account page (it asks for the current one)',
        { field: 'name' },
      );
    const generated = password === undefined || password === '';
    const secret = generated ? generatePassword() : password;
    const user = await this.users.setPassword(target.name, secret, p.actor, { self: false });
    return generated ? { user, password: secret } : { user };
  }

  private manages(p: Principal, u: User): boolean {
    return u.orgs.every((o) => p.user.orgs.includes(o));
  }

  /** A user of this organisation that this admin manages; another org's user is "no user" (404). */
  private async target(p: Principal, slug: string, name: string): Promise<User> {
    const org = await this.ops.org(p, slug, 'users');
    const u = await this.users.get(name);
    if (!u || !u.orgs.includes(org.slug))
      throw new CallscreenError('CS_ERR_USER_NOT_FOUND', `no user "${name}" in "${org.slug}"`, { user: name });
    if (!this.manages(p, u))
      throw new CallscreenError(
        'CS_ERR_FORBIDDEN',
        `"${name}" also works in organisations you do not manage; ask their admin or use the CLI`,
        { permission: 'users' },
      );
    return u;
  }
}

/**
 * Every action an admin takes, and the door of each of the three that offers it (issue #17): an API
 * route (method and path under /api/v1), a CLI command (its words), a panel route (method and path).
 * `null` = that door does not offer it; `why` then says why, and docs/doors.md must print the same
 * reason (test/doors/door-coverage.test.ts checks both against the running server and the CLI).
 *
 * Issue #16's rules (patterns, per-DID entries, allowlist-only DIDs, enable/disable, observe mode,
 * what-if, the stale report, flood detection and handset block requests) are listed under "Rules
 * beyond a plain list"; docs/rules.md says how each door offers them.
 */
export type Door = 'api' | 'cli' | 'panel';

export interface DoorAction {
  readonly id: string;
  readonly what: string;
  readonly api: string | null;
  readonly cli: string | null;
  readonly panel: string | null;
  /** Why a door is null (one sentence each), printed in docs/doors.md. */
  readonly why?: Partial<Record<Door, string>>;
}

const ORG_ADD =
  "creating an organisation is the host operator's job (its DIDs and the PBX dialplan come with it); panel and API users act only inside organisations they already work in";

export const DOOR_ACTIONS: readonly DoorAction[] = [
  // The block and allow lists
  {
    id: 'block.number',
    what: 'Block a phone number',
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'block.prefix',
    what: 'Block every number starting with a prefix',
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'block.unidentified',
    what: 'Block unidentified callers',
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'block.contact',
    what: 'Block a contact (all of their numbers)',
    api: 'POST /orgs/:org/contacts/:id/block',
    cli: 'block',
    panel: 'POST /contacts/:id/block',
  },
  {
    id: 'block.from-call',
    what: 'Block a caller from the recent calls',
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /calls/block',
  },
  {
    id: 'unblock',
    what: 'Unblock an entry, with a note',
    api: 'POST /orgs/:org/blocked/:id/unblock',
    cli: 'unblock',
    panel: 'POST /blocked/:id/unblock',
  },
  {
    id: 'unblock.many',
    what: 'Unblock many entries at once (ticked, or all matching a search)',
    api: 'POST /orgs/:org/blocked/unblock-many',
    cli: 'unblock-many',
    panel: 'POST /blocked/unblock-many',
  },
  {
    id: 'edit.block',
    what: 'Edit a block in place (mode, name, reason, expiry)',
    api: 'PATCH /orgs/:org/blocked/:id',
    cli: 'edit',
    panel: 'POST /blocked/:id/edit',
  },
  {
    id: 'allow',
    what: 'Always allow a number or prefix',
    api: 'POST /orgs/:org/allowed',
    cli: 'allow',
    panel: 'POST /allowed',
  },
  {
    id: 'edit.allow',
    what: 'Edit an allow entry in place (name, reason, expiry)',
    api: 'PATCH /orgs/:org/allowed/:id',
    cli: 'edit',
    panel: 'POST /allowed/:id/edit',
  },
  {
    id: 'disallow',
    what: 'Remove an allow entry',
    api: 'POST /orgs/:org/allowed/:id/disallow',
    cli: 'disallow',
    panel: 'POST /allowed/:id/remove',
  },
  {
    id: 'list.block',
    what: 'List and search the blocked callers, paged',
    api: 'GET /orgs/:org/blocked',
    cli: 'list',
    panel: 'GET /blocked',
  },
  {
    id: 'list.allow',
    what: 'List the allowed callers, paged',
    api: 'GET /orgs/:org/blocked',
    cli: 'list',
    panel: 'GET /allowed',
  },
  {
    id: 'entry.show',
    what: 'See one entry',
    api: 'GET /orgs/:org/blocked/:id',
    cli: 'list',
    panel: 'GET /blocked/:id/edit',
  },
  // Contacts
  {
    id: 'contact.add',
    what: 'Add a contact with numbers',
    api: 'POST /orgs/:org/contacts',
    cli: 'contact add',
    panel: 'POST /contacts',
  },
  {
    id: 'contact.list',
    what: 'List and search contacts',
    api: 'GET /orgs/:org/contacts',
    cli: 'contact list',
    panel: 'GET /contacts',
  },
  {
    id: 'contact.numbers.add',
    what: 'Add numbers to a contact',
    api: 'POST /orgs/:org/contacts/:id/numbers',
    cli: 'contact number add',
    panel: 'POST /contacts/:id/numbers',
  },
  {
    id: 'contact.numbers.remove',
    what: 'Remove numbers from a contact',
    api: 'POST /orgs/:org/contacts/:id/numbers/remove',
    cli: 'contact number remove',
    panel: 'POST /contacts/:id/numbers/remove',
  },
  {
    id: 'contact.unblock',
    what: 'Unblock a contact, releasing or deleting its held messages',
    api: 'POST /orgs/:org/contacts/:id/unblock',
    cli: 'unblock',
    panel: 'POST /contacts/:id/unblock',
  },
  // Organisations, DIDs, settings
  {
    id: 'org.add',
    what: 'Create an organisation',
    api: null,
    cli: 'org add',
    panel: null,
    why: { api: ORG_ADD, panel: ORG_ADD },
  },
  { id: 'org.list', what: 'List your organisations', api: 'GET /orgs', cli: 'org list', panel: 'GET /blocked' },
  {
    id: 'org.show',
    what: 'See an organisation: name, region, settings, DIDs',
    api: 'GET /orgs/:org',
    cli: 'org settings',
    panel: 'GET /settings',
  },
  {
    id: 'settings.change',
    what: 'Change settings (modes, reject code, outbound policy, agents may block, prefix minimum)',
    api: 'PATCH /orgs/:org/settings',
    cli: 'org settings',
    panel: 'POST /settings',
  },
  {
    id: 'org.name-region',
    what: "Change an organisation's name or region",
    api: 'PATCH /orgs/:org/settings',
    cli: 'org settings',
    panel: 'POST /settings/org',
  },
  {
    id: 'did.add',
    what: 'Add inbound numbers (DIDs)',
    api: 'POST /orgs/:org/dids',
    cli: 'org did add',
    panel: 'POST /settings/dids',
  },
  {
    id: 'did.remove',
    what: 'Remove an inbound number (DID)',
    api: 'POST /orgs/:org/dids/remove',
    cli: 'org did remove',
    panel: 'POST /settings/dids/remove',
  },
  // Flood detection and handset block requests (issue #16)
  {
    id: 'flood.show',
    what: 'See the flood and robocall detection settings',
    api: 'GET /orgs/:org/flood',
    cli: 'flood',
    panel: 'GET /flood',
  },
  {
    id: 'flood.change',
    what: 'Change flood detection settings, or put the defaults back',
    api: 'PATCH /orgs/:org/flood',
    cli: 'flood',
    panel: 'POST /flood',
  },
  {
    id: 'request.list',
    what: 'List block requests made from handsets',
    api: 'GET /orgs/:org/block-requests',
    cli: 'requests list',
    panel: 'GET /requests',
  },
  {
    id: 'request.approve',
    what: 'Approve a handset block request: the number is blocked as you',
    api: 'POST /orgs/:org/block-requests/:id/approve',
    cli: 'requests approve',
    panel: 'POST /requests/:id/approve',
  },
  {
    id: 'request.decline',
    what: 'Decline a handset block request, with a note',
    api: 'POST /orgs/:org/block-requests/:id/decline',
    cli: 'requests decline',
    panel: 'POST /requests/:id/decline',
  },
  // Users and tokens
  { id: 'user.list', what: 'List users', api: 'GET /orgs/:org/users', cli: 'user list', panel: 'GET /users' },
  {
    id: 'user.add',
    what: 'Add a user with a role',
    api: 'POST /orgs/:org/users',
    cli: 'user add',
    panel: 'POST /users',
  },
  {
    id: 'user.disable',
    what: 'Disable or enable a user',
    api: 'PATCH /orgs/:org/users/:name',
    cli: 'user disable',
    panel: 'POST /users/:name',
  },
  {
    id: 'user.password.reset',
    what: "Reset a user's password",
    api: 'POST /orgs/:org/users/:name/password',
    cli: 'user password',
    panel: 'POST /users/:name',
  },
  {
    id: 'user.role.per-org',
    what: 'Give a user a different role in each organisation',
    api: 'PATCH /orgs/:org/users/:name',
    cli: 'user role',
    panel: 'POST /users/:name',
  },
  {
    id: 'password.change',
    what: 'Change your own password',
    api: 'POST /me/password',
    cli: null,
    panel: 'POST /account/password',
    why: { cli: "the CLI is the host operator, not a signed-in user: `callscreen user password NAME` resets anyone's" },
  },
  {
    id: 'token.create',
    what: 'Create an API token',
    api: 'POST /me/tokens',
    cli: 'token create',
    panel: 'POST /account/tokens',
  },
  {
    id: 'token.list',
    what: 'List API tokens with last use',
    api: 'GET /me/tokens',
    cli: 'token list',
    panel: 'GET /account',
  },
  {
    id: 'token.revoke',
    what: 'Revoke an API token',
    api: 'POST /me/tokens/:id/revoke',
    cli: 'token revoke',
    panel: 'POST /account/tokens/:id/revoke',
  },
  // Import and export
  {
    id: 'import',
    what: 'Import a CSV, all or nothing',
    api: 'POST /orgs/:org/import',
    cli: 'import',
    panel: 'POST /import',
  },
  {
    id: 'import.dry-run',
    what: 'Preview an import: what would change, every bad row',
    api: 'POST /orgs/:org/import',
    cli: 'import',
    panel: 'POST /import',
  },
  {
    id: 'export',
    what: 'Export the lists (CSV or JSON)',
    api: 'GET /orgs/:org/export',
    cli: 'export',
    panel: 'GET /export',
  },
  // Checks, calls, quarantine, reports
  {
    id: 'check.inbound',
    what: 'What a call from a number would get now',
    api: 'GET /orgs/:org/check',
    cli: 'check',
    panel: 'GET /check',
  },
  {
    id: 'check.outbound',
    what: "What dialling a number would get (the softphones' pre-dial check)",
    api: 'GET /orgs/:org/precheck',
    cli: 'check',
    panel: null,
    why: { panel: 'a softphone asks before dialling (docs/agents.md); a person at the panel has no call to check' },
  },
  {
    id: 'calls.list',
    what: 'Recent calls filtered by verdict and number, paged',
    api: 'GET /orgs/:org/calls',
    cli: 'calls',
    panel: 'GET /calls',
  },
  {
    id: 'dashboard',
    what: 'Blocked per day and top blocked numbers',
    api: 'GET /orgs/:org/dashboard',
    cli: 'dashboard',
    panel: 'GET /dashboard',
  },
  {
    id: 'audit',
    what: 'The audit log with filters, paged',
    api: 'GET /orgs/:org/audit',
    cli: 'audit',
    panel: 'GET /audit',
  },
  {
    id: 'quarantine.list',
    what: 'Held messages, paged',
    api: 'GET /orgs/:org/quarantine',
    cli: 'quarantine list',
    panel: 'GET /quarantine',
  },
  {
    id: 'quarantine.release',
    what: 'Release one held message',
    api: 'POST /orgs/:org/quarantine/:id/release',
    cli: 'quarantine release',
    panel: 'POST /quarantine/:id/release',
  },
  {
    id: 'quarantine.delete',
    what: 'Delete one held message',
    api: 'POST /orgs/:org/quarantine/:id/delete',
    cli: 'quarantine delete',
    panel: 'POST /quarantine/:id/delete',
  },
  {
    id: 'quarantine.settle',
    what: 'Release all or delete all of a sender (no 1,000 cap)',
    api: 'POST /orgs/:org/quarantine/settle',
    cli: 'quarantine release-all',
    panel: 'POST /quarantine/settle',
  },
  // Rules beyond a plain list (issue #16, docs/rules.md)
  {
    id: 'block.pattern',
    what: 'Block numbers matching a pattern (wildcards or a range)',
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'allow.pattern',
    what: 'Always allow numbers matching a pattern',
    api: 'POST /orgs/:org/allowed',
    cli: 'allow',
    panel: 'POST /allowed',
  },
  {
    id: 'block.dids',
    what: "Block only on some of the organisation's DIDs",
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'allow.dids',
    what: "Allow only on some of the organisation's DIDs",
    api: 'POST /orgs/:org/allowed',
    cli: 'allow',
    panel: 'POST /allowed',
  },
  {
    id: 'did.allowlist-only',
    what: 'Make a DID allowlist-only (others to voicemail or rejected), or usual again',
    api: 'PUT /orgs/:org/dids/:did/allowlist-only',
    cli: 'rules allowlist-only',
    panel: 'POST /settings/dids/allowlist-only',
  },
  {
    id: 'did.rules',
    what: 'See which DIDs are allowlist-only',
    api: 'GET /orgs/:org/dids/rules',
    cli: 'rules dids',
    panel: 'GET /settings',
  },
  {
    id: 'pattern.minimum',
    what: 'Change the pattern minimum (fewest fixed digits a pattern may have)',
    api: 'PUT /orgs/:org/pattern-minimum',
    cli: 'rules pattern-minimum',
    panel: 'POST /settings/pattern-minimum',
  },
  {
    id: 'entry.disable',
    what: 'Disable an entry without deleting it',
    api: 'POST /orgs/:org/entries/:id/disable',
    cli: 'entry disable',
    panel: 'POST /blocked/:id/disable',
  },
  {
    id: 'entry.enable',
    what: 'Enable a disabled entry again',
    api: 'POST /orgs/:org/entries/:id/enable',
    cli: 'entry enable',
    panel: 'POST /blocked/:id/enable',
  },
  {
    id: 'block.observe',
    what: 'Block in observe mode: record "would have blocked", let calls through',
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'entry.observe',
    what: 'Put an enforced block in observe mode',
    api: 'POST /orgs/:org/entries/:id/observe',
    cli: 'entry observe',
    panel: 'POST /blocked/:id/observe',
  },
  {
    id: 'entry.report',
    what: "An observing entry's report: hits, numbers, the latest",
    api: 'GET /orgs/:org/entries/:id/report',
    cli: 'entry report',
    panel: 'GET /blocked/:id/report',
  },
  {
    id: 'entry.promote',
    what: 'Promote an observing entry: it blocks from now on',
    api: 'POST /orgs/:org/entries/:id/promote',
    cli: 'entry promote',
    panel: 'POST /blocked/:id/promote',
  },
  {
    id: 'what-if',
    what: 'Preview what a block or allow would have done to recorded calls',
    api: 'POST /orgs/:org/what-if',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'what-if.confirm',
    what: 'Save a broad block or allow after seeing its figures',
    api: 'POST /orgs/:org/blocked',
    cli: 'block',
    panel: 'POST /block',
  },
  {
    id: 'stale.report',
    what: 'Stale entries: expired, unused, shadowed',
    api: 'GET /orgs/:org/stale',
    cli: 'stale report',
    panel: 'GET /stale',
  },
  {
    id: 'stale.clean',
    what: 'Clean up stale entries, after a dry run',
    api: 'POST /orgs/:org/stale/clean',
    cli: 'stale clean',
    panel: 'POST /stale/clean',
  },
];

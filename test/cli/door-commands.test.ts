/**
 * The CLI doors issue #17 added: edit an entry in place, unblock many (by id and --all --search),
 * remove a DID, change the region, calls filtered and paged, quarantine paged, the dashboard.
 */
import t from 'tap';
import { cliWithOrg } from './cli-runner.js';

t.test('edit changes an entry in place; nothing given is a usage error', async (t) => {
  const cli = await cliWithOrg(t);
  const b = await cli.run('block', '+15551230001', '--org', 'acme', '--mode', 'reject', '--json');
  t.equal(b.code, 0, b.err);
  const id = (JSON.parse(b.out) as { id: number }).id;
  const e = await cli.run(
    'edit',
    String(id),
    '--org',
    'acme',
    '--name',
    'Robo',
    '--reason',
    'ticket 7',
    '--mode',
    'voicemail',
    '--expires',
    '30d',
    '--json',
  );
  t.equal(e.code, 0, e.err);
  t.match(JSON.parse(e.out), { id, name: 'Robo', reason: 'ticket 7', mode: 'voicemail' });
  t.ok((JSON.parse(e.out) as { expiresAt: number | null }).expiresAt, 'an expiry was set');
  const never = await cli.run('edit', String(id), '--org', 'acme', '--expires', 'never');
  t.equal(never.code, 0, never.err);
  t.match(never.out, /no expiry/);
  const none = await cli.run('edit', String(id), '--org', 'acme');
  t.equal(none.code, 64);
  t.match(none.err, /nothing to change/);
  const missing = await cli.run('edit', '9999', '--org', 'acme', '--name', 'x');
  t.equal(missing.code, 66, 'an unknown entry is "not found"');
});

t.test('unblock-many: by id all or nothing, and --all --search', async (t) => {
  const cli = await cliWithOrg(t);
  const ids: number[] = [];
  for (const n of ['+15551230001', '+15551230002', '+15559990003']) {
    const r = await cli.run('block', n, '--org', 'acme', '--json');
    ids.push((JSON.parse(r.out) as { id: number }).id);
  }
  const bad = await cli.run('unblock-many', String(ids[0]), '9999', '--org', 'acme');
  t.equal(bad.code, 66, 'one unknown id refuses the batch');
  t.equal(await cli.scalar('SELECT count(*) AS v FROM entries WHERE removed_at IS NULL'), 3, 'nothing was removed');
  const some = await cli.run('unblock-many', '--org', 'acme', '--all', '--search', '555 123', '--reason', 'cleanup');
  t.equal(some.code, 0, some.err);
  t.match(some.out, 'unblocked 2 entries');
  t.equal(
    await cli.scalar("SELECT count(*) AS v FROM audit_log WHERE action = 'unblock' AND reason = 'cleanup'"),
    2,
    'each unblock audited',
  );
  const both = await cli.run('unblock-many', String(ids[2]), '--org', 'acme', '--all');
  t.equal(both.code, 64);
  const last = await cli.run('unblock-many', String(ids[2]), '--org', 'acme');
  t.equal(last.code, 0, last.err);
  t.equal(await cli.scalar('SELECT count(*) AS v FROM entries WHERE removed_at IS NULL'), 0);
});

t.test('org did remove and org settings --region', async (t) => {
  const cli = await cliWithOrg(t);
  t.equal((await cli.run('org', 'did', 'add', 'acme', '+12125550100', '+12125550101')).code, 0);
  const r = await cli.run('org', 'did', 'remove', 'acme', '(212) 555-0101', '--reason', 'ported out');
  t.equal(r.code, 0, r.err);
  t.match(r.out, 'removed +12125550101');
  t.equal(await cli.scalar('SELECT count(*) AS v FROM org_numbers'), 1);
  const bad = await cli.run('org', 'settings', 'acme', '--region', 'XX', '--default-mode', 'voicemail');
  t.not(bad.code, 0, 'an unknown region is refused');
  t.equal(
    await cli.scalar("SELECT count(*) AS v FROM orgs WHERE default_mode = 'voicemail'"),
    0,
    'and nothing else was changed',
  );
  const ok = await cli.run('org', 'settings', 'acme', '--region', 'GB', '--json');
  t.equal(ok.code, 0, ok.err);
  t.match(JSON.parse(ok.out), { region: 'GB' });
});

t.test('calls --verdict --number --offset, quarantine list --offset, dashboard', async (t) => {
  const cli = await cliWithOrg(t);
  const calls = await cli.run('calls', '--org', 'acme', '--verdict', 'reject', '--number', '555', '--offset', '10');
  t.equal(calls.code, 0, calls.err);
  t.match(calls.out, 'no screened calls for acme');
  const badVerdict = await cli.run('calls', '--org', 'acme', '--verdict', 'maybe');
  t.equal(badVerdict.code, 64);
  const q = await cli.run('quarantine', 'list', '--org', 'acme', '--offset', '100');
  t.equal(q.code, 0, q.err);
  const d = await cli.run('dashboard', '--org', 'acme', '--days', '7', '--json');
  t.equal(d.code, 0, d.err);
  t.equal((JSON.parse(d.out) as { days: unknown[] }).days.length, 7);
});

t.test('user role: a role per organisation', async (t) => {
  const cli = await cliWithOrg(t);
  t.equal((await cli.run('org', 'add', 'beta', '--name', 'Beta', '--region', 'US')).code, 0);
  t.equal((await cli.run('user', 'add', 'pat', '--role', 'admin', '--org', 'acme', 'beta')).code, 0);
  const r = await cli.run('user', 'role', 'pat', '--org', 'beta', '--role', 'agent');
  t.equal(r.code, 0, r.err);
  t.match(r.out, '✓ pat is agent in beta (acme: admin, beta: agent)');
  const list = await cli.run('user', 'list');
  t.match(list.out, /pat\tadmin\tacme,beta:agent/);
  t.equal((await cli.run('user', 'role', 'pat', '--org', 'beta', '--role', 'boss')).code, 64);
  t.equal((await cli.run('user', 'role', 'nobody', '--org', 'beta', '--role', 'agent')).code, 66);
});

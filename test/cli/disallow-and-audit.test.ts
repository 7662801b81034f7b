// `callscreen disallow` (the service's existing disallow) and `callscreen audit` with the API's
// filters (actor, action, target, since, until, limit, offset), on a real SQLite file.
import t from 'tap';
import { cliWithOrg } from './cli-runner.js';

t.test('disallow removes an allow entry: the block under it applies again', async (t) => {
  const c = await cliWithOrg(t);
  t.equal((await c.run('block', '--prefix', '+1555', '--org', 'acme', '--mode', 'reject')).code, 0);
  t.equal((await c.run('allow', '5551234567', '--org', 'acme')).code, 0);
  t.equal((await c.run('allow', '--prefix', '+1555777', '--org', 'acme')).code, 0);
  const verdict = async (n: string): Promise<string> =>
    (JSON.parse((await c.run('check', n, '--org', 'acme', '--json')).out) as { action: string }).action;
  t.equal(await verdict('5551234567'), 'allow');
  const r = await c.run(
    'disallow',
    '(555) 123-4567',
    '--org',
    'acme',
    '--reason',
    'no longer a customer',
    '--by',
    'sam',
  );
  t.equal(r.code, 0, r.err);
  t.match(r.out, /^removed the allow entry for \+15551234567 in acme \(allowed by tester on /);
  t.equal(await verdict('5551234567'), 'reject', 'the prefix block applies again');
  t.equal((await c.run('disallow', '--prefix', '+1555777', '--org', 'acme', '--json')).code, 0);
  t.equal(await verdict('5557770000'), 'reject');
  const again = await c.run('disallow', '5551234567', '--org', 'acme');
  t.equal(again.code, 66, 'nothing left to remove');
  t.match(again.err, /^callscreen: CS_ERR_ENTRY_NOT_FOUND: /);
  const both = await c.run('disallow', '5551234567', '--prefix', '+1', '--org', 'acme');
  t.equal(both.code, 64);
  t.match(both.err, /give exactly one target: NUMBER, --prefix DIGITS or --pattern PATTERN/);
  t.equal(await c.scalar("SELECT count(*) AS v FROM entries WHERE list = 'allow' AND removed_at IS NULL"), 0);
  t.equal(
    await c.scalar("SELECT count(*) AS v FROM entries WHERE list = 'allow' AND removed_by = 'sam'"),
    1,
    'history kept: who removed it',
  );
});

t.test('audit filters match the API: actor, action, target, since/until, paging', async (t) => {
  const c = await cliWithOrg(t);
  t.equal((await c.run('block', '5551230001', '--org', 'acme', '--by', 'ann')).code, 0);
  t.equal((await c.run('block', '5551230002', '--org', 'acme', '--by', 'bob')).code, 0);
  t.equal((await c.run('unblock', '5551230001', '--org', 'acme', '--by', 'bob')).code, 0);
  // Four events: the org's creation (by tester) and the three above.
  t.equal(await c.scalar('SELECT count(*) AS v FROM audit_log WHERE org_id IS NOT NULL'), 4);
  const json = async (
    ...args: string[]
  ): Promise<{ total: number; events: Array<{ actor: string; action: string; target: string }> }> => {
    const r = await c.run('audit', '--org', 'acme', '--json', ...args);
    if (r.code !== 0) throw new Error(r.err);
    return JSON.parse(r.out) as never;
  };
  t.match(await json('--actor', 'bob'), {
    total: 2,
    events: [{ action: 'unblock' }, { action: 'block', target: '+15551230002' }],
  });
  t.match(await json('--action', 'block'), { total: 2 });
  t.match(await json('--target', '1230001'), { total: 2 });
  t.match(await json('--actor', 'bob', '--action', 'block'), { total: 1, events: [{ target: '+15551230002' }] });
  t.equal((await json('--since', '1d')).total, 4, 'a day ago covers all');
  t.equal((await json('--until', '2000-01-01')).total, 0, 'nothing before 2000');
  t.equal((await json('--since', '2000-01-01T00:00Z', '--until', '1w')).total, 0, 'until a week ago: none yet');
  const page = await json('--limit', '1', '--offset', '1');
  t.match(page, { total: 4, events: [{ actor: 'bob', action: 'block' }] }, 'the second newest');
  const text = await c.run('audit', '--org', 'acme', '--limit', '2');
  t.match(text.out, /\(1–2 of 4; next page: --offset 2\)/);
  const none = await c.run('audit', '--org', 'acme', '--actor', 'nobody');
  t.equal(none.out, 'no audit events for acme match these filters\n');
  const bad = await c.run('audit', '--org', 'acme', '--since', 'yesterday');
  t.equal(bad.code, 64);
  t.match(bad.err, /CS_ERR_USAGE: --since "yesterday" is not a time: use an ISO-8601 date/);
  const order = await c.run('audit', '--org', 'acme', '--since', '2026-12-02', '--until', '2026-12-01');
  t.equal(order.code, 64);
  t.match(order.err, /--since .* is not before --until/);
  t.equal((await c.run('audit', '--org', 'acme', '--offset', '-1')).code, 64);
});

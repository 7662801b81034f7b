/** `callscreen stale report | clean` (issue #16): the report, the dry run, the audited clean-up. */
import t from 'tap';
import { Database } from '../../daemon/store/database.js';
import { cliWithOrg } from './cli-runner.js';

t.test('stale report lists why; clean needs --dry-run or --yes and is audited', async (t) => {
  const cli = await cliWithOrg(t);
  for (const argv of [
    ['block', '--prefix', '+1900'],
    ['block', '+19005550001'],
    ['block', '+15551112222', '--expires', '1d'],
    ['block', '+15553334444'],
  ]) {
    const r = await cli.run(...argv, '--org', 'acme');
    t.equal(r.code, 0, r.err);
  }
  const db = await Database.open(cli.db);
  await db.run("UPDATE entries SET expires_at = ? WHERE value = '+15551112222'", [Date.now() - 1000]);
  await db.run("UPDATE entries SET created_at = ? WHERE value = '+15553334444'", [Date.now() - 200 * 86_400_000]);
  await db.close();

  const report = await cli.run('stale', 'report', '--org', 'acme');
  t.equal(report.code, 0, report.err);
  t.match(report.out, /stale entries in acme: 1 expired, 1 unused \(no hit in 90 days\), 1 shadowed/);
  t.match(
    report.out,
    /shadowed\s+\+19005550001\s+reject\s+0\s+without it, prefix entry 1 \(\+1900\) gives the same answer/,
  );
  t.match(report.out, /expired\s+\+15551112222/);
  t.match(report.out, /unused\s+\+15553334444\s+reject\s+0\s+no hit since it was added on/);
  const json: unknown = JSON.parse(
    (await cli.run('stale', 'report', '--org', 'acme', '--only', 'shadowed', '--json')).out,
  );
  t.match(json, {
    org: 'acme',
    counts: { expired: 0, unused: 0, shadowed: 1 },
    entries: [{ value: '+19005550001', shadowedBy: { value: '+1900' } }],
  });
  const badOnly = await cli.run('stale', 'report', '--org', 'acme', '--only', 'old');
  t.equal(badOnly.code, 64);
  t.match(badOnly.err, /--only "old" is not one of expired, unused, shadowed/);

  const neither = await cli.run('stale', 'clean', '--org', 'acme');
  t.equal(neither.code, 64, 'clean without --dry-run or --yes is refused');
  t.match(neither.err, /--dry-run .* or --yes/);
  const dry = await cli.run('stale', 'clean', '--org', 'acme', '--dry-run');
  t.equal(dry.code, 0, dry.err);
  t.match(dry.out, /would remove 3 entries from acme: 1 expired, 1 unused, 1 shadowed \(dry run: nothing removed\)/);
  t.equal(await cli.scalar('SELECT count(*) AS v FROM entries WHERE removed_at IS NULL'), 4);

  const done = await cli.run(
    'stale',
    'clean',
    '--org',
    'acme',
    '--only',
    'expired,shadowed',
    '--yes',
    '--reason',
    'tidy',
    '--by',
    'carol',
  );
  t.equal(done.code, 0, done.err);
  t.match(done.out, /removed 2 entries from acme: 1 expired, 0 unused, 1 shadowed/);
  t.equal(await cli.scalar('SELECT count(*) AS v FROM entries WHERE removed_at IS NULL'), 2);
  t.equal(
    await cli.scalar(
      "SELECT count(*) AS v FROM audit_log WHERE actor = 'carol' AND action = 'unblock' AND reason = 'tidy'",
    ),
    2,
  );
  t.equal(
    await cli.scalar("SELECT count(*) AS v FROM audit_log WHERE actor = 'carol' AND action = 'stale.cleanup'"),
    1,
  );
});

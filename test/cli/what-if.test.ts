/**
 * `callscreen block|allow … --what-if` (issue #16): the figures printed, nothing saved; a broad
 * block refused without --yes (exit 65, the figures on stderr), saved with it.
 */
import t from 'tap';
import { Database } from '../../daemon/store/database.js';
import { recordCalls } from '../support/call-records.js';
import { cliWithOrg } from './cli-runner.js';

t.test('block --what-if prints the figures and saves nothing; a broad block needs --yes', async (t) => {
  const cli = await cliWithOrg(t);
  t.equal((await cli.run('contact', 'add', '+15551110003', '--org', 'acme', '--name', 'Friend')).code, 0);
  const db = await Database.open(cli.db);
  const now = Date.now();
  await recordCalls(db, 1, now, '+15551110001', 3);
  await recordCalls(db, 1, now, '+15551110003', 2);
  await recordCalls(db, 1, now, '+15551110001', 1, { direction: 'outbound' });
  await db.close();

  const narrow = await cli.run('block', '555-111-0001', '--org', 'acme', '--what-if');
  t.equal(narrow.code, 0, narrow.err);
  t.match(narrow.out, /what-if for block exact \+15551110001 \(reject\), new in acme, last 30 days \(not saved\)/);
  t.match(narrow.out, /changed\s+4 records \(3 inbound calls, 0 inbound SMS, 1 agents' own\) from 1 numbers/);
  t.match(narrow.out, /broad: agents called 1 of them back/);
  t.equal(await cli.scalar('SELECT count(*) AS v FROM entries'), 0, '--what-if saves nothing');

  const json = await cli.run('block', '--prefix', '+1555111', '--org', 'acme', '--what-if', '--json', '--days', '7');
  t.equal(json.code, 0, json.err);
  t.match(JSON.parse(json.out), {
    days: 7,
    rule: { kind: 'prefix', value: '+1555111' },
    changed: { numbers: 2, contacts: 1, calledBack: 1 },
    broad: true,
  });

  const refused = await cli.run('block', '--prefix', '+1555111', '--org', 'acme');
  t.equal(refused.code, 65);
  t.match(refused.err, /changed\s+6 records/);
  t.match(
    refused.err,
    /callscreen: CS_ERR_CONFIRM_REQUIRED: not saved: this block entry is broad — 1 of them is a contact; agents called 1 of them back .*--yes/,
  );
  t.equal(await cli.scalar('SELECT count(*) AS v FROM entries'), 0, 'refused: nothing saved');

  const saved = await cli.run('block', '--prefix', '+1555111', '--org', 'acme', '--yes');
  t.equal(saved.code, 0, saved.err);
  t.match(saved.out, /blocked prefix \+1555111 in acme/);

  const quiet = await cli.run('block', '+15559990000', '--org', 'acme');
  t.equal(quiet.code, 0, 'a narrow block with no recorded calls is saved without a word about it');
  t.equal(quiet.err, '');

  const allow = await cli.run('allow', '+15551110001', '--org', 'acme', '--what-if');
  t.equal(allow.code, 0, allow.err);
  t.match(allow.out, /verdicts\s+reject→allow 3, warn→allow 1/);
  const bad = await cli.run('block', '+15551110001', '--org', 'acme', '--what-if', '--days', '0');
  t.equal(bad.code, 64);
  t.match(bad.err, /--days "0" is not a positive whole number/);
});

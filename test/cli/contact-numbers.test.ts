// `callscreen contact number add|remove` on a real SQLite file: a blocked contact's block follows
// its numbers (check says so), a number not on the contact is refused naming it, nothing written.
import t from 'tap';
import { cliWithOrg } from './cli-runner.js';

t.test('numbers added to and removed from an existing contact; its block follows', async (t) => {
  const c = await cliWithOrg(t);
  const add = await c.run('contact', 'add', '5551110001', '--org', 'acme', '--name', 'Pest Control Co');
  t.equal(add.code, 0, add.err);
  const id = add.out.trim();
  t.equal((await c.run('block', '--contact', id, '--org', 'acme', '--mode', 'reject')).code, 0);
  const verdict = async (n: string): Promise<string> =>
    (JSON.parse((await c.run('check', n, '--org', 'acme', '--json')).out) as { action: string }).action;
  t.equal(await verdict('5551110002'), 'allow', 'not on the contact yet');

  const more = await c.run(
    'contact',
    'number',
    'add',
    id,
    '(555) 111-0002',
    '+1 555 111 0003',
    '--org',
    'acme',
    '--json',
  );
  t.equal(more.code, 0, more.err);
  t.match(JSON.parse(more.out), { id: Number(id), numbers: ['+15551110001', '+15551110002', '+15551110003'] });
  t.equal(await verdict('5551110002'), 'reject', 'an added number is blocked at once');

  const less = await c.run(
    'contact',
    'number',
    'remove',
    id,
    '555-111-0001',
    '--org',
    'acme',
    '--reason',
    'moved office',
  );
  t.equal(less.code, 0, less.err);
  t.equal(less.out, `contact ${id} Pest Control Co: +15551110002 +15551110003\n`);
  t.equal(await verdict('5551110001'), 'allow', 'a removed number is no longer blocked');
  const audit = JSON.parse(
    (await c.run('audit', '--org', 'acme', '--action', 'contact.number.remove', '--json')).out,
  ) as { total: number; events: Array<{ reason: string }> };
  t.match(audit, { total: 1, events: [{ reason: 'moved office' }] });

  const before = await c.scalar('SELECT count(*) AS v FROM contact_numbers');
  const notOn = await c.run('contact', 'number', 'remove', id, '5551110002', '5559990000', '--org', 'acme');
  t.equal(notOn.code, 65);
  t.match(
    notOn.err,
    /^callscreen: CS_ERR_INVALID_VALUE: \+15559990000 is not a number of contact \d+; nothing was removed/,
  );
  const badId = await c.run('contact', 'number', 'add', 'x1', '5551110009', '--org', 'acme');
  t.equal(badId.code, 64);
  t.match(badId.err, /contact id "x1" is not a positive whole number/);
  const noContact = await c.run('contact', 'number', 'add', '999', '5551110009', '--org', 'acme');
  t.equal(noContact.code, 66);
  t.match(noContact.err, /CS_ERR_CONTACT_NOT_FOUND/);
  const badNumber = await c.run('contact', 'number', 'add', id, 'not a number', '--org', 'acme');
  t.equal(badNumber.code, 65);
  t.equal(
    await c.scalar('SELECT count(*) AS v FROM contact_numbers'),
    before,
    'nothing written by the refused commands',
  );
});

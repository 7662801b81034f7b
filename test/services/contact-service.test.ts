// ContactService: what it says about a contact's block is what screening does with it.
import t from 'tap';
import { cliActor, services } from '../support/harness.js';

t.test('a contact whose block has expired is not "blocked" (calls get through, the page must say so)', async (t) => {
  const s = await services(t);
  await s.orgs.add('demo', 'Demo', 'US', cliActor);
  const c = await s.contacts.add('demo', 'Old supplier', ['+15550001111'], cliActor);
  await s.blocklist.block('demo', { kind: 'contact', contactId: c.id }, { mode: 'reject', expires: '1h' }, cliActor);
  const org = await s.orgs.require('demo');
  t.equal((await s.contacts.require(org.id, c.id)).blocked, true, 'blocked while the block is in force');
  s.clock.advance(2 * 3600_000);
  t.equal((await s.contacts.require(org.id, c.id)).blocked, false, 'not blocked once it has expired');
  t.equal(await s.contacts.activeBlock(org.id, c.id), undefined, 'and no active block, as screening sees it');
});

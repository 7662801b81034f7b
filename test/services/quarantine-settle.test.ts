/**
 * Release all / Delete all settle every held message of a sender, not the first 1,000 (issue #17:
 * bulk actions stopped at 1,000): pages of 1,000 until none is left; a failed release stops with the
 * rest still held.
 */
import t from 'tap';
import { cliActor } from '../support/harness.js';
import { startPanel } from '../support/panel.js';

t.test('settleAll goes beyond 1,000 messages; a failed release leaves the rest held', async (t) => {
  const { ctx, ids, deliverer } = await startPanel(t);
  const acme = await ctx.orgs.require('acme');
  const hold = async (n: number, from: string) => {
    await ctx.db.transaction(async () => {
      for (let i = 0; i < n; i++) {
        await ctx.db.run(
          "INSERT INTO quarantine (org_id, received_at, from_raw, from_number, to_number, body, deliver_to, contact_id, adapter) VALUES (?, ?, ?, ?, '+12125550100', ?, 'pjsip:agent101', ?, 'test')",
          [acme.id, 1_000_000 + i, from, from, `message ${i}`, ids.contact],
        );
      }
    });
  };
  await hold(1_250, '+15550001111');
  const before = (await ctx.quarantine.list(acme.id, { contactId: ids.contact })).total;
  t.equal(before, 1_252, "the fixture's two and 1,250 more");
  t.equal(
    await ctx.quarantine.settleAll(acme.id, { contactId: ids.contact }, 'delete', cliActor),
    1_252,
    'every one deleted',
  );
  t.equal((await ctx.quarantine.list(acme.id, { status: 'all' })).total, 0);

  await hold(1_100, '+15550001111');
  if (!deliverer) throw new Error('the panel fixture has a fake deliverer');
  t.equal(
    await ctx.quarantine.settleAll(acme.id, { contactId: ids.contact }, 'release', cliActor),
    1_100,
    'every one released',
  );
  t.equal(deliverer.delivered.length, 1_100);

  await hold(5, '+15550001111');
  deliverer.down = true;
  await t.rejects(ctx.quarantine.settleAll(acme.id, { contactId: ids.contact }, 'release', cliActor), {
    code: 'CS_ERR_UNAVAILABLE',
  });
  t.equal(
    (await ctx.quarantine.list(acme.id, { contactId: ids.contact })).total,
    5,
    'a failed release leaves them held',
  );
});

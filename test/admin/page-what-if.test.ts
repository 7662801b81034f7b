/**
 * The what-if on the panel's Block and Allow forms (issue #16): "Preview what it would have done"
 * shows the figures and saves nothing; a broad block re-renders the form with the figures and a
 * "Save anyway" button (409), which saves it; Recent calls' one-click block goes through the same step.
 */
import t from 'tap';
import { recordCalls } from '../support/call-records.js';
import { postForm as post, signIn, startPanel } from '../support/panel.js';

t.test('Block form: preview, confirm step, save anyway', async (t) => {
  const { app, ctx, clock } = await startPanel(t);
  const [alice, sam] = [await signIn(app, 'alice'), await signIn(app, 'sam')];
  const acme = await ctx.orgs.require('acme');
  const now = clock.now();
  await recordCalls(ctx.db, acme.id, now, '+15553330001', 3);
  await recordCalls(ctx.db, acme.id, now, '+15553330001', 1, { direction: 'outbound' });
  await recordCalls(ctx.db, acme.id, now, '+15553330002', 2);
  const count = async () =>
    (await ctx.db.get<{ c: number }>('SELECT count(*) AS c FROM entries WHERE removed_at IS NULL'))?.c;
  const before = await count();

  const form = await app.inject({ method: 'GET', url: '/block?org=acme', headers: { cookie: sam.cookie } });
  t.match(
    form.body,
    '<button type="submit" name="whatIf" value="1" class="secondary">Preview what it would have done</button>',
  );

  const preview = await post(app, sam, '/block', {
    kind: 'prefix',
    prefix: '+1555333',
    mode: 'voicemail',
    reason: 'survey',
    whatIf: '1',
  });
  t.equal(preview.statusCode, 200, preview.body);
  t.match(preview.body, /What it would have done <span class="hint">— last 30 days, nothing saved/);
  t.match(
    preview.body,
    /<strong>6 calls and messages<\/strong> of 6 would have been handled differently \(5 inbound calls, 0 inbound SMS, 1 agents' own\)/,
  );
  t.match(preview.body, /<strong>2 numbers<\/strong> affected; agents called 1 of them back; 0 are contacts/);
  t.match(preview.body, /5 records: let through → <strong>sent to voicemail<\/strong>/);
  t.match(preview.body, /<td data-label="Number">\+15553330001<\/td><td data-label="Records">4<\/td>/);
  t.match(preview.body, /<strong>Broad:<\/strong> agents called 1 of them back/);
  t.match(preview.body, /id="prefix" name="prefix" value="\+1555333"/, 'what was typed stays in the form');
  t.notMatch(preview.body, 'name="confirm"', 'a preview has no Save anyway');
  t.equal(await count(), before, 'a preview saves nothing');

  const refused = await post(app, sam, '/block', {
    kind: 'prefix',
    prefix: '+1555333',
    mode: 'voicemail',
    reason: 'survey',
  });
  t.equal(refused.statusCode, 409);
  t.match(refused.body, /role="alert"><strong>Not saved:<\/strong> not saved: this block entry is broad/);
  t.match(refused.body, /This entry is broad: confirm it/);
  t.match(refused.body, '<button type="submit" name="confirm" value="yes" class="danger">Save anyway</button>');
  t.equal(await count(), before, 'refused: nothing saved');
  const saved = await post(app, sam, '/block', {
    kind: 'prefix',
    prefix: '+1555333',
    mode: 'voicemail',
    reason: 'survey',
    confirm: 'yes',
  });
  t.equal(saved.statusCode, 303, saved.body);
  t.equal(await count(), (before ?? 0) + 1);

  // Recent calls' one-click block: a number agents called back is confirmed on the Block form.
  const oneClick = await post(app, alice, '/calls/block', { number: '+15553330001' });
  t.equal(oneClick.statusCode, 409);
  t.match(oneClick.body, '<h1>Block</h1>');
  t.match(oneClick.body, /id="number" name="number" value="\+15553330001"/);
  t.match(oneClick.body, 'Save anyway');
  const confirmed = await post(app, alice, '/block', {
    kind: 'number',
    number: '+15553330001',
    reason: 'blocked from recent calls',
    confirm: 'yes',
  });
  t.equal(confirmed.statusCode, 303);

  // The allow form: a preview of what an allow entry would let through (once the daemon has the new block).
  await ctx.feed.poll();
  const allow = await post(app, alice, '/allowed', { kind: 'number', number: '+15553330002', whatIf: '1' });
  t.equal(allow.statusCode, 200, allow.body);
  t.match(allow.body, /2 records: sent to voicemail → <strong>let through<\/strong>/);
});

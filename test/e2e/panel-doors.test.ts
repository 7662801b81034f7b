/**
 * Issue #17's panel flows in the real Chromium (Debian's, driven by playwright-core), against a
 * daemon with the admin server on an ephemeral port (test/support/panel.ts): edit an entry in place,
 * bulk unblock with confirmation (ticked rows, and every entry matching a search beyond 1,000),
 * import with a dry-run preview and per-row errors (pasted and from a file), export, times in the
 * viewer's zone with UTC on hover, quarantine paging, recent calls filtered with one-click block,
 * users, the organisation's DIDs and region, a contact's numbers, the dashboard's chart.
 *
 * Every page is screenshotted at 1280 px and 390 px into artifacts/panel/ (looked at, not compared)
 * and checked with axe-core (injected into the page): no serious or critical violations.
 */
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import { startPanel } from '../support/panel.js';
import {
  axeProblems,
  CHROMIUM,
  DESKTOP,
  launchChromium,
  PHONE,
  SHOTS,
  sidewaysPx,
  signInAs,
  watchPageErrors,
} from '../support/panel-browser.js';
import { cliActor } from '../support/harness.js';

t.test(
  'issue #17 panel flows in chromium',
  { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} missing: run scripts/install-browser.sh` },
  async (t) => {
    mkdirSync(SHOTS, { recursive: true });
    t.comment(`screenshots in ${SHOTS}`);
    const panel = await startPanel(t);
    const { baseUrl, ctx, ids } = panel;
    const acme = await ctx.orgs.require('acme');
    const browser = await launchChromium(t);
    const admin = await (await browser.newContext({ ...DESKTOP, acceptDownloads: true })).newPage();
    const phone = await (await browser.newContext(PHONE)).newPage();
    const pageErrors = watchPageErrors([admin, phone]);
    await signInAs(admin, baseUrl, 'alice');
    await signInAs(phone, baseUrl, 'alice');

    /** Screenshots of `path` at both widths, axe on both, and no sideways scrolling on the phone. */
    const review = async (t: Test, name: string, path: string) => {
      for (const [label, p] of [
        ['desktop', admin],
        ['phone', phone],
      ] as const) {
        if (p === phone || !admin.url().endsWith(path)) await p.goto(`${baseUrl}${path}`);
        await p.screenshot({ path: join(SHOTS, `${name}-${label}.png`), fullPage: true });
        t.same(await axeProblems(p), [], `${name} (${label}): no serious or critical axe violations`);
        if (p === phone) {
          const overflow = await sidewaysPx(p);
          t.ok(overflow <= 0, `${name} (phone): no sideways scrolling (${overflow}px)`);
        }
      }
    };

    await t.test("times in the viewer's zone, UTC on hover", async (t) => {
      await admin.goto(`${baseUrl}/blocked?org=acme`);
      const time = admin.locator('tbody tr').last().locator('td[data-label="Blocked On"] time');
      // The fixture's clock: 2026-11-01 09:00 UTC = 04:00 in New York (EST after 1 November).
      t.equal(await time.textContent(), '2026-11-01 04:00 EST', "shown in the viewer's zone");
      t.equal(await time.getAttribute('title'), '2026-11-01 09:00 UTC', 'UTC on hover');
      t.equal(await time.getAttribute('datetime'), '2026-11-01T09:00:00.000Z');
      const hidden = await admin.evaluate<number>(
        "(() => { const w = document.querySelector('.table-wrap'); return w.scrollWidth - w.clientWidth; })()",
      );
      t.ok(hidden <= 0, `the Blocked callers table fits 1280 px, Edit and Unblock in view (${hidden}px hidden)`);
    });

    await t.test(
      'edit an entry in place; a supervisor weakening it is refused at the form, with what was typed kept',
      async (t) => {
        await admin.goto(`${baseUrl}/blocked?org=acme`);
        await admin.getByRole('link', { name: 'Edit +15551234567' }).click();
        await admin.waitForURL(/\/blocked\/\d+\/edit/);
        t.equal(await admin.getByLabel('Name').inputValue(), 'Spam Co');
        await review(t, 'edit', `/blocked/${ids.spam}/edit?org=acme`);
        await admin.getByLabel('Name').fill('Spam Company');
        await admin.getByLabel('Reason').fill('robocalls, ticket 9');
        await admin.getByLabel('Expires').fill('30d');
        await admin.getByLabel('Note').fill('renamed');
        await admin.getByRole('button', { name: 'Save changes' }).click();
        await admin.waitForURL(/notice=edited/);
        t.match(await admin.getByRole('status').textContent(), 'Saved the changes to +15551234567.');
        const e = await ctx.blocklist.getEntry(acme.id, ids.spam);
        t.match(
          e,
          { id: ids.spam, name: 'Spam Company', reason: 'robocalls, ticket 9', mode: 'reject' },
          'same entry, changed in place',
        );
        t.ok(e?.expiresAt, 'an expiry was set');

        const sup = await (await browser.newContext(DESKTOP)).newPage();
        await signInAs(sup, baseUrl, 'sam');
        await sup.goto(`${baseUrl}/blocked/${ids.spam}/edit?org=acme`);
        await sup.getByLabel(/Block and allow voicemails/).check();
        await sup.getByLabel('Reason').fill('typed by sam');
        await sup.getByRole('button', { name: 'Save changes' }).click();
        t.match(await sup.getByRole('alert').textContent(), /weaken entry .*only admins do/);
        t.equal(await sup.getByLabel('Reason').inputValue(), 'typed by sam', 'what was typed stays');
        t.equal(await sup.getByLabel(/Block and allow voicemails/).isChecked(), true);
        await sup.screenshot({ path: join(SHOTS, 'edit-refused-desktop.png'), fullPage: true });
        t.same(await axeProblems(sup), [], 'refused edit: no serious axe violations');
        t.equal((await ctx.blocklist.getEntry(acme.id, ids.spam))?.mode, 'reject', 'nothing changed');
        await sup.context().close();
      },
    );

    await t.test('bulk unblock: tick rows, confirm; then every entry matching a search, beyond 1,000', async (t) => {
      await admin.goto(`${baseUrl}/blocked?org=acme`);
      await review(t, 'blocked', '/blocked?org=acme');
      await admin.getByRole('checkbox', { name: 'Select +15551234567' }).check();
      await admin.getByRole('checkbox', { name: 'Select +15559876543' }).check();
      t.equal(await admin.locator('[data-selected-count]').textContent(), '2', 'the button counts the ticked rows');
      await admin.getByRole('button', { name: /Unblock selected/ }).click();
      await admin.waitForURL(/\/blocked\/bulk/);
      const confirm = await admin.locator('main').textContent();
      t.match(confirm, 'Unblock 2 entries in Acme Dental?');
      t.match(confirm, '+15551234567 — Spam Company');
      t.match(confirm, '+15559876543 — Car warranty');
      t.equal(
        (await ctx.blocklist.list('acme', { list: 'block' })).total,
        3,
        'nothing changes before the confirmation',
      );
      await review(t, 'bulk-confirm', '/blocked/bulk');
      await admin.getByLabel(/^Note/).fill('ticket 50');
      await admin.getByRole('button', { name: 'Confirm: unblock 2' }).click();
      await admin.waitForURL(/notice=bulk-unblocked/);
      t.match(await admin.getByRole('status').textContent(), 'Unblocked 2 entries.');
      t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 1, 'the contact block is left');

      const rows = [
        'number,reason',
        ...Array.from({ length: 1200 }, (_, i) => `+1555777${String(i).padStart(4, '0')},bulk test`),
      ].join('\n');
      await ctx.importer.importText(rows, 'acme', { ...cliActor, source: 'import' });
      await admin.getByLabel(/^Search/).fill('555 777');
      await admin.getByLabel(/^Search/).press('Enter');
      await admin.waitForURL(/search=/);
      t.match(await admin.locator('main').textContent(), '1200 blocked entries matching “555 777”');
      await admin.getByLabel(/Every one of the 1200 entries/).check();
      await admin.getByRole('button', { name: /Unblock selected/ }).click();
      t.match(await admin.locator('main').textContent(), /Unblock 1200 entries.*and 1150 more/s);
      await admin.getByRole('button', { name: 'Confirm: unblock 1200' }).click();
      await admin.waitForURL(/notice=bulk-unblocked/);
      t.match(await admin.getByRole('status').textContent(), 'Unblocked 1200 entries.');
      t.equal((await ctx.blocklist.list('acme', { list: 'block' })).total, 1);
    });

    await t.test(
      'import: per-row errors, a dry-run preview, then the import; a file is read into the box; export downloads',
      async (t) => {
        await admin.goto(`${baseUrl}/blocked?org=acme`);
        await admin.getByRole('link', { name: 'Import / export' }).click();
        await admin
          .getByLabel('CSV text')
          .fill(
            'number;mode;name\n+1 555 300 0001;reject;One\nnot a number;reject;Two\n555-300-0003;sometimes;Three\n',
          );
        await admin.getByRole('button', { name: 'Preview import' }).click();
        t.match(await admin.getByRole('heading', { name: /Not imported/ }).textContent(), 'Not imported: 2 bad rows');
        t.match(
          await admin.locator('section.error tbody').textContent(),
          /3.*not a number.*4.*sometimes/s,
          'each bad row with its line',
        );
        t.match(await admin.getByLabel('CSV text').inputValue(), /not a number/, 'the text stays to be fixed');
        await admin.screenshot({ path: join(SHOTS, 'import-errors-desktop.png'), fullPage: true });
        t.same(await axeProblems(admin), [], 'import errors: no serious axe violations');

        const file = join(SHOTS, 'upload.csv');
        writeFileSync(
          file,
          'number,mode,name\r\n+1 555 300 0001,reject,One\r\n555-300-0002,voicemail,Two\r\n="+15553000003",reject,Excel\r\n',
        );
        await admin.getByLabel('CSV file').setInputFiles(file);
        await admin.waitForFunction("document.getElementById('csv').value.includes('Excel')");
        await admin.getByRole('button', { name: 'Preview import' }).click();
        t.match(await admin.getByRole('status').textContent(), /3 rows checked: 3 new, 0 updating/);
        t.equal(
          await admin.locator('section[aria-labelledby="preview-h"] tbody tr').count(),
          3,
          'the rows as they will be written',
        );
        t.equal(
          (await ctx.blocklist.list('acme', { list: 'block', search: '555300' })).total,
          0,
          'a preview writes nothing',
        );
        await admin.screenshot({ path: join(SHOTS, 'import-preview-desktop.png'), fullPage: true });
        t.same(await axeProblems(admin), [], 'import preview: no serious axe violations');
        await admin.getByRole('button', { name: 'Import 3 rows' }).click();
        await admin.waitForURL(/notice=imported/);
        t.match(await admin.getByRole('status').textContent(), 'Imported 3 rows.');
        t.equal((await ctx.blocklist.list('acme', { list: 'block', search: '555300' })).total, 3);
        await review(t, 'import', '/import?org=acme');

        const [download] = await Promise.all([
          admin.waitForEvent('download'),
          admin.getByRole('link', { name: 'Download CSV' }).click(),
        ]);
        t.equal(download.suggestedFilename(), 'acme-blocklist.csv');
        const saved = join(SHOTS, 'export.csv');
        await download.saveAs(saved);
        t.match(readFileSync(saved, 'utf8'), /\+15553000003/);
      },
    );

    await t.test('quarantine is paged beyond 50; Release all settles every page', async (t) => {
      for (let i = 0; i < 60; i++) {
        await ctx.quarantine.hold({
          orgId: acme.id,
          fromRaw: '+15550002222',
          to: '+12125550100',
          body: `held ${i}`,
          deliverTo: 'pjsip:agent101',
          adapter: 'test',
          verdict: {
            action: 'quarantine',
            normalized: '+15550002222',
            reason: 'contact blocked',
            rule: { id: ids.contactEntry, kind: 'contact', value: String(ids.contact) },
          },
        });
      }
      await admin.goto(`${baseUrl}/quarantine?org=acme`);
      t.match(await admin.locator('main').textContent(), '62 held messages');
      t.match(await admin.getByRole('navigation', { name: 'Pages' }).textContent(), 'Page 1 of 2');
      await admin.getByRole('link', { name: 'Next →' }).click();
      await admin.waitForURL(/page=2/);
      t.equal(await admin.locator('tbody tr').count(), 12, 'the second page holds the rest');
      await review(t, 'quarantine', '/quarantine?org=acme&page=2');
      await admin.getByRole('button', { name: 'Release all' }).click();
      await admin.waitForURL(/notice=settled-released/);
      t.match(await admin.getByRole('status').textContent(), 'Released 62 messages.');
    });

    await t.test(
      'recent calls: filter by verdict and number, one-click block; the dashboard keeps its chart',
      async (t) => {
        for (const from of ['+15556660000', '+15556660001', '+15550001111']) {
          const req = { org: 'acme', channel: 'call', direction: 'inbound', from, to: '+12125550100' } as const;
          ctx.screener.recordVerdict(req, acme.id, await ctx.screener.screen(req), 'test', 80);
        }
        await ctx.recorder.flush();
        await admin.goto(`${baseUrl}/calls?org=acme`);
        t.equal(await admin.locator('tbody tr').count(), 3);
        await admin.getByLabel('Verdict').selectOption('allow');
        await admin.getByLabel(/^Number/).fill('666 0001');
        await admin.getByRole('button', { name: 'Filter' }).click();
        await admin.waitForURL(/verdict=allow/);
        t.equal(await admin.locator('tbody tr').count(), 1, 'one call matches both filters');
        await review(t, 'calls', '/calls?org=acme&verdict=allow&number=666+0001');
        await admin.getByRole('button', { name: 'Block this caller, +15556660001' }).click();
        await admin.waitForURL(/notice=blocked/);
        t.match(await admin.getByRole('status').textContent(), 'Blocked +15556660001.');
        await admin.goto(`${baseUrl}/dashboard?org=acme`);
        t.equal(await admin.locator('svg.bars rect').count(), 28, 'the chart: 14 days × calls and messages');
        await review(t, 'dashboard', '/dashboard?org=acme');
      },
    );

    await t.test(
      "users: add one (password shown once), disable them; other orgs' users are listed, not changed",
      async (t) => {
        await admin.goto(`${baseUrl}/users?org=acme`);
        await admin.getByLabel(/^User name/).fill('nora');
        await admin.getByLabel('Role', { exact: true }).selectOption('supervisor');
        await admin.getByRole('button', { name: 'Add user' }).click();
        t.match(await admin.locator('.notice').textContent(), 'Added supervisor nora.');
        t.ok(((await admin.locator('code.secret').textContent()) ?? '').length >= 10, 'the generated password, once');
        await admin.getByRole('button', { name: 'Disable nora' }).click();
        await admin.waitForURL(/notice=user-disabled/);
        t.equal((await panel.server.users.require('nora')).disabled, true);
        await admin.getByLabel(/^User name/).fill('bad name!');
        await admin.getByRole('button', { name: 'Add user' }).click();
        t.match(await admin.locator('#uname-error').textContent(), /letters, digits/);
        t.equal(await admin.getByLabel(/^User name/).inputValue(), 'bad name!', 'what was typed stays');
        await admin.getByLabel('Role of sam in Acme Dental').selectOption('agent');
        await admin.getByRole('button', { name: 'Change role of sam' }).click();
        await admin.waitForURL(/notice=user-role/);
        const sam = await panel.server.users.require('sam');
        t.same(sam.roles, { acme: 'agent' }, 'sam is now an agent in acme');
        await review(t, 'users', '/users?org=acme');
      },
    );

    await t.test('check a caller: the verdict a call would get now', async (t) => {
      await admin.goto(`${baseUrl}/calls?org=acme`);
      await admin.getByRole('link', { name: 'Check a caller…' }).click();
      await admin.getByLabel(/^Caller/).fill('(555) 000-1111');
      await admin.getByRole('button', { name: 'Check' }).click();
      await admin.waitForURL(/go=1/);
      t.match(await admin.getByRole('heading', { level: 2 }).textContent(), /A call from \+15550001111: Rejected/);
      const nav = await admin.evaluate<number>("document.querySelector('nav.main ul').getBoundingClientRect().height");
      t.ok(nav < 60, `the navigation is one line at 1280 px (${nav}px)`);
      await review(t, 'check', '/check?org=acme&number=5550001111&channel=call&go=1');
    });

    await t.test('settings: region and name, DIDs added and removed', async (t) => {
      await admin.goto(`${baseUrl}/settings?org=acme`);
      await admin.getByLabel(/^Region/).fill('XX');
      await admin.getByRole('button', { name: 'Save name and region' }).click();
      t.match(await admin.locator('#region-error').textContent(), /XX/);
      await admin.getByLabel(/^Add inbound numbers/).fill('(212) 555-0101, 212 555 0102');
      await admin.getByRole('button', { name: 'Add numbers' }).click();
      await admin.waitForURL(/notice=dids-added/);
      t.match(await admin.getByRole('status').textContent(), 'Added 2 inbound numbers.');
      await admin.getByRole('button', { name: 'Remove +12125550102' }).click();
      await admin.waitForURL(/notice=dids-removed/);
      t.same(await ctx.orgs.dids(acme.id), ['+12125550100', '+12125550101']);
      await review(t, 'settings', '/settings?org=acme');
    });

    await t.test("a contact's numbers: add one (blocked at once), remove one", async (t) => {
      await admin.goto(`${baseUrl}/contacts?org=acme`);
      await admin.getByRole('link', { name: 'Pushy Vendor' }).click();
      await admin.getByLabel(/^Add numbers/).fill('555-000-3333');
      await admin.getByRole('button', { name: 'Add numbers' }).click();
      await admin.waitForURL(/notice=numbers-added/);
      t.match(await admin.getByRole('status').textContent(), 'Added 1 number to contact Pushy Vendor.');
      await ctx.feed.poll();
      t.equal(
        (
          await ctx.screener.screen({
            org: 'acme',
            channel: 'call',
            direction: 'inbound',
            from: '+15550003333',
            to: '+12125550100',
          })
        ).action,
        'reject',
        'the new number is blocked with the contact',
      );
      await admin.getByRole('button', { name: 'Remove +15550002222' }).click();
      await admin.waitForURL(/notice=numbers-removed/);
      t.same((await ctx.contacts.require(acme.id, ids.contact)).numbers, ['+15550001111', '+15550003333']);
      await review(t, 'contact', `/contacts/${ids.contact}?org=acme`);
    });

    await t.test('flood detection settings and a handset block request', async (t) => {
      await admin.goto(`${baseUrl}/flood?org=acme`);
      await admin.getByLabel(/^Calls from one number/).fill('0');
      await admin.getByRole('button', { name: 'Save' }).click();
      t.match(await admin.locator('#maxCalls-error').textContent(), /from 1 to 100/);
      await admin.getByLabel(/^Calls from one number/).fill('8');
      await admin.getByRole('button', { name: 'Save' }).click();
      await admin.waitForURL(/notice=settings-saved/);
      t.equal((await ctx.flood.get('acme')).effective.maxCalls, 8);
      await review(t, 'flood', '/flood?org=acme');
      t.match(await ctx.handset.block({ org: 'acme', endpoint: 'andy', caller: '+14155550177', how: 'last-caller' }), {
        result: 'queued',
      });
      await admin.goto(`${baseUrl}/requests?org=acme`);
      await review(t, 'requests', '/requests?org=acme');
      await admin.getByRole('button', { name: 'Block +14155550177' }).click();
      await admin.waitForURL(/notice=blocked/);
      t.match(await admin.getByRole('status').textContent(), 'Blocked +14155550177.');
    });

    t.same(pageErrors, [], 'no script errors or CSP violations in the console');
  },
);

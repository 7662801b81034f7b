/**
 * Issue #16's rule forms in the real Chromium (Debian's, driven by playwright-core) against a daemon
 * with the admin server on an ephemeral port (test/support/panel.ts): a pattern block limited to one
 * DID and observing first, a too-broad pattern named at its field, a broad pattern's preview and
 * Save anyway, a pattern allow when attested, an allowlist-only DID and the pattern minimum on
 * Settings, the Flood page (settings and a handset block request). Each page is screenshotted at 1280 px and 390 px into artifacts/panel/ and checked with
 * axe-core (injected into the page): no serious or critical violations, no sideways scrolling.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import t, { type Test } from 'tap';
import type { Page } from 'playwright-core';
import { recordCalls } from '../support/call-records.js';
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

const DID = '+12125550100';

t.test(
  'issue #16 rule forms in chromium',
  { skip: existsSync(CHROMIUM) ? false : `${CHROMIUM} missing: run scripts/install-browser.sh` },
  async (t) => {
    mkdirSync(SHOTS, { recursive: true });
    const { baseUrl, ctx, clock } = await startPanel(t);
    const acme = await ctx.orgs.require('acme');
    await ctx.orgs.addDids('acme', ['+12125550111'], { name: 'tester', source: 'cli', origin: 'test' });
    const browser = await launchChromium(t);
    const admin = await (await browser.newContext(DESKTOP)).newPage();
    const phone = await (await browser.newContext(PHONE)).newPage();
    const pageErrors = watchPageErrors([admin, phone]);
    await signInAs(admin, baseUrl, 'alice');
    await signInAs(phone, baseUrl, 'alice');

    /** The page as `p` shows it now: a screenshot, axe, and (phone) no sideways scrolling. */
    const check = async (t: Test, p: Page, name: string) => {
      await p.screenshot({ path: join(SHOTS, `${name}.png`), fullPage: true });
      t.same(await axeProblems(p), [], `${name}: no serious or critical axe violations`);
      if (p === phone) {
        const overflow = await sidewaysPx(p);
        t.ok(overflow <= 0, `${name}: no sideways scrolling (${overflow}px)`);
      }
    };

    await t.test('a pattern block: too broad is named at the field; then one DID, observing first', async (t) => {
      await admin.goto(`${baseUrl}/block?org=acme`);
      t.notOk(await admin.getByLabel(/^Pattern/).isVisible(), 'the pattern field hidden until chosen');
      await admin.getByRole('radio', { name: /Numbers matching a pattern/ }).check();
      t.ok(await admin.getByLabel(/^Pattern/).isVisible(), 'pattern chosen: its field shows');
      t.notOk(await admin.getByLabel(/^Phone number/).isVisible());
      await admin.getByLabel(/^Pattern/).fill('+1??????????');
      await admin.getByLabel('Reason').fill('robots');
      await admin.getByRole('button', { name: 'Add to block list' }).click();
      t.match(
        await admin.getByRole('alert').textContent(),
        /Not saved: "\+1\?{10}" fixes 1 digit\(s\) .*fix at least 6/,
      );
      t.equal(await admin.getByLabel(/^Pattern/).getAttribute('aria-invalid'), 'true');
      t.match(await admin.locator('#pattern-error').textContent(), /fixes 1 digit/);
      t.equal(await admin.getByLabel(/^Pattern/).inputValue(), '+1??????????', 'what was typed is kept');
      t.equal(await admin.getByLabel('Reason').inputValue(), 'robots');
      await check(t, admin, 'rules-pattern-refused-desktop');

      await admin.getByLabel(/^Pattern/).fill('+1777555????');
      await admin.getByLabel('Only calls and messages to +12125550111').check();
      await admin.getByLabel(/Observe first/).check();
      await admin.getByRole('button', { name: 'Add to block list' }).click();
      await admin.waitForURL(/notice=blocked/);
      t.match(await admin.getByRole('status').textContent(), 'Blocked pattern +1777555????.');
      t.match(
        await admin.locator('tbody').textContent(),
        /\+1777555\?\?\?\? \(pattern\) observing only on \+12125550111/,
      );
      await ctx.feed.poll();
      t.match(
        ctx.screener.screenSync({
          org: 'acme',
          channel: 'call',
          direction: 'inbound',
          from: '+17775550001',
          to: '+12125550111',
        }),
        { action: 'allow', observed: 'reject' },
        'observing: let through, would have rejected (the org default)',
      );
      await check(t, admin, 'rules-blocked-desktop');
      await phone.goto(`${baseUrl}/block?org=acme`);
      await phone.getByRole('radio', { name: /Numbers matching a pattern/ }).check();
      await check(t, phone, 'rules-block-form-phone');
    });

    await t.test('a broad pattern: preview, then Save anyway with the figures', async (t) => {
      await recordCalls(ctx.db, acme.id, clock.now(), '+15553330001', 3);
      await recordCalls(ctx.db, acme.id, clock.now(), '+15553330001', 1, { direction: 'outbound' });
      await admin.goto(`${baseUrl}/block?org=acme`);
      await admin.getByRole('radio', { name: /Numbers matching a pattern/ }).check();
      await admin.getByLabel(/^Pattern/).fill('+1555333????');
      await admin.getByRole('button', { name: 'Preview what it would have done' }).click();
      t.match(await admin.locator('section.what-if').textContent(), /1 number affected; agents called 1 of them back/);
      t.equal(await admin.getByLabel(/^Pattern/).inputValue(), '+1555333????');
      await check(t, admin, 'rules-what-if-preview-desktop');
      await admin.getByRole('button', { name: 'Add to block list' }).click();
      t.match(await admin.getByRole('heading', { name: /This entry is broad/ }).textContent(), 'confirm it');
      await check(t, admin, 'rules-what-if-confirm-desktop');
      await admin.getByRole('button', { name: 'Save anyway' }).click();
      await admin.waitForURL(/notice=blocked/);
      t.match(await admin.getByRole('status').textContent(), 'Blocked pattern +1555333????.');
    });

    await t.test('a pattern allow, only when attested, for one DID', async (t) => {
      await admin.goto(`${baseUrl}/allowed?org=acme`);
      await admin.getByRole('radio', { name: /Numbers matching a pattern/ }).check();
      await admin.getByLabel(/^Pattern/).fill('+1555123????');
      await admin.getByLabel(`Only calls and messages to ${DID}`).check();
      await admin.getByLabel(/Only when the carrier attested/).check();
      await admin.getByRole('button', { name: 'Add to allow list' }).click();
      await admin.waitForURL(/notice=allowed/);
      t.match(
        await admin.locator('tbody').textContent(),
        /\+1555123\?\?\?\? \(pattern\) only on \+12125550100 when attested/,
      );
      await check(t, admin, 'rules-allowed-desktop');
    });

    await t.test('Settings: an allowlist-only DID and the pattern minimum', async (t) => {
      await admin.goto(`${baseUrl}/settings?org=acme`);
      await admin.getByLabel(`Who may ring ${DID}`, { exact: true }).selectOption('reject');
      await admin.getByRole('button', { name: `Save who may ring ${DID}` }).click();
      await admin.waitForURL(/notice=did-screening-saved/);
      t.match(await admin.getByRole('status').textContent(), 'Saved who may ring the inbound number.');
      t.equal(await admin.getByLabel(`Who may ring ${DID}`, { exact: true }).inputValue(), 'reject');
      await ctx.feed.poll();
      t.equal(
        ctx.screener.screenSync({ org: 'acme', channel: 'call', direction: 'inbound', from: '+13105550199', to: DID })
          .action,
        'reject',
      );

      await admin.getByLabel(/^Fewest fixed digits/).fill('99');
      await admin.getByRole('button', { name: 'Save pattern minimum' }).click();
      t.match(await admin.getByRole('alert').textContent(), /Not saved: the pattern minimum is 1–15 digits/);
      t.equal(await admin.getByLabel(/^Fewest fixed digits/).getAttribute('aria-invalid'), 'true');
      await check(t, admin, 'rules-settings-refused-desktop');
      await admin.getByLabel(/^Fewest fixed digits/).fill('7');
      await admin.getByRole('button', { name: 'Save pattern minimum' }).click();
      await admin.waitForURL(/notice=pattern-minimum-saved/);
      t.same(await ctx.rules.minPatternDigits('acme'), { minPatternDigits: 7, isDefault: false });
      await check(t, admin, 'rules-settings-desktop');
      await phone.goto(`${baseUrl}/settings?org=acme`);
      await check(t, phone, 'rules-settings-phone');
    });

    await t.test('Flood: a bad setting named at its field, a saved one, a handset request approved', async (t) => {
      t.match(await ctx.handset.block({ org: 'acme', endpoint: 'andy', caller: '+14155550177', how: 'last-caller' }), {
        result: 'queued',
      });
      await admin.goto(`${baseUrl}/settings?org=acme`);
      await admin.getByRole('link', { name: 'Flood and robocall detection settings' }).click();
      await admin.getByLabel(/^Hold \(minutes\)/).fill('0');
      await admin.getByRole('button', { name: 'Save' }).click();
      t.match(
        await admin.getByRole('alert').textContent(),
        /Not saved: flood setting holdMinutes must be a whole number from 1 to 10080/,
      );
      t.equal(await admin.getByLabel(/^Hold \(minutes\)/).getAttribute('aria-invalid'), 'true');
      await check(t, admin, 'rules-flood-refused-desktop');
      await admin.getByLabel(/^Hold \(minutes\)/).fill('120');
      await admin.getByRole('button', { name: 'Save' }).click();
      await admin.waitForURL(/notice=settings-saved/);
      t.match((await ctx.flood.get('acme')).changes, { holdMinutes: 120 });
      await check(t, admin, 'rules-flood-desktop');
      await admin.goto(`${baseUrl}/dashboard?org=acme`);
      await admin.getByRole('link', { name: 'review it' }).click();
      await admin.getByRole('button', { name: 'Block +14155550177' }).click();
      await admin.waitForURL(/notice=blocked/);
      t.match(await admin.getByRole('status').textContent(), 'Blocked +14155550177.');
      await phone.goto(`${baseUrl}/flood?org=acme`);
      await check(t, phone, 'rules-flood-phone');
    });

    t.same(pageErrors, [], 'no script errors or CSP violations in the console');
  },
);

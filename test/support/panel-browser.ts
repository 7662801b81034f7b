/**
 * The real Chromium the panel's browser suites drive (test/e2e/panel.test.ts, panel-doors, panel-rules):
 * where it is, the desktop and phone contexts, signing in, axe-core's findings, script errors and
 * sideways scrolling on a phone. Chromium is Debian's package (scripts/install-browser.sh).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContextOptions, type Page } from 'playwright-core';
import { PASSWORD } from './panel.js';

export const CHROMIUM = '/usr/bin/chromium';
/** Where the suites write their screenshots (reviewed by people, not compared by the tests). */
export const SHOTS = process.env.PANEL_SCREENSHOTS ?? join(process.cwd(), 'artifacts', 'panel');
export const DESKTOP: BrowserContextOptions = {
  viewport: { width: 1280, height: 860 },
  timezoneId: 'America/New_York',
  locale: 'en-US',
};
export const PHONE: BrowserContextOptions = {
  viewport: { width: 390, height: 844 },
  deviceScaleFactor: 1,
  isMobile: true,
  hasTouch: true,
  timezoneId: 'America/New_York',
  locale: 'en-US',
};

const AXE = readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');

interface AxeViolation {
  id: string;
  impact: string | null;
  help: string;
  nodes: Array<{ target: string[] }>;
}

/** Headless Chromium, closed when the test ends. */
export async function launchChromium(t: { teardown(fn: () => unknown): void }): Promise<Browser> {
  const browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
  t.teardown(() => browser.close());
  return browser;
}

/**
 * Collects the pages' script errors and console errors and accepts their confirm dialogs; the array
 * fills as the suite runs. Chromium logs a console error for each 4xx the page asked for: left out,
 * unless `with4xx` (for a suite that takes off just the ones it caused, so a missing asset still fails).
 */
export function watchPageErrors(pages: readonly Page[], with4xx = false): string[] {
  const errors: string[] = [];
  for (const p of pages) {
    p.on('pageerror', (e) => errors.push(e.message));
    p.on('console', (m) => {
      if (m.type() === 'error' && (with4xx || !/status of 4\d\d/.test(m.text()))) errors.push(m.text());
    });
    p.on('dialog', (d) => void d.accept());
  }
  return errors;
}

export async function signInAs(page: Page, baseUrl: string, name: string): Promise<void> {
  await page.goto(`${baseUrl}/signin`);
  await page.getByLabel('User name').fill(name);
  await page.getByLabel('Password').fill(PASSWORD);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.waitForURL(/\/blocked\?org=/);
}

/** axe-core's serious and critical violations of the page as it is now. */
export async function axeProblems(page: Page): Promise<string[]> {
  // evaluate() runs over the DevTools protocol, which the page's CSP (script-src 'self') does not govern.
  await page.evaluate(AXE);
  const violations = await page.evaluate<AxeViolation[]>(
    `axe.run(document, { resultTypes: ['violations'] }).then((r) => r.violations)`,
  );
  return violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map(
      (v) =>
        `${v.id} (${v.impact ?? 'no impact'}): ${v.help} — ${v.nodes
          .map((n) => n.target.join(' '))
          .slice(0, 3)
          .join(', ')}`,
    );
}

/**
 * How far (px) the page is wider than the phone's screen. Under mobile emulation window.innerWidth
 * grows to the content, so the page is compared with the screen, not with itself.
 */
export function sidewaysPx(page: Page): Promise<number> {
  return page.evaluate<number>('document.documentElement.scrollWidth - screen.width');
}

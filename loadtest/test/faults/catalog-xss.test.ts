/**
 * Abuse: hostile text in the shop's promotions catalog, rendered by the demo
 * storefront in real headless Chromium. Titles carry markup that would run
 * script if inserted as HTML; the storefront must show it as text and run
 * nothing. A `javascript:` url never reaches the page: the catalog parser
 * refuses it (checked against the running app's catalog reload).
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPromotionsConfig } from '../../../processors/promotions/src/config.ts';
import { cleanup, startTestApp, type TestApp } from '../../../scripts/src/testing/app.ts';
import { record } from '../../faults/scenario.ts';
import { sleep } from '../../faults/services.ts';

const HOSTILE = [
  '<img src=x onerror="window.__xss=(window.__xss||0)+1">',
  '<script>window.__xss=(window.__xss||0)+1</script>',
  '"><svg onload="window.__xss=(window.__xss||0)+1">',
];
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-fault-catalog-'));
const catalogPath = path.join(dir, 'catalog.json');
let app: TestApp;
let browser: Browser;

beforeAll(async () => {
  const sample = JSON.parse(fs.readFileSync(loadPromotionsConfig({}).catalogPath, 'utf8')) as {
    promotions: Array<Record<string, unknown>>;
  };
  // The three default promotions (what an unknown visitor sees first) get hostile titles.
  let k = 0;
  for (const p of sample.promotions) if (p.default === true && k < HOSTILE.length) p.title = HOSTILE[k++];
  fs.writeFileSync(catalogPath, JSON.stringify(sample));
  app = await startTestApp({ PROMOTIONS_CATALOG: catalogPath, PROMOTIONS_CATALOG_POLL_MS: '200', BASE_URL: '' });
  if (!fs.existsSync('/usr/bin/chromium'))
    throw new Error(
      'Chromium is missing at /usr/bin/chromium: install it (Debian: apt-get install chromium) or run `npm test`, which sets it up',
    );
  browser = await chromium.launch({
    executablePath: '/usr/bin/chromium',
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
});

afterAll(async () => {
  await browser?.close();
  if (app) await app.stop();
  fs.rmSync(dir, { recursive: true, force: true });
  if (app) await cleanup(app.prefix);
});

describe('hostile catalog text in the storefront (headless Chromium)', () => {
  it('shows script-bearing promotion titles as text and runs none of them', async () => {
    const page = await browser.newPage();
    const dialogs: string[] = [];
    page.on('dialog', (d) => {
      dialogs.push(d.message());
      void d.dismiss();
    });
    await page.goto(`${app.baseUrl}/`);
    await page.waitForSelector('#promotions[data-state="loaded"]', { timeout: 20_000 });
    await sleep(500);
    const titles = await page.locator('#promotions .promo strong').allTextContents();
    // A string, so this file needs no DOM typings.
    const injected = (await page.evaluate(
      "({ xss: window.__xss ?? 0, scripts: document.querySelectorAll('#promotions script, #promotions img, #promotions svg').length })",
    )) as { xss: number; scripts: number };
    for (const h of HOSTILE) expect(titles).toContain(h);
    expect(injected).toEqual({ xss: 0, scripts: 0 });
    expect(dialogs).toEqual([]);
    record('abuse-catalog-xss', { hostile_titles_shown_as_text: HOSTILE.length, scripts_run: injected.xss, dialogs: dialogs.length });
    await page.close();
  });

  it('refuses a catalog whose promotion url is javascript: and keeps serving the last good one', async () => {
    const bad = JSON.parse(fs.readFileSync(catalogPath, 'utf8')) as { promotions: Array<Record<string, unknown>> };
    bad.promotions[0]!.url = 'javascript:alert(document.domain)';
    bad.promotions[0]!.title = 'reloaded';
    fs.writeFileSync(catalogPath, JSON.stringify(bad));
    await sleep(1500);
    const res = await fetch(`${app.baseUrl}/v1/promotions/xss-visitor?limit=24`);
    expect(res.status).toBe(200);
    const body = (await res.json()) as { promotions: Array<{ title: string; url: string }> };
    expect(body.promotions.length).toBeGreaterThan(0);
    expect(body.promotions.some((p) => /^\s*javascript:/i.test(p.url))).toBe(false);
    expect(body.promotions.some((p) => p.title === 'reloaded')).toBe(false);
    expect(app.output()).toMatch(/javascript:|url must be relative/);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Page } from 'playwright-core';
import { customPage, newVisitor, open, settle, startE2E, type E2E } from './harness.ts';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => {
  await e2e?.stop();
});

/** Browses like a shopper: every kind of activity the SDK would capture. */
async function browse(page: Page) {
  await page.click('#cat-humidifiers article[data-product-id="p-hum-001"] a.product-link');
  await page.waitForURL('**/products/p-hum-001');
  await page.click('#add-to-cart');
  await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
  await page.fill('#search-input', 'humidifier');
  await page.press('#search-input', 'Enter');
  await page.waitForURL('**/search?q=humidifier');
  await page.goto('/contact');
  await page.waitForSelector('#contact-form');
  await page.fill('input[name=name]', 'Grace');
  await page.fill('input[name=email]', 'grace@example.org');
  await page.click('#contact-submit');
  await page.waitForTimeout(2500); // past the flush interval and the typing debounce
}

const batchRequests = (page: Page) => {
  const seen: string[] = [];
  page.on('request', (r) => {
    if (r.url().includes('/v1/batch')) seen.push(r.postData() ?? '');
  });
  return seen;
};

describe('privacy', () => {
  it('sends nothing at all when Global Privacy Control is on', async () => {
    const { ctx, page } = await newVisitor(e2e, (c) =>
      c.addInitScript(() => Object.defineProperty(Navigator.prototype, 'globalPrivacyControl', { get: () => true, configurable: true })),
    );
    const sent = batchRequests(page);
    const anon = await open(page, '/');
    expect(await page.evaluate(() => (navigator as Navigator & { globalPrivacyControl?: boolean }).globalPrivacyControl)).toBe(true);
    await browse(page);
    expect(sent).toEqual([]);
    expect(await page.evaluate(() => Object.keys(localStorage).filter((k) => k.startsWith('sp_q.')))).toEqual([]);
    expect(e2e.kafka.of(anon)).toEqual([]);
    // the storefront still works: promotions are shown (defaults for an unknown visitor)
    await page.goto('/');
    await page.waitForSelector('#promotions[data-state="loaded"] .promo');
    await ctx.close();
  });

  it('sends nothing when Do Not Track is on, unless the shop turned that off', async () => {
    const dnt = (c: import('playwright-core').BrowserContext) =>
      c.addInitScript(() => Object.defineProperty(Navigator.prototype, 'doNotTrack', { get: () => '1', configurable: true }));
    const { ctx, page } = await newVisitor(e2e, dnt);
    const sent = batchRequests(page);
    await open(page, '/');
    await page.click('#main-nav a[href="/category/fans"]');
    await page.waitForTimeout(1500);
    expect(sent).toEqual([]);
    await ctx.close();

    const shop = await newVisitor(e2e, dnt);
    const anon = await customPage(shop.page, '/respect-off', { respectPrivacySignals: false });
    expect(await shop.page.evaluate(() => navigator.doNotTrack)).toBe('1');
    await shop.page.click('#buy');
    await e2e.kafka.waitFor('the click of a shop that does not honour DNT', () => e2e.kafka.of(anon, 'click')[0]);
    await shop.ctx.close();
  });

  it('stops capturing and drops what was waiting after optOut(), and resumes after optIn()', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const sent = batchRequests(page);
    const anon = await open(page, '/');
    await settle(page, e2e.kafka, anon);
    const before = sent.length;
    type SP = { track(t: string, p?: object): void; optOut(): void; optIn(): void; isOptedOut(): boolean };
    await page.evaluate(() => {
      const s = (window as unknown as { storepulse: SP }).storepulse;
      s.track('add_to_cart', { product_id: 'p-aud-001' }); // waiting for the flush...
      s.optOut(); // ...and dropped
    });
    await browse(page); // ends on /contact: a new page load remembers the choice
    expect(await page.evaluate(() => (window as unknown as { storepulse: SP }).storepulse.isOptedOut())).toBe(true);
    expect(sent.length).toBe(before);
    expect(e2e.kafka.of(anon, 'add_to_cart')).toEqual([]);

    await page.evaluate(() => (window as unknown as { storepulse: SP }).storepulse.optIn());
    await page.click('footer a[href="/privacy"]');
    await e2e.kafka.waitFor('the page view after optIn', () =>
      e2e.kafka.of(anon, 'page_view').find((e) => e.page_url?.endsWith('/privacy')),
    );
    await ctx.close();
  });
});

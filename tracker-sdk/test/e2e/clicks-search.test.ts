import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { customPage, newVisitor, open, pathOf, settle, startE2E, type E2E } from './harness.ts';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => {
  await e2e?.stop();
});

describe('autocapture of clicks and searches, checked by what arrived in Kafka', () => {
  it('records a click on a product link with its product id, category, text, href and selector', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    await page.click('#cat-humidifiers article[data-product-id="p-hum-001"] a.product-link');
    const click = await e2e.kafka.waitFor('the click', () =>
      e2e.kafka.of(anon, 'click').find((e) => e.element?.product_id === 'p-hum-001'),
    );
    expect(click.element).toMatchObject({
      tag: 'a',
      product_id: 'p-hum-001',
      category: 'humidifiers',
      text: 'Mistral Cool Mist Humidifier 4L',
      classes: 'product-link',
    });
    expect(pathOf(click.element?.href)).toBe('/products/p-hum-001');
    expect(click.element?.selector).toMatch(/^#cat-humidifiers > div > article(:nth-of-type\(\d+\))? > a(:nth-of-type\(\d+\))?$/);
    expect(click.product_id).toBe('p-hum-001');
    expect(pathOf(click.page_url)).toBe('/');
    expect(click).toMatchObject({ anonymous_id: anon, user_id: null, user_verified: false });
    expect(click.session_id).toBeTruthy();
    expect(click.event_id).toMatch(/^[0-9a-f-]{36}$/);
    await ctx.close();
  });

  it('records one search, trimmed, when the shopper types a keyword and submits the search form', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    await page.fill('#search-input', '   humidifier  ');
    await page.press('#search-input', 'Enter');
    await page.waitForURL('**/search?q=humidifier');
    await page.waitForSelector('#results article');
    // typing pauses long enough for the typed search to count would make a second source; wait past it
    await page.waitForTimeout(1500);
    await settle(page, e2e.kafka, anon);
    const searches = e2e.kafka.of(anon, 'search');
    expect(searches.map((e) => [e.search_keyword, e.properties?.source])).toEqual([['humidifier', 'form']]);
    expect(e2e.kafka.messages.find((m) => m.event.event_id === searches[0]!.event_id)?.topic).toBe('searches');
    await ctx.close();
  });

  it('records a search typed into the search box once the shopper stops typing', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/products/p-fan-001');
    await page.type('#search-input', 'tower fan', { delay: 40 });
    const s = await e2e.kafka.waitFor('the typed search', () => e2e.kafka.of(anon, 'search')[0]);
    expect([s.search_keyword, s.properties?.source]).toEqual(['tower fan', 'input']);
    await settle(page, e2e.kafka, anon);
    expect(e2e.kafka.of(anon, 'search')).toHaveLength(1);
    await ctx.close();
  });

  it('records a search from a results URL once, even when the page is reloaded', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/search?q=air%20purifier');
    await page.reload();
    await open(page, '/search?q=air%20purifier');
    await settle(page, e2e.kafka, anon);
    const searches = e2e.kafka.of(anon, 'search');
    expect(searches.map((e) => [e.search_keyword, e.properties?.source])).toEqual([['air purifier', 'url']]);
    expect(pathOf(searches[0]!.page_url)).toBe('/search?q=air%20purifier');
    await ctx.close();
  });

  it("follows the shop's settings: switched-off clicks and scroll are not captured, and a custom search parameter is read", async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await customPage(page, '/find?term=%20gooseneck%20kettle', {
      autocapture: { clicks: false, scroll: false },
      searchParams: ['term'],
    });
    await page.click('#buy');
    await page.evaluate(() => window.scrollTo(0, document.documentElement.scrollHeight));
    await page.waitForTimeout(400);
    await settle(page, e2e.kafka, anon);
    const mine = e2e.kafka.of(anon);
    expect(mine.filter((e) => e.type === 'search').map((e) => [e.search_keyword, e.properties?.source])).toEqual([
      ['gooseneck kettle', 'url'],
    ]);
    expect(mine.filter((e) => e.type === 'page_view')).toHaveLength(1);
    expect(mine.filter((e) => e.type === 'click' || e.type === 'scroll')).toEqual([]);
    await ctx.close();
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newVisitor, open, startE2E, type E2E } from './harness.ts';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => {
  await e2e?.stop();
});

describe('the whole loop in the browser', () => {
  it('shows humidifier promotions on the home page after a search for "humidifier", and records their impression and click', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    // a new visitor first gets the default promotions
    await page.waitForSelector('#promotions[data-state="loaded"]');
    expect(await page.getAttribute('#promotions', 'data-personalized')).toBe('false');

    await page.fill('#search-input', 'humidifier');
    await page.press('#search-input', 'Enter');
    await page.waitForURL('**/search?q=humidifier');
    await e2e.kafka.waitFor('the search', () => e2e.kafka.of(anon, 'search').find((e) => e.search_keyword === 'humidifier'));

    // back home through the logo link (an SPA navigation); the processor needs a moment
    let first: string | null = null;
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline) {
      await page.click('a.logo');
      await page.waitForSelector('#promotions[data-state="loaded"], #promotions[data-state="error"]');
      first = await page.getAttribute('#promotions .promo >> nth=0', 'data-promotion-id');
      if ((await page.getAttribute('#promotions', 'data-personalized')) === 'true' && first?.startsWith('hum-')) break;
      await page.waitForTimeout(500);
    }
    expect(first).toMatch(/^hum-/);
    const reason = await page.textContent('#promotions .promo >> nth=0 >> small');
    expect(reason?.toLowerCase()).toContain('humidifier');

    const view = await e2e.kafka.waitFor('the personalized promotion impression', () =>
      e2e.kafka.of(anon, 'promotion_view').find((e) => e.personalized === true && e.promotion_ids?.[0] === first),
    );
    expect(view.promotion_ids!.length).toBeGreaterThan(1);

    await page.click(`#promotions .promo[data-promotion-id="${first}"]`);
    const click = await e2e.kafka.waitFor('the promotion click', () => e2e.kafka.of(anon, 'click').find((e) => e.promotion_id === first));
    expect(click.element?.promotion_id).toBe(first);
    await ctx.close();
  });
});

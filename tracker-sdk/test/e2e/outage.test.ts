import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '@storepulse/contracts';
import { newVisitor, open, pathOf, settle, startE2E, type E2E } from './harness.ts';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => {
  await e2e?.stop();
});

type SP = { track(t: string, p?: object): void; search(k: string): void };

/** Every event id of `events` exactly once in Kafka: nothing lost, nothing doubled. */
function expectExactlyOnce(arrived: EnrichedEvent[], ids: string[]) {
  const counts = new Map<string, number>();
  for (const e of arrived) counts.set(e.event_id, (counts.get(e.event_id) ?? 0) + 1);
  for (const id of ids) expect(counts.get(id), `event ${id}`).toBe(1);
}

describe('delivery through outages, checked by what arrived in Kafka', () => {
  it('keeps events while the ingest API is down and delivers each exactly once when it is back', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    await settle(page, e2e.kafka, anon);
    const sentBefore = new Set(e2e.kafka.of(anon).map((e) => e.event_id));
    let refused = 0;
    await page.route('**/v1/batch', (route) => {
      refused++;
      return route.abort('connectionrefused');
    });
    await page.evaluate(() => {
      (window as unknown as { storepulse: SP }).storepulse.search('warm mist humidifier');
      (window as unknown as { storepulse: SP }).storepulse.track('add_to_cart', { product_id: 'p-hum-002', value: 69, currency: 'EUR' });
    });
    await page.click('#cat-coffee article[data-product-id="p-cof-001"] a.product-link');
    await page.waitForURL('**/products/p-cof-001');
    await page.waitForTimeout(4000); // several failed attempts with backoff
    expect(refused).toBeGreaterThanOrEqual(2);
    expect(e2e.kafka.of(anon).filter((e) => !sentBefore.has(e.event_id))).toEqual([]); // nothing got through
    await page.unroute('**/v1/batch');
    const [search, cart, view] = await Promise.all([
      e2e.kafka.waitFor('the search', () => e2e.kafka.of(anon, 'search')[0], 20_000),
      e2e.kafka.waitFor('the add_to_cart', () => e2e.kafka.of(anon, 'add_to_cart')[0], 20_000),
      e2e.kafka.waitFor(
        'the SPA page view',
        () => e2e.kafka.of(anon, 'page_view').find((e) => pathOf(e.page_url) === '/products/p-cof-001'),
        20_000,
      ),
    ]);
    expect(search.search_keyword).toBe('warm mist humidifier');
    await settle(page, e2e.kafka, anon);
    expectExactlyOnce(e2e.kafka.of(anon), [search.event_id, cart.event_id, view.event_id]);
    await ctx.close();
  });

  it('honours 503 with Retry-After and then delivers', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    await settle(page, e2e.kafka, anon);
    const attempts: number[] = [];
    await page.route('**/v1/batch', (route) => {
      attempts.push(Date.now());
      if (attempts.length > 1) return route.fallback();
      return route.fulfill({
        status: 503,
        headers: { 'Retry-After': '3', 'content-type': 'application/json' },
        body: '{"error":{"code":"kafka_unavailable","message":"try later"}}',
      });
    });
    await page.evaluate(() => (window as unknown as { storepulse: SP }).storepulse.track('add_to_cart', { product_id: 'p-vac-001' }));
    const cart = await e2e.kafka.waitFor('the add_to_cart after Retry-After', () => e2e.kafka.of(anon, 'add_to_cart')[0], 20_000);
    expect(cart.product_id).toBe('p-vac-001');
    expect(attempts[1]! - attempts[0]!).toBeGreaterThanOrEqual(2900);
    await ctx.close();
  });

  it('pauses while the browser is offline and sends what waited, once, when it is back online', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    await settle(page, e2e.kafka, anon);
    await ctx.setOffline(true);
    await page.evaluate(() => {
      (window as unknown as { storepulse: SP }).storepulse.search('robot vacuum');
      (window as unknown as { storepulse: SP }).storepulse.track('add_to_cart', { product_id: 'p-vac-001' });
    });
    await page.waitForTimeout(2500);
    expect(e2e.kafka.of(anon, 'search')).toHaveLength(0);
    const stored = await page.evaluate(() =>
      Object.keys(localStorage)
        .filter((k) => k.startsWith('sp_q.'))
        .map((k) => JSON.parse(localStorage.getItem(k)!).q.length),
    );
    expect(stored).toEqual([2]); // waiting in localStorage, not only in memory
    const back = Date.now();
    await ctx.setOffline(false);
    const search = await e2e.kafka.waitFor('the search queued offline', () => e2e.kafka.of(anon, 'search')[0]);
    expect(Date.now() - back).toBeLessThan(10_000); // the online event flushes at once, not at the next 15 s check
    await settle(page, e2e.kafka, anon);
    expectExactlyOnce(e2e.kafka.of(anon), [search.event_id, e2e.kafka.of(anon, 'add_to_cart')[0]!.event_id]);
    await ctx.close();
  });
});

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

describe('delivery across page unloads, checked by what arrived in Kafka', () => {
  it('delivers events tracked just before the page navigates away', async () => {
    const { ctx, page } = await newVisitor(e2e, (c) =>
      // note every sendBeacon body in localStorage: an unloading page can tell nobody else
      c.addInitScript(() => {
        const orig = navigator.sendBeacon.bind(navigator);
        navigator.sendBeacon = (url: string | URL, data?: BodyInit | null) => {
          localStorage.setItem('test_beacons', (localStorage.getItem('test_beacons') ?? '') + String(data));
          return orig(url, data);
        };
      }),
    );
    const anon = await open(page, '/products/p-hum-003');
    // the click and the add_to_cart are still waiting for the 1 s flush when the page unloads
    await page.evaluate(() => {
      document.getElementById('add-to-cart')!.click();
      setTimeout(() => location.assign('about:blank'), 0);
    });
    await page.waitForURL('about:blank');
    const cart = await e2e.kafka.waitFor('the add_to_cart sent on unload', () => e2e.kafka.of(anon, 'add_to_cart')[0]);
    expect(cart).toMatchObject({ product_id: 'p-hum-003', category: 'humidifiers', value: 119, currency: 'EUR' });
    await e2e.kafka.waitFor('the click sent on unload', () => e2e.kafka.of(anon, 'click').find((e) => e.element?.id === 'add-to-cart'));
    // it left with the beacon on pagehide, not with the regular flush
    await page.goto('/styles.css');
    expect(await page.evaluate(() => localStorage.getItem('test_beacons'))).toContain(cart.event_id);
    await ctx.close();
  });

  it('sends events a page could not deliver from localStorage on the next page load', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/products/p-bed-001');
    await settle(page, e2e.kafka, anon);
    // the API is overloaded and asks for a minute of quiet: no retry can be in flight when the page goes
    let refused = 0;
    await page.route('**/v1/batch', (route) => {
      refused++;
      return route.fulfill({
        status: 503,
        headers: { 'Retry-After': '60', 'content-type': 'application/json' },
        body: '{"error":{"code":"overloaded","message":"later"}}',
      });
    });
    await page.evaluate(() => {
      const sp = (window as unknown as { storepulse: SP }).storepulse as SP & { flush(): Promise<void> };
      sp.track('add_to_cart', { product_id: 'p-bed-001', value: 49, currency: 'EUR' });
      return sp.flush();
    });
    await expect.poll(() => refused).toBe(1); // the send failed: the queue waits in backoff, so unload does not beacon
    await page.unroute('**/v1/batch');
    await page.goto('/contact'); // a full page load: the new page adopts what the old one left behind
    const cart = await e2e.kafka.waitFor('the add_to_cart of the previous page', () => e2e.kafka.of(anon, 'add_to_cart')[0]);
    expect(pathOf(cart.page_url)).toBe('/products/p-bed-001');
    await settle(page, e2e.kafka, anon);
    expectExactlyOnce(e2e.kafka.of(anon), [cart.event_id]);
    await ctx.close();
  });

  it('hands waiting events to sendBeacon when the tab is hidden', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/products/p-lig-002');
    const counted = await page.evaluate(() => {
      let beacons = 0;
      const orig = navigator.sendBeacon.bind(navigator);
      navigator.sendBeacon = (url: string | URL, data?: BodyInit | null) => {
        beacons++;
        return orig(url, data);
      };
      (window as unknown as { storepulse: { track(t: string, p: object): void } }).storepulse.track('add_to_cart', {
        product_id: 'p-lig-002',
      });
      Object.defineProperty(document, 'visibilityState', { value: 'hidden', configurable: true });
      document.dispatchEvent(new Event('visibilitychange'));
      return beacons;
    });
    expect(counted).toBe(1);
    await e2e.kafka.waitFor('the add_to_cart sent when hidden', () => e2e.kafka.of(anon, 'add_to_cart')[0]);
    await ctx.close();
  });
});

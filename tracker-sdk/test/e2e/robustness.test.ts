import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newVisitor, open, settle, startE2E, type E2E } from './harness.ts';

let e2e: E2E;
beforeAll(async () => {
  e2e = await startE2E();
});
afterAll(async () => {
  await e2e?.stop();
});

type SP = Record<string, (...a: unknown[]) => unknown>;

describe('never breaking the host page', () => {
  it('keeps tracking from memory when localStorage is unavailable', async () => {
    const { ctx, page } = await newVisitor(e2e, (c) =>
      c.addInitScript(() =>
        Object.defineProperty(window, 'localStorage', {
          get() {
            throw new DOMException('The operation is insecure.', 'SecurityError');
          },
        }),
      ),
    );
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const anon = await open(page, '/');
    await page.click('#cat-audio article[data-product-id="p-aud-002"] a.product-link');
    await page.waitForURL('**/products/p-aud-002');
    const click = await e2e.kafka.waitFor('the click', () => e2e.kafka.of(anon, 'click')[0]);
    expect(click.element?.product_id).toBe('p-aud-002');
    const views = await e2e.kafka.waitFor('both page views', () => {
      const v = e2e.kafka.of(anon, 'page_view');
      return v.length >= 2 ? v : undefined;
    });
    expect(new Set(views.map((v) => v.session_id)).size).toBe(1);
    expect(errors).toEqual([]);
    await ctx.close();
  });

  it('swallows bad calls instead of throwing into the page', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    const anon = await open(page, '/');
    const threw = await page.evaluate(() => {
      const sp = (window as unknown as { storepulse: SP }).storepulse;
      const bad: [string, unknown[]][] = [
        ['track', [null]],
        ['track', ['search', null]],
        ['track', ['click', { element: 'not an object', properties: { nested: { a: 1 } } }]],
        ['identify', [undefined]],
        ['identify', [{ id: 1 }, 'x']],
        ['promotionView', ['p1']],
        ['promotionView', [[1, null, '']]],
        ['search', [42]],
        ['search', ['   ']],
        ['init', [{ writeKey: 'other' }]],
        ['page', ['not props']],
        [
          'ready',
          [
            () => {
              throw new Error('a broken ready callback');
            },
          ],
        ],
      ];
      let n = 0;
      for (const [m, args] of bad) {
        try {
          sp[m]!(...args);
        } catch {
          n++;
        }
      }
      return n;
    });
    expect(threw).toBe(0);
    await settle(page, e2e.kafka, anon);
    expect(errors).toEqual([]);
    // nothing invalid reached the dead-letter topic from this visitor either
    // fields of the wrong shape are the server's to judge: the event is dead-lettered with the reason, not lost
    const dead = e2e.kafka.messages.filter((m) => m.topic === 'invalid_events' && JSON.stringify(m.event).includes(anon));
    expect(dead.map((m) => (m.event as unknown as { reason: string }).reason)).toEqual([expect.stringMatching(/^element: /)]);
    await ctx.close();
  });

  it('keeps every call short (no long tasks) with a full queue, and delivers a large backlog exactly once', async () => {
    const { ctx, page } = await newVisitor(e2e);
    const anon = await open(page, '/');
    await settle(page, e2e.kafka, anon);
    await ctx.setOffline(true);
    // Wall-clock timings on a shared CI machine see the renderer descheduled now and then, so a single
    // outlier is not the SDK's doing: the check is on the 95th percentile of 400 calls (all with a growing
    // queue) and on the best of three hide/show cycles with the full queue.
    const timing = await page.evaluate(() => {
      const sp = (window as unknown as { storepulse: SP }).storepulse;
      const calls: number[] = [];
      for (let i = 0; i < 400; i++) {
        const t = performance.now();
        sp.track!('add_to_cart', {
          product_id: `p-kit-00${(i % 4) + 1}`,
          value: 10 + i,
          currency: 'EUR',
          properties: { n: i, note: 'x'.repeat(200) },
        });
        calls.push(performance.now() - t);
      }
      calls.sort((a, b) => a - b);
      // what a tab switch or a back/forward-cache round trip costs with that queue
      const cycles: number[] = [];
      for (let i = 0; i < 3; i++) {
        const t = performance.now();
        window.dispatchEvent(new PageTransitionEvent('pagehide', { persisted: true }));
        window.dispatchEvent(new PageTransitionEvent('pageshow', { persisted: true }));
        cycles.push(performance.now() - t);
      }
      return { median: calls[200]!, p95: calls[380]!, unload: Math.min(...cycles) };
    });
    expect(timing.median).toBeLessThan(2);
    expect(timing.p95).toBeLessThan(10);
    expect(timing.unload).toBeLessThan(50);
    await ctx.setOffline(false);
    const carts = await e2e.kafka.waitFor(
      'the 400 queued events',
      () => {
        const c = e2e.kafka.of(anon, 'add_to_cart');
        return c.length >= 400 ? c : undefined;
      },
      30_000,
    );
    await settle(page, e2e.kafka, anon);
    expect(e2e.kafka.of(anon, 'add_to_cart')).toHaveLength(400);
    expect(new Set(carts.map((c) => c.event_id)).size).toBe(400);
    expect(carts.map((c) => c.properties?.n).sort((a, b) => Number(a) - Number(b))).toEqual(Array.from({ length: 400 }, (_, i) => i));
    await ctx.close();
  });
});

import { randomUUID } from 'node:crypto';

/** The benchmark's request body: a 10-event batch (page views, searches, clicks, scrolls, a promotion view), ~3.2 KB of JSON. */
export function batchBody(i: number): string {
  const now = Date.now();
  const types = ['page_view', 'search', 'click', 'scroll', 'page_view', 'search', 'click', 'page_view', 'scroll', 'promotion_view'];
  return JSON.stringify({
    write_key: 'wk_demo',
    sent_at: now,
    events: types.map((type, k) => ({
      event_id: randomUUID(),
      type,
      timestamp: now - 100 * k,
      anonymous_id: `a-${(i * 7 + k) % 5000}`,
      session_id: `s-${i % 997}`,
      page_url: `https://shop.example/c/kitchen/p/${k}?utm_source=mail`,
      page_title: 'Cool mist humidifier - Shop',
      referrer: 'https://shop.example/',
      ...(type === 'search' ? { search_keyword: 'humidifier', results_count: 24 } : {}),
      ...(type === 'click'
        ? { element: { tag: 'a', text: 'Add to cart', href: '/p/123', selector: 'div.card > a.buy', product_id: 'p-123' } }
        : {}),
      ...(type === 'scroll' ? { depth_pct: 50 } : {}),
      ...(type === 'promotion_view' ? { promotion_ids: ['promo-1', 'promo-2', 'promo-3'], personalized: true } : {}),
    })),
  });
}

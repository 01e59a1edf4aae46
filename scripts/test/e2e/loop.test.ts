import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouseClient } from '@storepulse/warehouse';
import { cleanup, startTestApp, type TestApp } from '../../src/testing/app.ts';

// The DESIGN's example through the running app's own front door:
// POST /v1/batch -> Kafka -> promotions (Redis) and analytics (ClickHouse).
let app: TestApp;
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';

async function post(events: object[]) {
  const now = Date.now();
  const res = await fetch(`${app.baseUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': UA },
    body: JSON.stringify({ write_key: 'wk_demo', sent_at: now, events }),
  });
  expect(res.status).toBe(202);
  return (await res.json()) as { accepted: number; rejected: unknown[] };
}

describe('the whole loop through /v1/batch', () => {
  beforeAll(async () => {
    app = await startTestApp({ ANALYTICS_FLUSH_INTERVAL_MS: '100' });
  });
  afterAll(async () => {
    await app?.stop();
  });

  it.each(['humidifier', 'Humidifiers', 'humidifer', 'cool mist humidifier'])(
    'ranks a humidifier promotion first within a second after a search for "%s", with the reason',
    async (keyword) => {
      const visitor = `a-${randomUUID()}`;
      const t0 = Date.now();
      await post([
        {
          event_id: randomUUID(),
          type: 'search',
          timestamp: t0,
          anonymous_id: visitor,
          session_id: 's-1',
          page_url: '/search',
          search_keyword: keyword,
        },
      ]);
      let body: { personalized: boolean; promotions: { id: string; title: string; reason: string }[] } | undefined;
      while (Date.now() - t0 < 1000) {
        body = (await (await fetch(`${app.baseUrl}/v1/promotions/${visitor}`)).json()) as typeof body;
        if (body?.personalized) break;
        await new Promise((r) => setTimeout(r, 20));
      }
      expect(body?.personalized, `not personalized within 1 s: ${JSON.stringify(body)}`).toBe(true);
      const first = body!.promotions[0]!;
      expect(`${first.id} ${first.title}`).toMatch(/hum/i);
      expect(first.reason).toMatch(/search/i);
    },
  );

  it('makes N distinct events queryable exactly once, duplicates by event_id included, and counts the search in top-searches', async () => {
    const N = 300;
    const visitor = `a-${randomUUID()}`;
    const now = Date.now();
    const events = Array.from({ length: N }, (_, i) => ({
      event_id: randomUUID(),
      type: i % 3 === 0 ? 'search' : 'page_view',
      timestamp: now,
      anonymous_id: `${visitor}-${i % 4}`,
      session_id: 's-2',
      page_url: `/p/${i}`,
      ...(i % 3 === 0 ? { search_keyword: 'Loop Keyword' } : {}),
    }));
    const r1 = await post(events.slice(0, 150));
    const r2 = await post(events.slice(150));
    expect(r1.accepted + r2.accepted).toBe(N);
    await post(events.slice(0, 40)); // an SDK retry: the same event ids again

    const want = events.filter((e) => e.type === 'search').length;
    let rows: { keyword: string; searches: number; visitors: number }[] = [];
    const t0 = Date.now();
    while (Date.now() - t0 < 10_000) {
      const res = await fetch(`${app.baseUrl}/v1/reports/top-searches?since=1h&keyword=${encodeURIComponent('loop keyword')}`);
      if (res.ok) rows = ((await res.json()) as { rows: typeof rows }).rows;
      if (rows.find((r) => r.keyword === 'loop keyword')?.searches === want) break;
      await new Promise((r) => setTimeout(r, 100));
    }
    expect(rows.find((r) => r.keyword === 'loop keyword')).toMatchObject({ searches: want, visitors: 4 });

    await app.stop({ keepData: true });
    const wh = createWarehouseClient({ dataDir: app.dataDir });
    try {
      const rs = await wh.client.query({
        query: 'SELECT count() AS n, uniqExact(event_id) AS u FROM activity.events WHERE startsWith(anonymous_id, {v:String})',
        query_params: { v: visitor },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ n: N, u: N }]);
    } finally {
      await wh.close();
      await cleanup(app.prefix, app.dataDir);
    }
  });
});

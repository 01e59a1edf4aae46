import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@storepulse/contracts';
import { createWarehouseClient } from '@storepulse/warehouse';
import { cleanup, consumeUntil, startTestApp, type TestApp } from '../../src/testing/app.ts';

let app: TestApp;

describe('the walking skeleton: one event through every real part', () => {
  beforeAll(async () => {
    app = await startTestApp();
  });
  afterAll(async () => {
    await app?.stop();
  });

  it('answers /healthz on Node 24 and /readyz with every dependency up', async () => {
    const health = (await (await fetch(`${app.baseUrl}/healthz`)).json()) as { status: string; node: string };
    expect(health.status).toBe('ok');
    expect(health.node).toMatch(/^v2[4-9]\./);
    const ready = await fetch(`${app.baseUrl}/readyz`);
    const body = (await ready.json()) as { checks: Record<string, unknown> };
    expect(ready.status).toBe(200);
    expect(Object.keys(body.checks)).toEqual(expect.arrayContaining(['kafka', 'redis', 'warehouse']));
  });

  it('takes a search through ingest into its topic, Redis and the embedded ClickHouse', async () => {
    const anonymousId = `a-${randomUUID()}`;
    const eventId = randomUUID();
    const now = Date.now();
    const res = await fetch(`${app.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({
        write_key: 'wk_demo',
        sent_at: now,
        events: [
          {
            event_id: eventId,
            type: 'search',
            timestamp: now - 5,
            anonymous_id: anonymousId,
            session_id: 's-1',
            page_url: '/deals/',
            search_keyword: 'humidifier',
          },
        ],
      }),
    });
    expect(res.status).toBe(202);
    expect(((await res.json()) as { accepted: number }).accepted).toBe(1);

    const msg = await consumeUntil(app.prefix, ['searches'], (msgs) => msgs.find((m) => JSON.parse(m.value).event_id === eventId));
    expect(msg.key).toBe(anonymousId);
    const value = JSON.parse(msg.value);
    expect(value).toMatchObject({
      event_id: eventId,
      type: 'search',
      search_keyword: 'humidifier',
      page_url: '/deals/',
      anonymous_id: anonymousId,
    });
    expect(typeof value.date).toBe('number');

    const redis = new Redis(app.redisUrl);
    const key = redisKeys.userPromotions(app.prefix, `a:${anonymousId}`);
    let exists = 0;
    for (let i = 0; i < 50 && !exists; i++) {
      exists = await redis.exists(key);
      if (!exists) await new Promise((r) => setTimeout(r, 100));
    }
    redis.disconnect();
    expect(exists, `expected ${key} in Redis`).toBe(1);

    // The homepage API serves what the processor wrote.
    const promos = (await (await fetch(`${app.baseUrl}/v1/promotions/${anonymousId}`)).json()) as {
      personalized: boolean;
      promotions: unknown[];
    };
    expect(promos.personalized).toBe(true);
    expect(promos.promotions.length).toBeGreaterThan(0);

    // Wait until the analytics processor has flushed, then stop the app and
    // open its embedded ClickHouse directly (one process per data directory).
    let seen = false;
    for (let i = 0; i < 60 && !seen; i++) {
      const metrics = await (await fetch(`${app.baseUrl}/metrics`)).text();
      seen = /analytics_events_total\{result="inserted"\} [1-9]/.test(metrics);
      if (!seen) await new Promise((r) => setTimeout(r, 250));
    }
    expect(seen, 'analytics_events_total{result="inserted"} on /metrics').toBe(true);
    await app.stop({ keepData: true });
    const wh = createWarehouseClient({ dataDir: app.dataDir });
    try {
      const rs = await wh.client.query({
        query: 'SELECT type, search_keyword, anonymous_id FROM activity.events WHERE event_id = {id:String}',
        query_params: { id: eventId },
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([{ type: 'search', search_keyword: 'humidifier', anonymous_id: anonymousId }]);
    } finally {
      await wh.close();
      await cleanup(app.prefix, app.dataDir);
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import {
  cleanup,
  connectRedis,
  event,
  EventProducer,
  getJson,
  poll,
  randomPrefix,
  type Running,
  setupTopics,
  startService,
  waitReady,
} from './harness.ts';

const prefix = randomPrefix();
let redis: Redis;
let producer: EventProducer;
let running: Running;

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  running = await startService(prefix);
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('a shopper who searches for humidifiers', () => {
  for (const keyword of ['humidifier', 'Humidifiers', 'humidifer', 'cool mist humidifier']) {
    it(`sees a humidifier deal first within a second after searching "${keyword}"`, async () => {
      const anon = `a-${Math.random().toString(36).slice(2)}`;
      const before = await getJson(`${running.url}/v1/promotions/${anon}`);
      expect(before.body.personalized).toBe(false);
      const sent = Date.now();
      await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: keyword, page_url: '/search' }));
      const res = await poll(
        () => getJson(`${running.url}/v1/promotions/${anon}`),
        (r) => r.body.personalized === true,
        1000,
      );
      const elapsed = Date.now() - sent;
      expect(res.status).toBe(200);
      expect(res.body.personalized).toBe(true);
      expect(elapsed).toBeLessThan(1000);
      const first = res.body.promotions[0];
      expect(first.id.startsWith('hum-')).toBe(true);
      expect(first.reason).toBe(`you searched "${keyword}"`);
      expect(first.score).toBeGreaterThan(0);
      expect(typeof first.title).toBe('string');
      expect(first.url.startsWith('/')).toBe(true);
    });
  }

  it('answers unknown visitors with the default promotions, never 404', async () => {
    const res = await getJson(`${running.url}/v1/promotions/never-seen-${Date.now()}?limit=3`);
    expect(res.status).toBe(200);
    expect(res.body.personalized).toBe(false);
    expect(res.body.promotions.map((p: { id: string }) => p.id)).toEqual(['home-free-shipping', 'home-winter-sale', 'home-new-arrivals']);
    expect(res.body.promotions[0].reason).toBe('popular right now');
  });

  it('stores user_promotions with the reason and the time it was computed', async () => {
    const anon = `a-${Math.random().toString(36).slice(2)}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'espresso machine' }));
    const key = `${prefix}user_promotions:{a:${anon}}`;
    const raw = await poll(
      () => redis.get(key),
      (v) => v !== null,
      5000,
    );
    const doc = JSON.parse(raw ?? '{}');
    expect(doc.promotions[0].id).toBe('cof-espresso');
    expect(doc.promotions[0].reason).toBe('you searched "espresso machine"');
    expect(doc.computed_at).toBeGreaterThan(Date.now() - 60_000);
    expect(await redis.pttl(key)).toBeGreaterThan(0);
  });
});

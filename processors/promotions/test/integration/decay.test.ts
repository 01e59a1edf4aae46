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
const DAY = 86_400_000;
let redis: Redis;
let producer: EventProducer;
let running: Running;
let clock = Date.now() - 3 * DAY;

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  running = await startService(prefix, { PROMOTIONS_HALF_LIFE_HOURS: '24' }, { now: () => clock });
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('interest decay', () => {
  it('lets a fresh weaker interest beat an old strong one', async () => {
    const anon = `a-${Math.random().toString(36).slice(2)}`;
    const url = `${running.url}/v1/promotions/${anon}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'humidifier', date: clock }));
    const first = await poll(
      () => getJson(url),
      (r) => r.body.personalized === true,
      5000,
    );
    expect(first.body.promotions[0].id.startsWith('hum-')).toBe(true);
    const strong = first.body.promotions[0].score;

    clock += 3 * DAY;
    // Three half-lives later the search is worth 10/8 = 1.25; a click (4) now wins.
    await producer.send(event({ type: 'click', anonymous_id: anon, element: { product_id: 'p-fan-001' }, date: clock }));
    const later = await poll(
      () => getJson(url),
      (r) => r.body.promotions[0]?.id.startsWith('fan-') === true,
      5000,
    );
    expect(later.body.promotions[0].id.startsWith('fan-')).toBe(true);
    expect(later.body.promotions[0].reason).toBe('you clicked fan');
    const hum = later.body.promotions.find((p: { id: string }) => p.id === first.body.promotions[0].id);
    expect(hum.score).toBeCloseTo(strong / 8, 3);
  });

  it('reports scores decayed to the read time', async () => {
    const anon = `a-${Math.random().toString(36).slice(2)}`;
    const url = `${running.url}/v1/promotions/${anon}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'espresso machine', date: clock }));
    const now = await poll(
      () => getJson(url),
      (r) => r.body.personalized === true,
      5000,
    );
    const before = now.body.promotions[0].score;
    clock += DAY;
    const after = await getJson(url);
    expect(after.body.promotions[0].id).toBe(now.body.promotions[0].id);
    expect(after.body.promotions[0].score).toBeCloseTo(before / 2, 3);
    clock -= DAY;
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { histogramDelta, parseHistogram } from '../../../../scripts/src/prom-histogram.ts';
import { inHoldout } from '../../src/api.ts';
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
  running = await startService(prefix, { PROMOTIONS_HOLDOUT_PCT: '50' });
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('the homepage API', () => {
  it('gives the holdout share the defaults on purpose and marks them', async () => {
    const ids = Array.from({ length: 40 }, (_, i) => `a-holdout-${Date.now()}-${i}`);
    await producer.send(...ids.map((id) => event({ type: 'search', anonymous_id: id, search_keyword: 'humidifier' })));
    const control = ids.find((id) => !inHoldout(`a:${id}`, 50))!;
    const held = ids.find((id) => inHoldout(`a:${id}`, 50))!;
    await poll(
      () => getJson(`${running.url}/v1/promotions/${control}`),
      (r) => r.body.personalized === true,
      5000,
    );
    // Give the held visitor's event the same time to land.
    await poll(
      () => redis.exists(`${prefix}user_promotions:{a:${held}}`),
      (n) => n === 1,
      5000,
    );
    const h = await getJson(`${running.url}/v1/promotions/${held}`);
    expect(h.body.holdout).toBe(true);
    expect(h.body.personalized).toBe(false);
    expect(h.body.promotions[0].id).toBe('home-free-shipping');
    const c = await getJson(`${running.url}/v1/promotions/${control}`);
    expect(c.body.holdout).toBe(false);
    expect(c.body.personalized).toBe(true);
    // Stable: asking again gives the same assignment.
    expect((await getJson(`${running.url}/v1/promotions/${held}`)).body.holdout).toBe(true);
  });

  it('honours limit, fills short lists with defaults and rejects bad input', async () => {
    const stamp = Date.now();
    let n = 0;
    while (inHoldout(`a:a-limit-${stamp}-${n}`, 50)) n++;
    const visitor = `a-limit-${stamp}-${n}`;
    await producer.send(event({ type: 'search', anonymous_id: visitor, search_keyword: 'espresso' }));
    const r = await poll(
      () => getJson(`${running.url}/v1/promotions/${visitor}?limit=20`),
      (x) => x.body.personalized === true,
      5000,
    );
    expect(r.body.promotions).toHaveLength(20);
    expect(r.body.promotions[0].id).toBe('cof-espresso');
    expect(r.body.promotions.some((p: { reason: string }) => p.reason === 'popular right now')).toBe(true);
    expect(new Set(r.body.promotions.map((p: { id: string }) => p.id)).size).toBe(20);
    expect(Date.parse(r.body.as_of)).toBeGreaterThan(Date.now() - 60_000);
    expect((await getJson(`${running.url}/v1/promotions/${visitor}?limit=2`)).body.promotions).toHaveLength(2);
    expect((await getJson(`${running.url}/v1/promotions/${visitor}?limit=0`)).status).toBe(400);
    expect((await getJson(`${running.url}/v1/promotions/${visitor}?limit=abc`)).status).toBe(400);
    expect((await getJson(`${running.url}/v1/promotions/${'x'.repeat(300)}`)).status).toBe(400);
    const bad = await getJson(`${running.url}/v1/promotions/${visitor}?limit=999`);
    expect(bad.body.error.code).toBe('invalid_limit');
  });

  it('exposes the freshness histogram on /metrics', async () => {
    const text = await (await fetch(`${running.url}/metrics`)).text();
    expect(text).toContain('promotions_freshness_seconds_bucket');
    expect(text).toMatch(/promotions_freshness_seconds_count \d+/);
    expect(text).toContain('promotions_events_total{result="applied"}');
  });

  it('splits freshness into stages, putting a delay before Kafka in to_kafka and nowhere else', async () => {
    const stages = ['to_kafka', 'to_consumer', 'in_batch', 'apply'];
    const scrape = async () => (await fetch(`${running.url}/metrics`)).text();
    const before = await scrape();
    let n = 0;
    while (inHoldout(`a:a-stage-${Date.now()}-${n}`, 50)) n++;
    const visitor = `a-stage-${Date.now()}-${n}`;
    // The event happened 3 s before it was sent: the client (or ingest) held it.
    await producer.send(event({ type: 'search', anonymous_id: visitor, search_keyword: 'humidifier', date: Date.now() - 3000 }));
    await poll(
      () => getJson(`${running.url}/v1/promotions/${visitor}`),
      (r) => r.body.personalized === true,
      5000,
    );
    const after = await scrape();
    const observed = (stage: string, le: number) => {
      const series = (text: string) => parseHistogram(text, 'promotions_freshness_stage_seconds', { stage });
      return histogramDelta(series(after), series(before)).buckets.find(([b]) => b === le)?.[1];
    };
    for (const stage of stages) expect(observed(stage, Infinity), stage).toBe(1);
    // to_kafka holds the 3 s (bucket le=2.5 did not count it, le=5 did); the other stages are quick.
    expect(observed('to_kafka', 2.5)).toBe(0);
    expect(observed('to_kafka', 5)).toBe(1);
    for (const stage of ['to_consumer', 'in_batch', 'apply']) expect(observed(stage, 1), stage).toBe(1);
  });
});

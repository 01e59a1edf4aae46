/**
 * The homepage API reading through @upstash/redis (REST) against a local
 * Upstash-compatible server (@humanwhocodes/upstash-redis-server) in front of
 * the real Redis. Covers what the REST path uses: GET (user_promotions and
 * the generation pointer) and PING, with bearer-token auth.
 */
import type { AddressInfo } from 'node:net';
import { serve } from '@hono/node-server';
import { createApp } from '@humanwhocodes/upstash-redis-server';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import type { Redis } from 'ioredis';
import {
  cleanup,
  connectRedis,
  event,
  EventProducer,
  getJson,
  poll,
  randomPrefix,
  REDIS_URL,
  type Running,
  setupTopics,
  startService,
  waitReady,
} from './harness.ts';

const prefix = randomPrefix();
const TOKEN = 'local-upstash-token';
let redis: Redis;
let producer: EventProducer;
let rest: ReturnType<typeof serve>;
let restUrl: string;
let running: Running;

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  await new Promise<void>((resolve) => {
    rest = serve({ fetch: createApp({ token: TOKEN, redisUrl: REDIS_URL }).fetch, port: 0, hostname: '127.0.0.1' }, (info: AddressInfo) => {
      restUrl = `http://127.0.0.1:${info.port}`;
      resolve();
    });
  });
  running = await startService(prefix, { UPSTASH_REDIS_REST_URL: restUrl, UPSTASH_REDIS_REST_TOKEN: TOKEN });
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await new Promise<void>((resolve) => (rest ? rest.close(() => resolve()) : resolve()));
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('the Upstash REST read path', () => {
  it('serves personalized promotions read over REST', async () => {
    await running.service.checks.redis!();
    const anon = `a-${Math.random().toString(36).slice(2)}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'humidifier' }));
    const res = await poll(
      () => getJson(`${running.url}/v1/promotions/${anon}`),
      (r) => r.body.personalized === true,
      3000,
    );
    expect(res.body.personalized).toBe(true);
    expect(res.body.promotions[0].id.startsWith('hum-')).toBe(true);
    const requests = await running.registry.getSingleMetric('promotions_api_requests_total')?.get();
    expect(requests?.values.some((v) => v.labels.personalized === 'true')).toBe(true);
  });

  it('fails the readiness check and answers with defaults when the REST token is wrong', async () => {
    // The local server logs every refused request; expected here.
    const quiet = vi.spyOn(console, 'error').mockImplementation(() => {});
    const bad = await startService(
      prefix,
      { UPSTASH_REDIS_REST_URL: restUrl, UPSTASH_REDIS_REST_TOKEN: 'wrong-token' },
      { consume: false },
    );
    try {
      await expect(bad.service.checks.redis!()).rejects.toThrow();
      const anon = `a-${Math.random().toString(36).slice(2)}`;
      const res = await getJson(`${bad.url}/v1/promotions/${anon}`);
      expect(res.status).toBe(200);
      expect(res.body.personalized).toBe(false);
    } finally {
      await bad.close();
      quiet.mockRestore();
    }
  });
});

/**
 * kafkajs gives a member with an empty assignment no fetcher and so no
 * heartbeat: the broker drops it after the session timeout and it idles for
 * good (seen on fresh topics: "Setting empty assignments" in the broker log).
 * Here the group leader's assigner hands out nothing on its first assignment;
 * the consumer must notice, rejoin, and then personalize.
 */
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { emptyFirstAssignment } from '../../../../scripts/src/testing/assigners.ts';
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
} from './harness.ts';

const prefix = randomPrefix();
const glitch = emptyFirstAssignment();
let redis: Redis;
let producer: EventProducer;
let running: Running | undefined;
const fatal: Error[] = [];

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  running = await startService(
    prefix,
    { PROMOTIONS_RESTART_MIN_BACKOFF_MS: '200', PROMOTIONS_RESTART_MAX_BACKOFF_MS: '1000' },
    { partitionAssigners: [glitch.assigner], onFatal: (err) => fatal.push(err) },
  );
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('a join that hands the promotions consumer no partitions', () => {
  it('is noticed and followed by a rejoin, after which events move promotions', async () => {
    const anon = `a-empty-assignment-${Date.now()}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'humidifier' }));
    // The guard checks 3 s after the empty join; the session timeout (30 s) would only drop the member.
    const t0 = Date.now();
    const r = await poll(
      () => getJson(`${running!.url}/v1/promotions/${anon}`),
      (x) => x.body.personalized === true,
      25_000,
      200,
    );
    expect(r.body.personalized).toBe(true);
    expect(Date.now() - t0).toBeLessThan(25_000);
    expect(glitch.assignments()).toBeGreaterThanOrEqual(2);
    expect(fatal).toEqual([]);
  }, 60_000);
});

import { ACTIVITY_TOPICS, topicName } from '@storepulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { loadPromotionsConfig } from '../../src/config.ts';
import { replayPromotions, type ReplayProgress } from '../../src/replay.ts';
import { generationKey } from '../../src/store.ts';
import { profileFromHash, scoresAtRef } from '../../src/profile.ts';
import {
  BROKERS,
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
let redis: Redis;
let producer: EventProducer;
let running: Running;
const kafka = new Kafka({ clientId: 'promotions-test-replay', brokers: BROKERS, logLevel: logLevel.NOTHING });

async function caughtUp(group: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    for (const t of ACTIVITY_TOPICS) {
      const topic = topicName(prefix, t);
      const ends = await admin.fetchTopicOffsets(topic);
      const [committed] = await admin.fetchOffsets({ groupId: group, topics: [topic] });
      for (const e of ends) {
        const c = committed?.partitions.find((p) => p.partition === e.partition)?.offset ?? '-1';
        if (e.high !== '0' && BigInt(c) < BigInt(e.high)) return false;
      }
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

async function snapshot(keyspace: string): Promise<Record<string, { interests: Record<string, string>; promotions: unknown }>> {
  const out: Record<string, { interests: Record<string, string>; promotions: unknown }> = {};
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyspace}interests:{*`, 'COUNT', 1000);
    cursor = next;
    for (const k of keys) {
      const visitor = k.slice(`${keyspace}interests:`.length);
      const p = profileFromHash(await redis.hgetall(k));
      // Scores as of the newest event: the stored form depends on the base time, which depends on delivery order.
      const h: Record<string, string> = { _ref: String(p.ref) };
      for (const [t, v] of scoresAtRef(p, 24 * 3_600_000)) h[`s:${t}`] = String(v);
      for (const [t, r] of p.reasons) h[`r:${t}`] = r;
      const doc = JSON.parse((await redis.get(`${keyspace}user_promotions:${visitor}`)) ?? '{"promotions":[]}');
      out[visitor] = { interests: h, promotions: doc.promotions.map((p: { id: string; reason: string }) => [p.id, p.reason]) };
    }
  } while (cursor !== '0');
  return out;
}

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  running = await startService(prefix, { PROMOTIONS_GENERATION_POLL_MS: '200' });
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('replay', () => {
  it('rebuilds the same state as live processing and switches over', async () => {
    const base = Date.now() - 5 * 3_600_000;
    const keywords = ['humidifier', 'air purifer', 'espresso', 'robot vacuums', 'Heaters', 'bluetooth speaker', 'sheets', 'garden gnome'];
    const events = [];
    for (let v = 0; v < 8; v++) {
      const anon = `a-replay-${v}`;
      events.push(event({ type: 'search', anonymous_id: anon, search_keyword: keywords[v]!, date: base + v * 60_000 }));
      events.push(
        event({
          type: 'click',
          anonymous_id: anon,
          element: { product_id: `p-${['hum', 'pur', 'cof', 'vac'][v % 4]}-00${v}` },
          date: base + v * 90_000,
        }),
      );
      events.push(event({ type: 'page_view', anonymous_id: anon, page_path: '/category/fans', date: base + v * 120_000 }));
      events.push(event({ type: 'scroll', anonymous_id: anon, page_path: '/category/lighting', date: base + v * 130_000 }));
      if (v % 3 === 0) {
        events.push(
          event({ type: 'identify', anonymous_id: anon, user_id: `user${v}@example.com`, user_verified: true, date: base + v * 140_000 }),
        );
        events.push(
          event({
            type: 'search',
            anonymous_id: anon,
            user_id: `user${v}@example.com`,
            user_verified: true,
            search_keyword: 'coffee grinder',
            date: base + v * 150_000,
          }),
        );
        events.push(event({ type: 'search', anonymous_id: anon, search_keyword: 'desk fan', date: base + v * 160_000 }));
      }
    }
    events.push(events[0]!, events[5]!);
    for (const e of events) await producer.send(e);
    await poll(
      () => caughtUp(`${prefix}promotions`),
      (ok) => ok,
      15_000,
      200,
    );
    const live = await snapshot(prefix);
    expect(Object.keys(live).length).toBeGreaterThanOrEqual(8);

    const progress: ReplayProgress[] = [];
    const config = loadPromotionsConfig({
      TOPIC_PREFIX: prefix,
      KAFKA_BROKERS: BROKERS.join(','),
      REDIS_URL,
      PROMOTIONS_GENERATION_POLL_MS: '200',
    });
    const result = await replayPromotions({
      config,
      logger: pino({ level: 'silent' }),
      redis,
      kafka,
      from: 'beginning',
      onProgress: (p) => progress.push(p),
    });
    expect(result.previous).toBe('');
    expect(await redis.get(generationKey(prefix))).toBe(result.generation);
    expect(result.processed).toBe(events.length);
    expect(progress.at(-1)?.phase).toBe('done');

    const replayed = await snapshot(`${prefix}${result.generation}`);
    expect(Object.keys(replayed).sort()).toEqual(Object.keys(live).sort());
    for (const [visitor, s] of Object.entries(live)) {
      const r = replayed[visitor]!;
      expect(r.promotions, visitor).toEqual(s.promotions);
      expect(Object.keys(r.interests).sort(), visitor).toEqual(Object.keys(s.interests).sort());
      for (const [f, v] of Object.entries(s.interests)) {
        if (f.startsWith('s:')) expect(Number(r.interests[f]), `${visitor} ${f}`).toBeCloseTo(Number(v), 9);
        else expect(r.interests[f], `${visitor} ${f}`).toBe(v);
      }
    }

    // The API and the live processor now use the new generation.
    const anon = `a-after-replay-${Date.now()}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'air fryer' }));
    const res = await poll(
      () => getJson(`${running.url}/v1/promotions/${anon}`),
      (r) => r.body.personalized === true,
      5000,
    );
    expect(res.body.promotions[0].id).toBe('kit-airfryer');
    expect(await redis.exists(`${prefix}${result.generation}interests:{a:${anon}}`)).toBe(1);
    const old = await getJson(`${running.url}/v1/promotions/a-replay-1`);
    expect(old.body.personalized).toBe(true);
  });

  it('rebuilds from a point in time, leaving earlier events out', async () => {
    await new Promise((r) => setTimeout(r, 50));
    const since = Date.now();
    const anon = `a-since-${since}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'turntable' }));
    await poll(
      () => caughtUp(`${prefix}promotions`),
      (ok) => ok,
      15_000,
      200,
    );
    const config = loadPromotionsConfig({
      TOPIC_PREFIX: prefix,
      KAFKA_BROKERS: BROKERS.join(','),
      REDIS_URL,
      PROMOTIONS_GENERATION_POLL_MS: '200',
    });
    const result = await replayPromotions({ config, logger: pino({ level: 'silent' }), redis, kafka, from: since, dropOld: true });
    expect(result.processed).toBe(1);
    const rebuilt = await snapshot(`${prefix}${result.generation}`);
    expect(Object.keys(rebuilt)).toEqual([`{a:${anon}}`]);
    expect(await redis.exists(`${prefix}${result.previous}interests:{a:a-replay-1}`)).toBe(0);
    const res = await getJson(`${running.url}/v1/promotions/${anon}`);
    expect(res.body.promotions[0].id).toBe('aud-turntable');
  });
});

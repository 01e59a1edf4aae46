/**
 * Fault scenario 8, in-process: the promotions Redis (private, no
 * persistence) restarts empty while the processor runs, or is emptied while
 * it is stopped. The lost-state guard notices and rebuilds every visitor by
 * replay from Kafka (the shared broker, own prefix) while the live consumer
 * keeps applying new events; afterwards each visitor equals what it was plus
 * the new events, each counted once.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@storepulse/contracts';
import { profileFromHash, scoresAtRef } from '../../src/profile.ts';
import { stateKey } from '../../src/state-guard.ts';
import { generationKey } from '../../src/store.ts';
import {
  cleanup,
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
import { startPrivateRedis, type PrivateRedis } from './private-redis.ts';

const prefix = randomPrefix();
const HALF_LIFE_MS = 24 * 3_600_000;
const ENV = {
  PROMOTIONS_STATE_CHECK_MS: '200',
  PROMOTIONS_GENERATION_POLL_MS: '200',
  PROMOTIONS_RESTART_MIN_BACKOFF_MS: '200',
  PROMOTIONS_RESTART_MAX_BACKOFF_MS: '2000',
};
let privateRedis: PrivateRedis;
let redis: Redis;
let producer: EventProducer;
let running: Running | undefined;
const visitors = Array.from({ length: 6 }, (_, i) => `a-lost-${Date.now().toString(36)}-${i}`);
const keywords = ['humidifier', 'espresso machine', 'air purifier', 'robot vacuum', 'space heater', 'bluetooth speaker'];

interface VisitorState {
  version: number;
  scores: Record<string, number>;
  reasons: Record<string, string>;
  promotions: string[];
}

async function keyspace(): Promise<string> {
  return `${prefix}${(await redis.get(generationKey(prefix))) ?? ''}`;
}

async function stateOf(visitor: string): Promise<VisitorState> {
  const ks = await keyspace();
  const p = profileFromHash(await redis.hgetall(redisKeys.interests(ks, `a:${visitor}`)));
  const doc = JSON.parse((await redis.get(redisKeys.userPromotions(ks, `a:${visitor}`))) ?? '{"promotions":[]}') as {
    promotions: Array<{ id: string }>;
  };
  return {
    version: p.version,
    // As of the newest event: the stored form depends on each visitor's base time.
    scores: Object.fromEntries([...scoresAtRef(p, HALF_LIFE_MS)].map(([t, v]) => [t, Math.round(v * 1e6) / 1e6])),
    reasons: Object.fromEntries(p.reasons),
    promotions: doc.promotions.map((x) => x.id),
  };
}

async function snapshot(): Promise<Record<string, VisitorState>> {
  const out: Record<string, VisitorState> = {};
  for (const v of visitors) out[v] = await stateOf(v);
  return out;
}

async function metric(name: string, labels: string): Promise<number> {
  const text = await running!.registry.getSingleMetricAsString(name);
  return Number(new RegExp(`${name}\\{${labels}\\} (\\d+)`).exec(text)?.[1] ?? 0);
}

async function marker(): Promise<{ status?: string; generation?: string }> {
  return JSON.parse((await redis.get(stateKey(prefix)).catch(() => null)) ?? '{}') as { status?: string; generation?: string };
}

beforeAll(async () => {
  privateRedis = await startPrivateRedis();
  redis = new Redis(privateRedis.url, { maxRetriesPerRequest: 50 });
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  running = await startService(prefix, { REDIS_URL: privateRedis.url, ...ENV });
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, undefined);
  redis?.disconnect();
  await privateRedis?.stop();
});

describe('lost Redis state', () => {
  let before: Record<string, VisitorState>;

  it('rebuilds the state by replay when Redis restarts empty under a running processor, counting nothing twice', async () => {
    const base = Date.now() - 3_600_000;
    const first = visitors.flatMap((v, i) => [
      event({ type: 'search', anonymous_id: v, search_keyword: keywords[i]!, date: base + i * 1000 }),
      event({ type: 'page_view', anonymous_id: v, page_path: '/category/fans', date: base + i * 1000 + 500 }),
    ]);
    await producer.send(...first);
    await poll(snapshot, (s) => Object.values(s).every((x) => x.version === 2 && x.promotions.length > 0), 20_000, 100);
    before = await snapshot();
    expect(Object.values(before).every((x) => x.version === 2)).toBe(true);
    expect((await marker()).status).toBe('ok');

    await privateRedis.kill();
    await privateRedis.start();
    // New events while the state is being rebuilt: the live consumer keeps going.
    const later = visitors
      .slice(0, 3)
      .map((v, i) => event({ type: 'search', anonymous_id: v, search_keyword: 'coffee grinder', date: base + 60_000 + i * 1000 }));
    await producer.send(...later);

    const done = await poll(marker, (m) => m.status === 'ok' && m.generation !== undefined, 60_000, 100);
    expect(done.generation).toMatch(/^g[0-9a-z]+:$/);
    expect(await redis.get(generationKey(prefix))).toBe(done.generation);
    expect(await metric('promotions_state_rebuilds_total', 'result="done"')).toBe(1);

    const after = await poll(snapshot, (s) => visitors.slice(0, 3).every((v) => s[v]!.version === 3), 20_000, 100);
    for (const v of visitors.slice(3)) expect(after[v], v).toEqual(before[v]);
    for (const v of visitors.slice(0, 3)) {
      expect(after[v]!.version, v).toBe(3);
      expect(Object.keys(after[v]!.scores), v).toEqual(expect.arrayContaining(Object.keys(before[v]!.scores)));
      expect(after[v]!.promotions, v).toContain('cof-grinder');
    }
    // The homepage API reads the rebuilt generation.
    const r = await getJson(`${running!.url}/v1/promotions/${visitors[4]}`);
    expect(r.body.personalized).toBe(true);
    expect(r.body.promotions[0].id).toBe(before[visitors[4]!]!.promotions[0]);
  }, 120_000);

  it('rebuilds at start when Redis lost its data while the processor was stopped', async () => {
    const now = await snapshot();
    await running!.close();
    running = undefined;
    await redis.flushall();
    running = await startService(prefix, { REDIS_URL: privateRedis.url, ...ENV });
    const done = await poll(marker, (m) => m.status === 'ok' && m.generation !== undefined, 60_000, 100);
    expect(done.generation).toMatch(/^g[0-9a-z]+:$/);
    expect(await snapshot()).toEqual(now);
  }, 120_000);
});

import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, startTestApp, TEST_REDIS_URL, type TestApp } from '../../src/testing/app.ts';

// Redis loses everything (a cache node restarted empty), the purge tombstones
// included. The promotions processor rebuilds the state by replaying Kafka; it
// must put the tombstones back from ClickHouse first, or the replay would
// bring a purged visitor's interests back. The periodic tombstone resync is
// off here (PURGE_REDIS_RESYNC_MS=0), so only the rebuild hook can do it.
const SERVER_KEY = 'purge-rebuild-server-key-0123456789';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';
const run = randomUUID().slice(0, 8);
const X = `a:px-${run}`;
const Y = `a:py-${run}`;
let app: TestApp;
let redis: Redis;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  while (Date.now() - t0 < timeoutMs) {
    const v = await fn();
    if (v !== undefined) return v;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the app said:\n${app.output().slice(-3000)}`);
}

async function personalized(visitor: string): Promise<boolean> {
  const res = await fetch(`${app.baseUrl}/v1/promotions/${visitor.slice(2)}`);
  return ((await res.json()) as { personalized: boolean }).personalized;
}

/** Every key of the visitor under this prefix, in any generation, tombstone apart. */
async function stateKeysOf(visitor: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${app.prefix}*{${visitor}}`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys.filter((k) => !k.startsWith(`${app.prefix}purged:`)));
  } while (cursor !== '0');
  return out;
}

beforeAll(async () => {
  redis = new Redis(TEST_REDIS_URL);
  app = await startTestApp({
    ANALYTICS_FLUSH_INTERVAL_MS: '100',
    PROMOTIONS_SERVER_KEY: SERVER_KEY,
    PROMOTIONS_GENERATION_POLL_MS: '200',
    PROMOTIONS_STATE_CHECK_MS: '300',
    PURGE_REDIS_RESYNC_MS: '0',
  });
});

afterAll(async () => {
  await app?.stop();
  if (app) await cleanup(app.prefix);
  redis?.disconnect();
});

describe('a purged visitor after Redis lost everything', () => {
  it('stays purged through the automatic rebuild while the others come back', async () => {
    const events = [X, Y].map((v) => ({
      event_id: randomUUID(),
      type: 'search',
      timestamp: Date.now(),
      anonymous_id: v.slice(2),
      session_id: `s-${v}`,
      page_url: '/search',
      search_keyword: 'humidifier',
    }));
    const res = await fetch(`${app.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'user-agent': UA },
      body: JSON.stringify({ write_key: 'wk_demo', sent_at: Date.now(), events }),
    });
    expect(res.status).toBe(202);
    await until('both personalized', async () => ((await personalized(X)) && (await personalized(Y)) ? true : undefined));
    // The purge records the tombstone in ClickHouse too, where it survives the loss of Redis.
    const purged = await fetch(`${app.baseUrl}/v1/visitors/${encodeURIComponent(X)}`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${SERVER_KEY}` },
    });
    expect(purged.status).toBe(200);
    expect(await stateKeysOf(X)).toEqual([]);

    // Redis loses everything of this shop: state, marker, tombstones.
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${app.prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await redis.del(...keys);
    } while (cursor !== '0');
    expect(await personalized(Y)).toBe(false);

    await until('the rebuild', async () => (/promotions state rebuilt from Kafka/.test(app.output()) ? true : undefined), 60_000);
    expect(await personalized(Y)).toBe(true);
    expect(await redis.get(`${app.prefix}purged:{${X}}`)).not.toBeNull();
    expect(await stateKeysOf(X)).toEqual([]);
    expect(await personalized(X)).toBe(false);
  }, 120_000);
});

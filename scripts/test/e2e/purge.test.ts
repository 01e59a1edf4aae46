import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVITY_TOPICS, CONSUMER_GROUPS, groupId, signUserToken, topicName } from '@storepulse/contracts';
import { loadPromotionsConfig } from '@storepulse/promotions';
import { createWarehouseClient } from '@storepulse/warehouse';
import { replayPromotions } from '../../../processors/promotions/src/replay.ts';
import { cleanup, startTestApp, TEST_BROKERS, TEST_REDIS_URL, type TestApp } from '../../src/testing/app.ts';

// Consent opt-out end to end: events of X and Y through POST /v1/batch,
// DELETE X, then a Kafka replay of both processors; X stays purged, Y is
// neither touched nor counted twice, and X's events after the purge count.
const SERVER_KEY = 'purge-test-server-key-0123456789';
const SECRET = 'purge-test-identity-secret';
const UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/156.0 Safari/537.36';
const run = randomUUID().slice(0, 8);
const userX = `x-${run}@example.com`;
const anonX = `ax-${run}`;
const anonY = `ay-${run}`;
const X = `u:${userX}`;
const AX = `a:${anonX}`;
const Y = `a:${anonY}`;
const KW = { xAnon: `humidifier px${run}`, xUser: `humidifier ux${run}`, xBack: `humidifier bx${run}`, y: `humidifier y${run}` };
const ENV = {
  ANALYTICS_FLUSH_INTERVAL_MS: '100',
  PROMOTIONS_SERVER_KEY: SERVER_KEY,
  IDENTITY_SECRET: SECRET,
  PROMOTIONS_GENERATION_POLL_MS: '200',
  PURGE_REDIS_RESYNC_MS: '1000',
};

let app: TestApp;
let redis: Redis;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function search(anonymous_id: string, keyword: string, user_id?: string) {
  return {
    event_id: randomUUID(),
    type: 'search',
    timestamp: Date.now(),
    anonymous_id,
    ...(user_id ? { user_id } : {}),
    session_id: `s-${anonymous_id}`,
    page_url: '/search',
    search_keyword: keyword,
  };
}

async function post(events: object[], userToken?: string) {
  const res = await fetch(`${app.baseUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': UA },
    body: JSON.stringify({ write_key: 'wk_demo', sent_at: Date.now(), ...(userToken ? { user_token: userToken } : {}), events }),
  });
  const body = (await res.json()) as { accepted: number; rejected: unknown[] };
  expect(res.status, JSON.stringify(body)).toBe(202);
  expect(body.rejected).toEqual([]);
  return body;
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const t0 = Date.now();
  let last: T | undefined;
  while (Date.now() - t0 < timeoutMs) {
    last = await fn();
    if (last !== undefined) return last;
    await sleep(100);
  }
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; the app said:\n${app.output().slice(-3000)}`);
}

/** Searches per keyword in the raw events (content-gaps reads activity.events, not the rollups). */
async function rawSearches(keyword: string): Promise<number> {
  const res = await fetch(`${app.baseUrl}/v1/reports/content-gaps?since=1h&keyword=${encodeURIComponent(keyword)}`);
  expect(res.status).toBe(200);
  const rows = ((await res.json()) as { rows: { keyword: string; searches: number }[] }).rows;
  return rows.find((r) => r.keyword === keyword)?.searches ?? 0;
}

/** Searches per keyword in the rollups (top-searches). */
async function rolledUpSearches(keyword: string): Promise<number> {
  const res = await fetch(`${app.baseUrl}/v1/reports/top-searches?since=1h&keyword=${encodeURIComponent(keyword)}`);
  expect(res.status).toBe(200);
  const rows = ((await res.json()) as { rows: { keyword: string; searches: number }[] }).rows;
  return rows.find((r) => r.keyword === keyword)?.searches ?? 0;
}

async function promotions(key: string, asUser: boolean) {
  const res = await fetch(`${app.baseUrl}/v1/promotions/${encodeURIComponent(key)}`, {
    headers: asUser ? { authorization: `Bearer ${SERVER_KEY}` } : {},
  });
  expect(res.status).toBe(200);
  return (await res.json()) as { personalized: boolean; promotions: { reason: string }[] };
}

function purge(key: string, auth: string | null = `Bearer ${SERVER_KEY}`) {
  return fetch(`${app.baseUrl}/v1/visitors/${encodeURIComponent(key)}`, {
    method: 'DELETE',
    headers: auth === null ? {} : { authorization: auth },
  });
}

/** Every key of a visitor in any generation of this prefix (tombstones apart). */
async function keysOf(visitor: string): Promise<string[]> {
  const out: string[] = [];
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${app.prefix}*{${visitor}}`, 'COUNT', 1000);
    cursor = next;
    out.push(...keys.filter((k) => !k.startsWith(`${app.prefix}purged:`)));
  } while (cursor !== '0');
  return out.sort();
}

async function generation(): Promise<string> {
  return (await redis.get(`${app.prefix}promotions:generation`)) ?? '';
}

async function interests(visitor: string, gen?: string): Promise<Record<string, string>> {
  return redis.hgetall(`${app.prefix}${gen ?? (await generation())}interests:{${visitor}}`);
}

/** Rows per visitor in activity.events, read with the app stopped (one process per embedded data dir). */
async function warehouseRows(dataDir: string) {
  const wh = createWarehouseClient({ dataDir });
  try {
    const q = async <T>(query: string) =>
      (await wh.client.query({ query, query_params: { keys: [X, AX, Y] }, format: 'JSONEachRow' })).json<T>();
    const rows = await q<{ user_key: string; n: number; u: number }>(
      'SELECT user_key, count() AS n, uniqExact(event_id) AS u FROM activity.events WHERE user_key IN {keys:Array(String)} GROUP BY user_key',
    );
    const final = await q<{ user_key: string; n: number }>(
      'SELECT user_key, count() AS n FROM activity.events FINAL WHERE user_key IN {keys:Array(String)} GROUP BY user_key',
    );
    const tombstones = await q<{ user_key: string }>('SELECT DISTINCT user_key FROM activity.purged_visitors ORDER BY user_key');
    const by = (k: string) => rows.find((r) => r.user_key === k) ?? { n: 0, u: 0 };
    const fin = (k: string) => Number(final.find((r) => r.user_key === k)?.n ?? 0);
    return {
      x: { ...by(X), final: fin(X) },
      ax: { ...by(AX), final: fin(AX) },
      y: { ...by(Y), final: fin(Y) },
      tombstones: tombstones.map((t) => t.user_key),
    };
  } finally {
    await wh.close();
  }
}

async function groupsCaughtUp(kafka: Kafka, prefix: string): Promise<boolean> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const topics = ACTIVITY_TOPICS.map((t) => topicName(prefix, t));
    for (const g of [CONSUMER_GROUPS.promotions, CONSUMER_GROUPS.analytics]) {
      const committed = await admin.fetchOffsets({ groupId: groupId(prefix, g), topics });
      for (const t of committed) {
        const high = await admin.fetchTopicOffsets(t.topic);
        for (const p of high) {
          const c = t.partitions.find((x) => x.partition === p.partition);
          if (Number(p.high) > 0 && Number(c?.offset ?? -1) < Number(p.high)) return false;
        }
      }
    }
    return true;
  } finally {
    await admin.disconnect();
  }
}

describe('consent opt-out: DELETE /v1/visitors/:userKey', () => {
  const kafka = new Kafka({ clientId: 'purge-test', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  let ySnapshot: Record<string, string>;
  let purgedAt = 0;

  beforeAll(async () => {
    app = await startTestApp(ENV);
    redis = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 2 });
  });
  afterAll(async () => {
    await app?.stop({ keepData: true });
    if (app) await cleanup(app.prefix, app.dataDir);
    redis?.disconnect();
  });

  it('refuses a caller without the server key (401) and a malformed visitor key (400), and is not CORS-exposed', async () => {
    const none = await purge(X, null);
    expect(none.status).toBe(401);
    expect(((await none.json()) as { error: { code: string } }).error.code).toBe('invalid_server_key');
    expect((await purge(X, 'Bearer wrong-key-wrong-key-wrong')).status).toBe(401);
    expect((await purge(X, `Basic ${SERVER_KEY}`)).status).toBe(401);
    for (const bad of ['x:foo', 'u:', userX, `a:${'z'.repeat(257)}`]) {
      const r = await purge(bad);
      expect(r.status, bad).toBe(400);
      expect(((await r.json()) as { error: { code: string } }).error.code).toBe('invalid_user_key');
    }
    const pre = await fetch(`${app.baseUrl}/v1/visitors/${encodeURIComponent(X)}`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://evil.example',
        'access-control-request-method': 'DELETE',
        'access-control-request-headers': 'authorization',
      },
    });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    const denied = await fetch(`${app.baseUrl}/v1/visitors/${encodeURIComponent(X)}`, {
      method: 'DELETE',
      headers: { origin: 'https://evil.example' },
    });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('erases X from Redis and activity.events, leaves Y untouched, and says the rollups keep their aggregates', async () => {
    // X searches anonymously, logs in (identify merges the anonymous history), searches as a user; Y is anonymous.
    await post(
      [
        search(anonX, KW.xAnon),
        search(anonX, KW.xAnon),
        { event_id: randomUUID(), type: 'identify', timestamp: Date.now(), anonymous_id: anonX, user_id: userX, session_id: `s-${anonX}` },
        search(anonX, KW.xUser, userX),
        search(anonX, KW.xUser, userX),
        search(anonX, KW.xUser, userX),
        ...Array.from({ length: 4 }, () => search(anonY, KW.y)),
      ],
      signUserToken(SECRET, userX),
    );
    await until(
      'X and Y personalized',
      async () => ((await promotions(userX, true)).personalized && (await promotions(anonY, false)).personalized) || undefined,
    );
    await until('the raw events of X and Y', async () =>
      (await rawSearches(KW.xAnon)) === 2 && (await rawSearches(KW.xUser)) === 3 && (await rawSearches(KW.y)) === 4 ? true : undefined,
    );
    ySnapshot = await interests(Y);
    expect(Number(ySnapshot._v)).toBe(4);
    expect(Number((await interests(X))._v)).toBeGreaterThanOrEqual(4);
    expect(await keysOf(X)).toHaveLength(3); // interests, applied, user_promotions
    expect(await keysOf(AX)).toEqual([`${app.prefix}alias:{${AX}}`]); // cleared by the merge, alias kept

    const t0 = performance.now();
    const res = await purge(X);
    const ms = Math.round(performance.now() - t0);
    expect(res.status).toBe(200);
    expect(res.headers.get('access-control-allow-origin')).toBeNull();
    const body = (await res.json()) as {
      visitor: string;
      purged_at: string;
      tombstone_expires_at: string;
      linked_visitors: string[];
      redis: { keys_deleted: number };
      clickhouse: { rows_deleted: number; tables: Record<string, number>; aggregates_kept: boolean };
    };
    purgedAt = Date.parse(body.purged_at);
    expect(body).toMatchObject({
      visitor: X,
      linked_visitors: [AX],
      redis: { keys_deleted: 4 },
      clickhouse: { rows_deleted: 6, aggregates_kept: true },
    });
    expect(body.clickhouse.tables.events).toBe(6);
    // A table filled row by row from the events (search_clicks) loses X's five searches too.
    for (const [table, n] of Object.entries(body.clickhouse.tables)) if (table !== 'events') expect(n, table).toBe(5);
    expect(Date.parse(body.tombstone_expires_at) - purgedAt).toBe(30 * 86_400_000);
    console.log(`[purge] DELETE answered in ${ms} ms: ${JSON.stringify(body)}`);

    expect(await keysOf(X)).toEqual([]);
    expect(await keysOf(AX)).toEqual([]);
    expect(Number(await redis.get(`${app.prefix}purged:{${X}}`))).toBe(purgedAt);
    expect(Number(await redis.get(`${app.prefix}purged:{${AX}}`))).toBe(purgedAt);
    const ttl = await redis.pttl(`${app.prefix}purged:{${X}}`);
    expect(ttl).toBeGreaterThan(29 * 86_400_000);
    expect(await interests(Y)).toEqual(ySnapshot);
    expect((await promotions(userX, true)).personalized).toBe(false);
    expect(await rawSearches(KW.xAnon)).toBe(0);
    expect(await rawSearches(KW.xUser)).toBe(0);
    expect(await rawSearches(KW.y)).toBe(4);
    // Documented, not hidden: the rollups still count X's searches.
    expect(await rolledUpSearches(KW.xUser)).toBe(3);

    const again = await purge(X);
    expect(again.status).toBe(200);
    expect(await again.json()).toMatchObject({
      visitor: X,
      linked_visitors: [],
      redis: { keys_deleted: 0 },
      clickhouse: { rows_deleted: 0 },
    });
  });

  it('applies the events X sends after the purge (the visitor came back)', async () => {
    await post([search(anonX, KW.xBack, userX), search(anonX, KW.xBack, userX)], signUserToken(SECRET, userX));
    const back = await until('X personalized again', async () => {
      const p = await promotions(userX, true);
      return p.personalized ? p : undefined;
    });
    expect(back.promotions[0]?.reason).toMatch(/search/i);
    await until('the new raw events of X', async () => ((await rawSearches(KW.xBack)) === 2 ? true : undefined));
    expect(Number((await interests(X))._v)).toBe(2);
  });

  it('keeps X purged and Y counted once after both consumer groups re-read Kafka from the beginning and a promotions replay', async () => {
    await app.stop({ keepData: true });
    const before = await warehouseRows(app.dataDir);
    expect(before).toMatchObject({ x: { n: 2, u: 2 }, ax: { n: 0 }, y: { n: 4, u: 4 }, tombstones: [AX, X] });

    // Redelivery of everything: reset both groups to the earliest offsets (the app is stopped, the groups are empty).
    const admin = kafka.admin();
    await admin.connect();
    try {
      for (const g of [CONSUMER_GROUPS.promotions, CONSUMER_GROUPS.analytics]) {
        for (const t of ACTIVITY_TOPICS)
          await admin.resetOffsets({ groupId: groupId(app.prefix, g), topic: topicName(app.prefix, t), earliest: true });
      }
    } finally {
      await admin.disconnect();
    }
    const stopped = app;
    app = await startTestApp({ ...ENV, TOPIC_PREFIX: stopped.prefix, DATA_DIR: stopped.dataDir });
    await until('both groups caught up again', async () => ((await groupsCaughtUp(kafka, app.prefix)) ? true : undefined), 60_000);
    expect(Number((await interests(X))._v)).toBe(2);
    expect(await keysOf(AX)).toEqual([]);
    expect(await interests(Y)).toEqual(ySnapshot);

    // The promotions replay builds a new generation from Kafka: the tombstones apply there too.
    const config = loadPromotionsConfig({
      TOPIC_PREFIX: app.prefix,
      KAFKA_BROKERS: TEST_BROKERS.join(','),
      REDIS_URL: TEST_REDIS_URL,
      PROMOTIONS_GENERATION_POLL_MS: '200',
    });
    const replay = await replayPromotions({ config, logger: pino({ level: 'silent' }), redis, kafka, from: 'beginning' });
    expect(await generation()).toBe(replay.generation);
    expect(Number((await interests(X, replay.generation))._v)).toBe(2);
    expect(await keysOf(AX)).toEqual([]);
    expect((await interests(Y, replay.generation))._v).toBe(ySnapshot._v);
    expect((await promotions(userX, true)).personalized).toBe(true);

    // Redis loses a tombstone (a flush, an empty restart) and a rebuild brings the anonymous
    // history back: the tombstones kept in ClickHouse purge it again (PURGE_REDIS_RESYNC_MS).
    await redis.del(`${app.prefix}purged:{${AX}}`);
    await redis.hset(`${app.prefix}${replay.generation}interests:{${AX}}`, '_v', '1', 's:humidifier', '10');
    const restored = await until('the tombstone restored from ClickHouse', async () =>
      (await redis.get(`${app.prefix}purged:{${AX}}`)) === null ? undefined : Number(await redis.get(`${app.prefix}purged:{${AX}}`)),
    );
    expect(restored).toBe(purgedAt);
    expect(await keysOf(AX)).toEqual([]);
    expect(Number((await interests(X))._v)).toBe(2);

    await app.stop({ keepData: true });
    const purgedLog = /"purged":(\d+)[^\n]*analytics processor stopped/.exec(app.output());
    const after = await warehouseRows(app.dataDir);
    console.log(
      `[purge] after the re-read: ${JSON.stringify(after)}; rows dropped by the tombstone filter: ${purgedLog?.[1]}; purged_at ${new Date(purgedAt).toISOString()}`,
    );
    // X: only the two events after the purge; the six before stay erased (X and its anonymous id).
    expect(after.x).toMatchObject({ u: 2, final: 2 });
    expect(after.ax).toMatchObject({ n: 0 });
    expect(after.y).toMatchObject({ u: 4, final: 4 });
    expect(Number(purgedLog?.[1])).toBe(6);
  }, 240_000);
});

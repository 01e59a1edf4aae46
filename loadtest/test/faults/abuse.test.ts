/**
 * Abuse cases that need no broken service: each sends one kind of hostile or
 * broken input to the real app (shared Kafka and Redis, own TOPIC_PREFIX)
 * and checks the answer it documents, then that nothing was harmed: the app
 * still answers, and what reached Kafka / Redis / ClickHouse is what should.
 */
import { gzipSync } from 'node:zlib';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys, signUserToken, type EnrichedEvent } from '@storepulse/contracts';
import { cleanup, consumeUntil, startTestApp, type TestApp } from '../../../scripts/src/testing/app.ts';
import { rssMbOf } from '../../faults/app.ts';
import { BROWSER_UA } from '../../faults/ledger.ts';
import { sleep } from '../../faults/services.ts';
import { createWarehouseClient } from '@storepulse/warehouse';
import { record } from '../../faults/scenario.ts';

const SECRET = 'abuse-identity-secret';
const SERVER_KEY = 'abuse-server-key-0123456789';
let app: TestApp;
let redis: Redis;
const run = `ab${Date.now().toString(36)}`;
const results: Record<string, unknown> = {};

beforeAll(async () => {
  app = await startTestApp({
    WRITE_KEYS: 'wk_demo=demo:*;wk_shop=shop:https://shop.example',
    IDENTITY_SECRET: SECRET,
    PROMOTIONS_SERVER_KEY: SERVER_KEY,
    // Low enough that a burst from one address meets it even on a slow, busy
    // machine; the burst covers the ~20 requests the other cases send first.
    RATE_LIMIT_IP_REQUESTS_PER_S: '5',
    RATE_LIMIT_IP_BURST: '40',
    // vitest puts BASE_URL=/ in the environment; the warehouse reads BASE_URL as a URL.
    BASE_URL: '',
  });
  redis = new Redis(app.redisUrl);
});

afterAll(async () => {
  redis?.disconnect();
  if (app) {
    await app.stop({ keepData: true });
    await cleanup(app.prefix, app.dataDir);
  }
  record('abuse', results);
});

let n = 0;
function ev(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    event_id: `${run}-${n++}`,
    type: 'search',
    timestamp: Date.now(),
    anonymous_id: `${run}-anon`,
    search_keyword: 'humidifier',
    page_url: '/search',
    ...extra,
  };
}

async function post(
  body: string | Buffer,
  headers: Record<string, string> = {},
  query = '',
): Promise<{
  status: number;
  json: { error?: { code: string; message: string }; accepted?: number; rejected?: unknown[] };
  headers: Headers;
}> {
  const res = await fetch(`${app.baseUrl}/v1/batch${query}`, {
    method: 'POST',
    headers: { 'Content-Type': 'application/json', 'User-Agent': BROWSER_UA, ...headers },
    body,
  });
  const text = await res.text();
  let json = {};
  try {
    json = JSON.parse(text);
  } catch {
    // not JSON: the assertion on json.error will say so
  }
  return { status: res.status, json, headers: res.headers };
}

async function healthy(): Promise<void> {
  const r = await post(JSON.stringify({ write_key: 'wk_demo', events: [ev()] }));
  expect(r.status).toBe(202);
}

describe('abuse of the ingest API', () => {
  it('answers 413 to a gzip bomb (10 MB of zeros in 10 KB) without inflating it, and keeps serving', async () => {
    const bomb = gzipSync(Buffer.alloc(10 * 1024 * 1024, 0x20));
    expect(bomb.length).toBeLessThan(64 * 1024);
    const rssBefore = rssMbOf(app.child.pid);
    const r = await post(bomb, { 'Content-Encoding': 'gzip' });
    expect(r.status).toBe(413);
    expect(r.json.error?.code).toBe('payload_too_large');
    expect(rssMbOf(app.child.pid) - rssBefore).toBeLessThan(64);
    results.gzip_bomb = { compressed_bytes: bomb.length, status: r.status };
    await healthy();
  });

  it('answers 400 to JSON nested 10 000 deep and to an object with 30 000 keys', async () => {
    const deep = '['.repeat(10_000) + ']'.repeat(10_000);
    const r1 = await post(`{"write_key":"wk_demo","events":[${deep}]}`);
    expect(r1.status).toBe(400);
    expect(r1.json.error?.code).toBe('json_limits');
    const wide = `{"write_key":"wk_demo","events":[{${Array.from({ length: 30_000 }, (_, i) => `"k${i}":1`).join(',')}}]}`;
    const r2 = await post(wide);
    expect(r2.status).toBe(400);
    expect(r2.json.error?.code).toBe('json_limits');
    results.deep_json = r1.status;
    results.wide_json = r2.status;
    await healthy();
  });

  it('drops __proto__ and constructor.prototype keys: the event is accepted and reaches Kafka without them', async () => {
    const id = `${run}-proto`;
    const body = `{"write_key":"wk_demo","__proto__":{"events":[]},"events":[{"__proto__":{"is_bot":false,"polluted":1},"constructor":{"prototype":{"polluted":1}},"event_id":"${id}","type":"search","timestamp":${Date.now()},"anonymous_id":"${run}-proto-anon","search_keyword":"espresso","properties":{"__proto__":"x","constructor":"y","ok":"z"}}]}`;
    const r = await post(body);
    expect(r.status).toBe(202);
    expect(r.json.accepted).toBe(1);
    const msg = await consumeUntil(app.prefix, ['searches'], (msgs) => msgs.find((m) => m.value.includes(id)));
    const raw = msg.value;
    expect(raw).not.toContain('__proto__');
    expect(raw).not.toContain('constructor');
    expect(raw).not.toContain('polluted');
    expect((JSON.parse(raw) as EnrichedEvent).properties).toEqual({ ok: 'z' });
    await healthy();
  });

  it('answers 401 to unknown write keys wherever they are given, and 403 to a foreign origin on a restricted key', async () => {
    const body = JSON.stringify({ events: [ev()] });
    const a = await post(JSON.stringify({ write_key: 'wk_stolen', events: [ev()] }));
    const b = await post(body, { 'X-Write-Key': 'wk_nope' });
    const c = await post(body, {}, '?key=wk_nope');
    const d = await post(body);
    for (const r of [a, b, c, d]) {
      expect(r.status).toBe(401);
      expect(r.json.error?.code).toBe('unknown_write_key');
    }
    const e = await post(JSON.stringify({ write_key: 'wk_shop', events: [ev()] }), { Origin: 'https://evil.example' });
    expect(e.status).toBe(403);
    expect(e.json.error?.code).toBe('origin_not_allowed');
    const f = await post(JSON.stringify({ write_key: 'wk_shop', events: [ev()] }), { Origin: 'https://shop.example' });
    expect(f.status).toBe(202);
    expect(f.headers.get('access-control-allow-origin')).toBe('https://shop.example');
  });

  it('accepts 1970 and 2100 timestamps only as clamped into the accepted window', async () => {
    const old = ev({ event_id: `${run}-1970`, timestamp: 0 });
    const future = ev({ event_id: `${run}-2100`, timestamp: Date.UTC(2100, 0, 1) });
    const sentAt = Date.now();
    const r = await post(JSON.stringify({ write_key: 'wk_demo', sent_at: sentAt, events: [old, future] }));
    expect(r.status).toBe(202);
    expect(r.json.accepted).toBe(2);
    const msgs = await consumeUntil(app.prefix, ['searches'], (m) => {
      const got = m.filter((x) => x.value.includes(`${run}-1970`) || x.value.includes(`${run}-2100`));
      return got.length === 2 ? got.map((x) => JSON.parse(x.value) as EnrichedEvent) : undefined;
    });
    for (const e of msgs) {
      expect(e.clock_clamped).toBe(true);
      expect(e.date).toBeGreaterThanOrEqual(sentAt - 7 * 86_400_000 - 5000);
      expect(e.date).toBeLessThanOrEqual(Date.now() + 60_000);
    }
    results.timestamps = msgs.map((e) => ({ id: e.event_id, date: new Date(e.date).toISOString(), clamped: e.clock_clamped }));
  });
});

describe('abuse of the homepage API', () => {
  const user = `${run}-alice@example.com`;

  it("does not let a visitor read or move another user's promotions without proof", async () => {
    // Alice's own storefront session, with the signed proof: moves u:alice.
    const token = signUserToken(SECRET, user);
    const mine = await post(
      JSON.stringify({
        write_key: 'wk_demo',
        user_token: token,
        events: [ev({ user_id: user, anonymous_id: `${run}-alice-anon`, search_keyword: 'espresso' })],
      }),
    );
    expect(mine.status).toBe(202);
    const uKey = redisKeys.interests(app.prefix, `u:${user}`);
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(await redis.exists(uKey))) await sleep(100);
    const before = await redis.hgetall(uKey);
    expect(before._v).toBe('1');

    // Mallory claims to be Alice without a token (and with a forged one): only his own anonymous profile moves.
    const claim = await post(
      JSON.stringify({
        write_key: 'wk_demo',
        events: [ev({ user_id: user, anonymous_id: `${run}-mallory`, search_keyword: 'robot vacuum' })],
      }),
    );
    const forged = await post(
      JSON.stringify({
        write_key: 'wk_demo',
        user_token: 'f'.repeat(64),
        events: [ev({ user_id: user, anonymous_id: `${run}-mallory`, search_keyword: 'air fryer' })],
      }),
    );
    expect(claim.status).toBe(202);
    expect(forged.status).toBe(202);
    const malloryKey = redisKeys.interests(app.prefix, `a:${run}-mallory`);
    const d2 = Date.now() + 20_000;
    while (Date.now() < d2 && (await redis.hget(malloryKey, '_v')) !== '2') await sleep(100);
    expect(await redis.hget(malloryKey, '_v')).toBe('2');
    expect(await redis.hgetall(uKey)).toEqual(before);

    const get = (path: string, headers: Record<string, string> = {}) =>
      fetch(`${app.baseUrl}/v1/promotions/${encodeURIComponent(user)}${path}`, { headers }).then(async (r) => ({
        status: r.status,
        json: (await r.json()) as {
          personalized?: boolean;
          visitor?: string;
          promotions?: Array<{ id: string }>;
          error?: { code: string };
        },
      }));
    // With proof: Alice's espresso deal.
    const d3 = Date.now() + 20_000;
    let proven = await get(`?token=${token}`);
    while (Date.now() < d3 && !proven.json.personalized) {
      await sleep(200);
      proven = await get(`?token=${token}`);
    }
    expect(proven.json).toMatchObject({ personalized: true, visitor: 'user' });
    expect(proven.json.promotions?.[0]?.id).toBe('cof-espresso');
    const server = await get('', { Authorization: `Bearer ${SERVER_KEY}` });
    expect(server.json).toMatchObject({ personalized: true, visitor: 'user' });
    // Without proof the same path is an (unknown) anonymous id: defaults, nothing of Alice's.
    const bare = await get('');
    expect(bare.status).toBe(200);
    expect(bare.json).toMatchObject({ personalized: false, visitor: 'anonymous' });
    const wrongToken = await get(`?token=${'0'.repeat(64)}`);
    expect(wrongToken.status).toBe(401);
    expect(wrongToken.json.error?.code).toBe('invalid_token');
    const wrongKey = await get('', { Authorization: 'Bearer guess-guess-guess-guess' });
    expect(wrongKey.status).toBe(401);
    results.foreign_read = {
      with_token: proven.status,
      without: bare.json.personalized,
      wrong_token: wrongToken.status,
      wrong_server_key: wrongKey.status,
    };
  });

  it('gives a foreign origin no CORS grant on the homepage API', async () => {
    const r = await fetch(`${app.baseUrl}/v1/promotions/${run}-anon`, { headers: { Origin: 'https://evil.example' } });
    expect(r.status).toBe(200);
    expect(r.headers.get('access-control-allow-origin')).toBeNull();
    const pre = await fetch(`${app.baseUrl}/v1/promotions/${run}-anon`, {
      method: 'OPTIONS',
      headers: {
        Origin: 'https://evil.example',
        'Access-Control-Request-Method': 'GET',
        'Access-Control-Request-Headers': 'authorization',
      },
    });
    expect(pre.headers.get('access-control-allow-origin')).toBeNull();
    expect(pre.headers.get('access-control-allow-headers')).toBeNull();
    results.cors_foreign_origin = { get: r.headers.get('access-control-allow-origin'), preflight_status: pre.status };
  });
});

describe('abuse of the report filters', () => {
  type Report = { status: number; json: { rows?: Array<Record<string, unknown>>; error?: { code: string; message: string } } };
  const report = async (name: string, query: Record<string, string>): Promise<Report> => {
    const r = await fetch(`${app.baseUrl}/v1/reports/${encodeURIComponent(name)}?${new URLSearchParams(query)}`);
    return { status: r.status, json: (await r.json().catch(() => ({}))) as Report['json'] };
  };

  it('treats SQL in report filters as plain values: no rows leak, nothing is dropped, bad types get 400', async () => {
    // Baseline: the searches sent above are in the report for their own site.
    let base = await report('top-searches', { site: 'demo' });
    const deadline = Date.now() + 20_000;
    while (Date.now() < deadline && !(base.json.rows?.length ?? 0)) {
      await sleep(500);
      base = await report('top-searches', { site: 'demo' });
    }
    expect(base.status).toBe(200);
    expect(base.json.rows!.length).toBeGreaterThan(0);

    const bySite = await report('top-searches', { site: "demo' OR '1'='1" });
    expect(bySite.status).toBe(200);
    expect(bySite.json.rows).toEqual([]);
    const byKeyword = await report('top-searches', { site: 'demo', keyword: "x') OR 1=1; DROP TABLE activity.events; --" });
    expect(byKeyword.status).toBe(200);
    expect(byKeyword.json.rows).toEqual([]);
    const since = await report('top-searches', { since: "2020-01-01' OR '1'='1" });
    expect(since.status).toBe(400);
    expect(since.json.error?.code).toBeTruthy();
    const limit = await report('top-searches', { limit: '1; DROP TABLE activity.events' });
    expect(limit.status).toBe(400);
    const name = await report("top-searches' UNION SELECT 1 --", {});
    expect([400, 404]).toContain(name.status);
    // Still there: the report answers as before (rows may have grown as earlier events landed);
    // the last test of this file reads activity.events itself.
    const after = await report('top-searches', { site: 'demo' });
    expect(after.status).toBe(200);
    expect(after.json.rows!.length).toBeGreaterThanOrEqual(base.json.rows!.length);
    results.report_sql_injection = {
      site: bySite.status,
      keyword: byKeyword.status,
      since: since.status,
      limit: limit.status,
      name: name.status,
      baseline_rows: base.json.rows!.length,
    };
  });
});

describe('abuse of the rate limits', () => {
  it('limits one client address however it rotates X-Forwarded-For (no trusted proxy hops configured)', async () => {
    const statuses: number[] = [];
    let retryAfter: string | null = null;
    for (let round = 0; round < 6; round++) {
      const rs = await Promise.all(
        Array.from({ length: 20 }, (_, j) => {
          const i = round * 20 + j;
          return post(JSON.stringify({ write_key: 'wk_demo', events: [ev()] }), {
            'X-Forwarded-For': `203.0.113.${i % 250}, 198.51.100.${i % 200}`,
          });
        }),
      );
      for (const r of rs) {
        statuses.push(r.status);
        if (r.status === 429) {
          retryAfter ??= r.headers.get('retry-after');
          expect(r.json.error?.code).toBe('rate_limited');
        }
      }
    }
    const limited = statuses.filter((s) => s === 429).length;
    expect(limited).toBeGreaterThan(20);
    expect(Number(retryAfter)).toBeGreaterThanOrEqual(1);
    expect(statuses.every((s) => s === 202 || s === 429)).toBe(true);
    results.rotating_xff = { requests: statuses.length, limited, retry_after: retryAfter };
  });
});

describe('what reached the warehouse', () => {
  it('stores the clamped 1970/2100 events inside the window and every event once', async () => {
    await sleep(1500);
    await app.stop({ keepData: true });
    const wh = createWarehouseClient({ dataDir: app.dataDir });
    try {
      const rs = await wh.client.query({
        query: 'SELECT event_id, toUnixTimestamp64Milli(date) AS ms FROM activity.events WHERE event_id IN ({ids:Array(String)})',
        query_params: { ids: [`${run}-1970`, `${run}-2100`, `${run}-proto`] },
        format: 'JSONEachRow',
      });
      const rows = (await rs.json()) as Array<{ event_id: string; ms: number | string }>;
      expect(rows.map((r) => r.event_id).sort()).toEqual([`${run}-1970`, `${run}-2100`, `${run}-proto`].sort());
      for (const r of rows) {
        expect(Number(r.ms)).toBeGreaterThan(Date.now() - 8 * 86_400_000);
        expect(Number(r.ms)).toBeLessThan(Date.now() + 120_000);
      }
      const all = await wh.client.query({
        query: 'SELECT count() AS n, uniqExact(event_id) AS u FROM activity.events',
        format: 'JSONEachRow',
      });
      const [c] = (await all.json()) as Array<{ n: number | string; u: number | string }>;
      expect(Number(c!.n)).toBe(Number(c!.u));
      results.warehouse_rows = Number(c!.n);
    } finally {
      await wh.close();
    }
  });
});

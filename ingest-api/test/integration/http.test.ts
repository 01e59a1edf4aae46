import { gzipSync } from 'node:zlib';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, makeEvent, newPrefix, post, startIngest, type RunningIngest } from './harness.ts';

const prefix = newPrefix();
let ingest: RunningIngest;
let limited: RunningIngest;
let visitorLimited: RunningIngest;

beforeAll(async () => {
  await createTopics(prefix);
  ingest = await startIngest(prefix, { RATE_LIMIT_IP_REQUESTS_PER_S: '0', MAX_BATCH_BYTES: '65536', MAX_BATCH_EVENTS: '20' });
  limited = await startIngest(prefix, {
    RATE_LIMIT_IP_REQUESTS_PER_S: '2',
    RATE_LIMIT_IP_BURST: '3',
    RATE_LIMIT_KEY_EVENTS_PER_S: '5',
    RATE_LIMIT_KEY_BURST: '5',
    WRITE_KEYS: 'wk_demo=demo:*;wk_small=small:*',
  });
  visitorLimited = await startIngest(prefix, {
    RATE_LIMIT_IP_REQUESTS_PER_S: '0',
    RATE_LIMIT_VISITOR_EVENTS_PER_S: '1',
    RATE_LIMIT_VISITOR_BURST: '10',
  });
});

afterAll(async () => {
  await ingest?.close();
  await limited?.close();
  await visitorLimited?.close();
  await deleteTopics(prefix);
});

function expectError(res: { status: number; json: Record<string, unknown> }, status: number, code: string): void {
  expect(res.status).toBe(status);
  expect(res.json).toEqual({ error: { code, message: expect.any(String) } });
}

describe('POST /v1/batch errors and body formats (real Kafka)', () => {
  it('answers 400 with a JSON error for a body that is not JSON', async () => {
    expectError(await post(ingest.url, '{"events": [', {}), 400, 'malformed_json');
  });

  it('answers 400 for JSON that is not a batch', async () => {
    expectError(await post(ingest.url, [1, 2], { 'x-write-key': 'wk_demo' }), 400, 'malformed_batch');
    expectError(await post(ingest.url, { write_key: 'wk_demo', events: [] }), 400, 'malformed_batch');
    expectError(await post(ingest.url, { write_key: 'wk_demo', events: 'x' }), 400, 'malformed_batch');
  });

  it('answers 400 for JSON nested too deep', async () => {
    const deep = JSON.stringify({ write_key: 'wk_demo', events: [{ properties: { a: { b: { c: { d: { e: { f: { g: 1 } } } } } } } }] });
    expectError(await post(ingest.url, deep), 400, 'json_limits');
  });

  it('answers 401 without a write key or with an unknown one', async () => {
    expectError(await post(ingest.url, { events: [makeEvent('search')] }), 401, 'unknown_write_key');
    expectError(await post(ingest.url, { write_key: 'wk_nope', events: [makeEvent('search')] }), 401, 'unknown_write_key');
    const viaQuery = await fetch(`${ingest.url}/v1/batch?key=wk_nope`, {
      method: 'POST',
      headers: { 'content-type': 'application/json' },
      body: '{}',
    });
    expect(viaQuery.status).toBe(401);
  });

  it('answers 413 for a body over MAX_BATCH_BYTES and for more than MAX_BATCH_EVENTS events', async () => {
    const big = { write_key: 'wk_demo', events: [makeEvent('page_view', { page_title: 'x'.repeat(70_000) })] };
    expectError(await post(ingest.url, big), 413, 'payload_too_large');
    const many = { write_key: 'wk_demo', events: Array.from({ length: 21 }, () => makeEvent('page_view')) };
    expectError(await post(ingest.url, many), 413, 'payload_too_large');
  });

  it('answers 413 for a streamed (chunked) body that grows past the limit', async () => {
    const { request } = await import('node:http');
    const { status, body } = await new Promise<{ status: number; body: string }>((resolve, reject) => {
      const req = request(
        `${ingest.url}/v1/batch`,
        { method: 'POST', headers: { 'content-type': 'application/json', 'x-write-key': 'wk_demo' } },
        (res) => {
          let text = '';
          res.on('data', (c) => (text += c));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text }));
        },
      );
      req.on('error', reject);
      const chunk = 'x'.repeat(16 * 1024);
      for (let i = 0; i < 12; i++) req.write(chunk); // 192 KiB against a 64 KiB limit
      req.end();
    });
    expect(status).toBe(413);
    expect(JSON.parse(body)).toEqual({ error: { code: 'payload_too_large', message: expect.any(String) } });
  });

  it('answers 413 for a small gzip body that inflates past the limit, without memory growing', async () => {
    const bomb = gzipSync(Buffer.alloc(50 * 1024 * 1024, 0x20)); // 50 MiB of spaces in ~50 KiB
    expect(bomb.length).toBeLessThan(65_536);
    const before = process.memoryUsage().rss;
    for (let i = 0; i < 10; i++) {
      const res = await post(ingest.url, new Uint8Array(bomb), { 'content-encoding': 'gzip' });
      expectError(res, 413, 'payload_too_large');
    }
    const grown = process.memoryUsage().rss - before;
    // Inflating even one bomb fully would cost 50 MiB; the cap keeps it near 64 KiB per request.
    expect(grown).toBeLessThan(40 * 1024 * 1024);
  });

  it('answers 415 for an unsupported content type or encoding', async () => {
    expectError(
      await post(ingest.url, '<xml/>', { 'content-type': 'application/xml', 'x-write-key': 'wk_demo' }),
      415,
      'unsupported_media_type',
    );
    expectError(await post(ingest.url, '{}', { 'content-encoding': 'br', 'x-write-key': 'wk_demo' }), 415, 'unsupported_media_type');
  });

  it('accepts a gzip body and a text/plain body (sendBeacon)', async () => {
    const batch = { write_key: 'wk_demo', sent_at: Date.now(), events: [makeEvent('search'), makeEvent('scroll')] };
    const gz = await post(ingest.url, new Uint8Array(gzipSync(JSON.stringify(batch))), { 'content-encoding': 'gzip' });
    expect(gz.status).toBe(202);
    expect(gz.json).toEqual({ accepted: 2, rejected: [] });
    const plain = await post(ingest.url, JSON.stringify({ ...batch, events: [makeEvent('click')] }), {
      'content-type': 'text/plain;charset=UTF-8',
    });
    expect(plain.status).toBe(202);
    expect(plain.json.accepted).toBe(1);
  });

  it('answers 403 for a browser origin the write key does not allow, and reflects allowed origins for CORS', async () => {
    const batch = { write_key: 'wk_shop', events: [makeEvent('page_view')] };
    const forbidden = await post(ingest.url, batch, { origin: 'https://evil.example' });
    expectError(forbidden, 403, 'origin_not_allowed');
    // wk_demo allows every origin, but the body named wk_shop: the foreign page must not read the answer
    expect(forbidden.headers.get('access-control-allow-origin')).toBeNull();
    const ok = await post(ingest.url, batch, { origin: 'https://shop.example' });
    expect(ok.status).toBe(202);
    expect(ok.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(ok.headers.get('access-control-allow-credentials')).toBeNull();
    const pre = await fetch(`${ingest.url}/v1/batch?key=wk_shop`, {
      method: 'OPTIONS',
      headers: {
        origin: 'https://shop.example',
        'access-control-request-method': 'POST',
        'access-control-request-headers': 'content-type',
      },
    });
    expect(pre.status).toBe(204);
    expect(pre.headers.get('access-control-allow-origin')).toBe('https://shop.example');
    expect(pre.headers.get('access-control-allow-headers')).toContain('Content-Type');
    const denied = await fetch(`${ingest.url}/v1/batch?key=wk_shop`, { method: 'OPTIONS', headers: { origin: 'https://evil.example' } });
    expect(denied.headers.get('access-control-allow-origin')).toBeNull();
  });

  it('answers 429 with Retry-After past the per-IP request limit', async () => {
    const statuses: number[] = [];
    let limitedRes: Awaited<ReturnType<typeof post>> | undefined;
    for (let i = 0; i < 30 && !limitedRes; i++) {
      const res = await post(limited.url, { write_key: 'wk_demo', events: [makeEvent('page_view')] });
      statuses.push(res.status);
      if (res.status === 429) limitedRes = res;
    }
    // burst 3: the first three pass, then the 2/s refill cannot keep up with back-to-back requests
    expect(statuses.slice(0, 3)).toEqual([202, 202, 202]);
    expect(limitedRes).toBeDefined();
    expectError(limitedRes!, 429, 'rate_limited');
    expect(limitedRes!.json.error).toMatchObject({ message: expect.stringContaining('client IP') });
    expect(Number(limitedRes!.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('answers 429 with Retry-After past the per-key event limit', async () => {
    await new Promise((r) => setTimeout(r, 2100)); // let the IP bucket refill
    const batch = () => ({ write_key: 'wk_small', events: Array.from({ length: 4 }, () => makeEvent('page_view')) });
    expect((await post(limited.url, batch())).status).toBe(202); // 5 - 4 = 1 event left
    const res = await post(limited.url, batch());
    expectError(res, 429, 'rate_limited');
    expect(res.json.error).toMatchObject({ message: expect.stringContaining('write key') });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
  });

  it('limits a hot visitor (by anonymous_id) with 429 + Retry-After while other visitors pass', async () => {
    const hot = () => makeEvent('page_view', { anonymous_id: 'hot-visitor' });
    // burst 10: one batch of 8 passes, the next of 8 does not (2 left, 1/s refill)
    expect((await post(visitorLimited.url, { write_key: 'wk_demo', events: Array.from({ length: 8 }, hot) })).status).toBe(202);
    const res = await post(visitorLimited.url, { write_key: 'wk_demo', events: Array.from({ length: 8 }, hot) });
    expectError(res, 429, 'rate_limited');
    expect(res.json.error).toMatchObject({ message: expect.stringContaining('visitor') });
    expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    // another visitor, and the same anonymous_id on another site, are not affected
    const other = await post(visitorLimited.url, {
      write_key: 'wk_demo',
      events: Array.from({ length: 8 }, () => makeEvent('page_view', { anonymous_id: 'calm-visitor' })),
    });
    expect(other.status).toBe(202);
    const otherSite = await post(visitorLimited.url, { write_key: 'wk_shop', events: Array.from({ length: 8 }, hot) });
    expect(otherSite.status).toBe(202);
    // claiming somebody's user_id does not spend that user's own budget: the bucket is the anonymous_id's
    const claimed = await post(visitorLimited.url, {
      write_key: 'wk_demo',
      events: Array.from({ length: 10 }, () => makeEvent('page_view', { anonymous_id: 'hot-visitor', user_id: 'victim' })),
    });
    expect(claimed.status).toBe(429);
    const victim = await post(visitorLimited.url, {
      write_key: 'wk_demo',
      events: Array.from({ length: 8 }, () => makeEvent('page_view', { anonymous_id: 'victim-browser', user_id: 'victim' })),
    });
    expect(victim.status).toBe(202);
  });

  it('never answers 5xx, crashes or pollutes Object.prototype for arbitrary JSON bodies', async () => {
    const event = fc.record(
      {
        event_id: fc.oneof(fc.string(), fc.integer()),
        type: fc.oneof(fc.constantFrom('search', 'click', 'scroll', 'page_view', 'identify', 'promotion_view'), fc.string()),
        timestamp: fc.oneof(fc.integer(), fc.double(), fc.string()),
        anonymous_id: fc.string(),
        search_keyword: fc.jsonValue(),
        properties: fc.jsonValue(),
        proto_marker: fc.constant({ polluted: true }),
        ctor_marker: fc.constant({ prototype: { polluted: true } }),
      },
      { requiredKeys: [] },
    );
    const body = fc.oneof(
      fc.jsonValue(),
      fc.record(
        {
          write_key: fc.constantFrom('wk_demo', 'wk_x'),
          sent_at: fc.jsonValue(),
          events: fc.array(fc.oneof(event, fc.jsonValue()), { maxLength: 5 }),
        },
        { requiredKeys: [] },
      ),
    );
    await fc.assert(
      fc.asyncProperty(body, fc.boolean(), async (b, asText) => {
        // Object literals cannot carry an own "__proto__" key, so the payloads are spliced into the text.
        const text = (JSON.stringify(b) ?? 'null').replace(/"proto_marker"/g, '"__proto__"').replace(/"ctor_marker"/g, '"constructor"');
        const res = await post(ingest.url, text, { 'content-type': asText ? 'text/plain' : 'application/json', 'x-write-key': 'wk_demo' });
        expect(res.status).toBeLessThan(500);
        expect(res.status === 202 || (res.json.error as { code?: unknown } | undefined)?.code !== undefined).toBe(true);
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
        expect(Object.prototype).not.toHaveProperty('polluted');
      }),
      { numRuns: 150 },
    );
    // A body built by hand with the classic payloads.
    const evil =
      '{"write_key":"wk_demo","__proto__":{"polluted":1},"constructor":{"prototype":{"polluted":2}},"events":[{"__proto__":{"polluted":3},"event_id":"x","type":"page_view","timestamp":1,"anonymous_id":"a","properties":{"__proto__":{"polluted":4}}}]}';
    const res = await post(ingest.url, evil);
    expect(res.status).toBe(202);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('serves the tracker bundle at /sdk.js with caching headers and the OpenAPI document', async () => {
    const sdk = await fetch(`${ingest.url}/sdk.js`);
    expect(sdk.status).toBe(200);
    expect(sdk.headers.get('content-type')).toContain('javascript');
    expect(sdk.headers.get('cache-control')).toBeTruthy();
    const etag = sdk.headers.get('etag')!;
    expect(etag).toBeTruthy();
    expect(await sdk.text()).toContain('storepulse');
    const again = await fetch(`${ingest.url}/sdk.js`, { headers: { 'if-none-match': etag } });
    expect(again.status).toBe(304);
    const doc = (await (await fetch(`${ingest.url}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, { post?: { responses: Record<string, unknown> } }>;
    };
    expect(doc.openapi).toMatch(/^3\./);
    expect(Object.keys(doc.paths['/v1/batch']!.post!.responses)).toEqual(
      expect.arrayContaining(['202', '400', '401', '413', '415', '429', '503']),
    );
  });
});

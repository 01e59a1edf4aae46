import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { topicName } from '@storepulse/contracts';
import { consumeUntil, startTestApp, type TestApp } from '../../src/testing/app.ts';

let a: TestApp;
let b: TestApp;

/** How many messages a prefix's topic holds (sum of partition high watermarks). */
async function topicSize(prefix: string, topic: string): Promise<number> {
  const admin = new Kafka({ clientId: 'side-by-side', brokers: ['localhost:9092'], logLevel: logLevel.NOTHING }).admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topicName(prefix, topic));
  await admin.disconnect();
  return offsets.reduce((n, p) => n + Number(p.high) - Number(p.low), 0);
}

describe('two instances side by side on one Kafka and one Redis', () => {
  beforeAll(async () => {
    const started = await Promise.allSettled([startTestApp(), startTestApp()]);
    const failed = started.find((r) => r.status === 'rejected');
    if (failed) {
      await Promise.all(started.map((r) => (r.status === 'fulfilled' ? r.value.stop() : undefined)));
      throw (failed as PromiseRejectedResult).reason;
    }
    [a, b] = started.map((r) => (r as PromiseFulfilledResult<TestApp>).value) as [TestApp, TestApp];
  }, 180_000);
  afterAll(async () => {
    await Promise.all([a?.stop(), b?.stop()]);
  });

  it('run on their own PORT, DATA_DIR and TOPIC_PREFIX', () => {
    expect(a.port).not.toBe(b.port);
    expect(a.dataDir).not.toBe(b.dataDir);
    expect(a.prefix).not.toBe(b.prefix);
  });

  it("keep each other's topics, consumer groups and Redis keys apart", async () => {
    const anonymousId = `a-${randomUUID()}`;
    const eventId = randomUUID();
    const now = Date.now();
    const res = await fetch(`${a.baseUrl}/v1/batch`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', 'x-write-key': 'wk_demo' },
      body: JSON.stringify({
        sent_at: now,
        events: [{ event_id: eventId, type: 'search', timestamp: now, anonymous_id: anonymousId, search_keyword: 'espresso machine' }],
      }),
    });
    expect(res.status).toBe(202);
    await consumeUntil(a.prefix, ['searches'], (m) => m.find((x) => JSON.parse(x.value).event_id === eventId));

    const redis = new Redis(a.redisUrl);
    try {
      let aKeys: string[] = [];
      for (let i = 0; i < 50 && aKeys.length === 0; i++) {
        aKeys = await redis.keys(`${a.prefix}*${anonymousId}*`);
        if (!aKeys.length) await new Promise((r) => setTimeout(r, 100));
      }
      expect(aKeys.length).toBeGreaterThan(0);
      expect(aKeys.every((k) => k.startsWith(a.prefix))).toBe(true);
      expect(await redis.keys(`${b.prefix}*${anonymousId}*`)).toEqual([]);
    } finally {
      redis.disconnect();
    }
    expect(await topicSize(b.prefix, 'searches')).toBe(0);

    const admin = new Kafka({ clientId: 'side-by-side', brokers: ['localhost:9092'], logLevel: logLevel.NOTHING }).admin();
    await admin.connect();
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId);
    await admin.disconnect();
    expect(groups).toEqual(
      expect.arrayContaining([`${a.prefix}promotions`, `${a.prefix}analytics`, `${b.prefix}promotions`, `${b.prefix}analytics`]),
    );

    // B serves defaults for that visitor: nothing of A's leaked into it.
    const fromB = (await (await fetch(`${b.baseUrl}/v1/promotions/${anonymousId}`)).json()) as { personalized: boolean };
    expect(fromB.personalized).toBe(false);
  });
});

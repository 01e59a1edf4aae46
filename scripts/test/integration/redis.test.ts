import { randomUUID } from 'node:crypto';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { redisKeys } from '@storepulse/contracts';

const prefix = `t${Date.now().toString(36)}${randomUUID().slice(0, 6)}_`;
const redis = new Redis('redis://localhost:6379', { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });

describe('the real Redis', () => {
  beforeAll(async () => {
    try {
      await redis.connect();
    } catch (err) {
      throw new Error(`Redis does not answer at localhost:6379: start it with \`npm run services:up\` (${String(err)})`);
    }
  });

  afterAll(async () => {
    const keys = await redis.keys(`${prefix}*`);
    if (keys.length) await redis.del(...keys);
    expect(await redis.keys(`${prefix}*`)).toEqual([]);
    redis.disconnect();
  });

  it('stores and reads back a visitor hash under the prefixed, hash-tagged key', async () => {
    const key = redisKeys.userPromotions(prefix, 'a:visitor-1');
    expect(key).toBe(`${prefix}user_promotions:{a:visitor-1}`);
    await redis.hset(key, { top: 'promo-humidifier', reason: 'you searched humidifier' });
    await redis.pexpire(key, 60_000);
    expect(await redis.hgetall(key)).toEqual({ top: 'promo-humidifier', reason: 'you searched humidifier' });
    expect(await redis.pttl(key)).toBeGreaterThan(50_000);
  });

  it('runs a Lua script over keys of one visitor atomically', async () => {
    const a = redisKeys.interests(prefix, 'a:v2');
    const b = redisKeys.appliedEvents(prefix, 'a:v2');
    const script = `if redis.call('SADD', KEYS[2], ARGV[1]) == 1 then return redis.call('ZINCRBY', KEYS[1], 1, 'humidifier') end return false`;
    expect(await redis.eval(script, 2, a, b, 'e1')).toBe('1');
    expect(await redis.eval(script, 2, a, b, 'e1')).toBeNull();
    expect(await redis.zscore(a, 'humidifier')).toBe('1');
  });
});

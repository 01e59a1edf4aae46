import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { purgeVisitors } from '../../src/purge.ts';
import { generationsKey, PromotionsStore, tombstoneKey } from '../../src/store.ts';
import type { Contribution } from '../../src/profile.ts';
import { cleanup, connectRedis, randomPrefix } from './harness.ts';

const prefix = randomPrefix();
const settings = { halfLifeMs: 86_400_000, topTerms: 20, idleTtlMs: 3_600_000, appliedMax: 100 };
const T = 1_800_000_000_000;
const hum: Contribution[] = [{ term: 'humidifier', weight: 10, reason: 'search\u0000humidifier' }];
const fan: Contribution[] = [{ term: 'fan', weight: 4, reason: 'click\u0000fan' }];
let redis: Redis;
let store: PromotionsStore;
let n = 0;

async function keysOf(visitor: string): Promise<string[]> {
  const keys = await redis.keys(`${prefix}*{${visitor}}`);
  return keys.filter((k) => !k.startsWith(`${prefix}purged:`)).sort();
}

beforeAll(async () => {
  redis = await connectRedis();
  store = new PromotionsStore(redis, prefix, settings);
});
afterAll(async () => {
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('consent purge in Redis', () => {
  it('deletes every key of the visitor and its anonymous alias, writes a tombstone, and leaves others alone', async () => {
    const x = `u:x${++n}`;
    const ax = `a:ax${n}`;
    const y = `a:y${n}`;
    await store.apply(ax, 'e1', T, hum, T, T);
    await store.merge(ax, x, 'merge:e2', T, T + 1);
    await store.apply(x, 'e3', T + 2, fan, T, T + 2);
    await store.publish(x, (await store.readProfile(x)).version, { v: 1 });
    await store.apply(y, 'e4', T, hum, T, T);
    const yBefore = await redis.hgetall(`${prefix}interests:{${y}}`);
    expect(await keysOf(x)).toHaveLength(3);
    expect(await keysOf(ax)).toEqual([`${prefix}alias:{${ax}}`]);

    const r = await purgeVisitors(redis, [x, ax], { prefix, tombstoneTtlMs: 60_000, at: T + 10 });
    expect(r.map((p) => p.keysDeleted)).toEqual([3, 1]);
    expect(await keysOf(x)).toEqual([]);
    expect(await keysOf(ax)).toEqual([]);
    expect(await redis.get(tombstoneKey(prefix, x))).toBe(String(T + 10));
    expect(await redis.pttl(tombstoneKey(prefix, x))).toBeGreaterThan(50_000);
    expect(await redis.hgetall(`${prefix}interests:{${y}}`)).toEqual(yBefore);

    // Idempotent; a repeat with an earlier time keeps the later tombstone.
    const again = await purgeVisitors(redis, [x], { prefix, tombstoneTtlMs: 60_000, at: T + 5 });
    expect(again[0]).toMatchObject({ keysDeleted: 0, purgedAt: T + 10 });
  });

  it('skips redelivered events received up to the purge time and applies later ones', async () => {
    const x = `u:x${++n}`;
    const ax = `a:ax${n}`;
    await store.apply(ax, 'e1', T, hum, T, T);
    await store.merge(ax, x, 'merge:e2', T, T + 1);
    await store.apply(x, 'e3', T + 2, fan, T, T + 2);
    await purgeVisitors(redis, [x, ax], { prefix, tombstoneTtlMs: 60_000, at: T + 10 });

    // The same history redelivered: nothing comes back, the identify links nothing.
    expect(await store.apply(ax, 'e1', T, hum, T, T)).toEqual({ status: 'purged' });
    expect(await store.merge(ax, x, 'merge:e2', T, T + 1)).toEqual({ status: 'purged' });
    expect(await store.apply(x, 'e3', T + 2, fan, T, T + 2)).toEqual({ status: 'purged' });
    // At the purge time exactly: still erased history.
    expect((await store.apply(x, 'e5', T + 10, fan, T, T + 10)).status).toBe('purged');
    expect(await keysOf(x)).toEqual([]);
    expect(await keysOf(ax)).toEqual([]);

    // The visitor comes back: a fresh profile from the new events only.
    const back = await store.apply(x, 'e6', T + 11, hum, T, T + 11);
    expect(back.status).toBe('applied');
    if (back.status === 'applied') expect(back.profile.version).toBe(1);
    const ab = await store.apply(ax, 'e7', T + 12, fan, T, T + 12);
    expect(ab.status).toBe('applied');
    // Its own later identify links again.
    expect((await store.merge(ax, x, 'merge:e8', T, T + 13)).status).toBe('applied');
    expect(Number((await store.readProfile(x)).version)).toBe(2);
  });

  it('reaches a replay generation in progress, whose later applies respect the tombstone', async () => {
    const x = `u:x${++n}`;
    const gen = `g${n}test:`;
    await redis.sadd(generationsKey(prefix), gen);
    const replaying = new PromotionsStore(redis, `${prefix}${gen}`, settings);
    expect(replaying.prefix).toBe(prefix);
    await replaying.apply(x, 'e1', T, hum, T, T);
    await store.apply(x, 'e1', T, hum, T, T);
    const r = await purgeVisitors(redis, [x], { prefix, tombstoneTtlMs: 60_000, at: T + 10 });
    expect(r[0]!.keysDeleted).toBe(4);
    expect(r[0]!.keyspaces).toEqual(expect.arrayContaining([prefix, `${prefix}${gen}`]));
    expect(await replaying.apply(x, 'e2', T + 1, fan, T, T + 1)).toEqual({ status: 'purged' });
    expect(await keysOf(x)).toEqual([]);
  });
});

/**
 * Consent opt-out: erases one visitor's promotions state from Redis and
 * leaves a tombstone so that a Kafka replay or redelivery does not bring it
 * back.
 *
 * Deleted, in the live generation, the base key space and every generation a
 * replay started (so a replay running right now loses the visitor too):
 * `interests`, `applied`, `user_promotions` and `alias` of the visitor. Then
 * `${TOPIC_PREFIX}purged:{userKey}` holds the purge time (epoch ms) for
 * `tombstoneTtlMs`; the apply and merge scripts skip every event of that
 * visitor received at or before it. Later events (the visitor opted in again)
 * are applied from a fresh profile. Tombstone and deletions are one Lua
 * script on the visitor's hash tag: no apply can slip between them.
 *
 * Needs Redis over TCP (Lua); the REST reader is not enough.
 */
import { redisKeys } from '@storepulse/contracts';
import type { Redis } from 'ioredis';
import { StoreError } from './errors.ts';
import { GENERATION_PATTERN } from './generation.ts';
import { defineScripts, generationKey, generationsKey, tombstoneKey } from './store.ts';

export { tombstoneKey };

export interface PurgeOptions {
  /** `TOPIC_PREFIX`. */
  prefix: string;
  /** How long the tombstone is kept; must exceed the Kafka topics' retention. */
  tombstoneTtlMs: number;
  /** The purge time (epoch ms): events received at or before it stay erased. */
  at: number;
}

export interface RedisPurgeResult {
  visitor: string;
  /** Keys that existed and were deleted. */
  keysDeleted: number;
  /** Key spaces (`${TOPIC_PREFIX}${generation}`) that were searched. */
  keyspaces: string[];
  /** The tombstone's time: `at`, or a later one left by an earlier purge. */
  purgedAt: number;
}

/** `u:<user_id>` or `a:<anonymous_id>` with an id of 1-256 printable characters; undefined otherwise. */
export function parseVisitorKey(raw: string): { kind: 'user' | 'anonymous'; id: string; key: string } | undefined {
  const m = /^([ua]):(.+)$/s.exec(raw);
  if (!m) return undefined;
  const id = m[2]!;
  // eslint-disable-next-line no-control-regex
  if (id.length > 256 || /[\u0000-\u001f\u007f]/.test(id)) return undefined;
  return { kind: m[1] === 'u' ? 'user' : 'anonymous', id, key: raw };
}

/** The key spaces that may hold a visitor: base, live and every started generation. */
export async function purgeKeyspaces(redis: Redis, prefix: string): Promise<string[]> {
  const [live, started] = await Promise.all([redis.get(generationKey(prefix)), redis.smembers(generationsKey(prefix))]);
  const gens = new Set<string>(['', live ?? '', ...started]);
  return [...gens].filter((g) => GENERATION_PATTERN.test(g)).map((g) => `${prefix}${g}`);
}

export function visitorKeys(keyspace: string, visitor: string): string[] {
  return [
    redisKeys.interests(keyspace, visitor),
    redisKeys.appliedEvents(keyspace, visitor),
    redisKeys.userPromotions(keyspace, visitor),
    redisKeys.alias(keyspace, visitor),
  ];
}

/** Deletes each visitor's keys and writes its tombstone. Idempotent: a repeat deletes 0 keys. */
export async function purgeVisitors(redis: Redis, visitors: readonly string[], o: PurgeOptions): Promise<RedisPurgeResult[]> {
  defineScripts(redis);
  try {
    const keyspaces = await purgeKeyspaces(redis, o.prefix);
    const out: RedisPurgeResult[] = [];
    for (const visitor of visitors) {
      const tomb = tombstoneKey(o.prefix, visitor);
      const keys = keyspaces.flatMap((ks) => visitorKeys(ks, visitor));
      const r = redis as Redis & { spPurge(n: number, ...args: Array<string | number>): Promise<number> };
      const deleted = await r.spPurge(1 + keys.length, tomb, ...keys, Math.floor(o.at), Math.max(1, Math.round(o.tombstoneTtlMs)));
      const purgedAt = Number(await redis.get(tomb));
      out.push({ visitor, keysDeleted: deleted, keyspaces, purgedAt: Number.isFinite(purgedAt) ? purgedAt : o.at });
    }
    return out;
  } catch (err) {
    throw new StoreError('purge', err);
  }
}

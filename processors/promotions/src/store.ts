/**
 * Redis writes of the processor (ioredis, TCP). Every write goes through one
 * of the Lua scripts in lua.ts.
 */
import { redisKeys } from '@storepulse/contracts';
import type { Redis } from 'ioredis';
import { StoreError } from './errors.ts';
import { ALIAS_SCRIPT, APPLY_SCRIPT, CLEAR_SCRIPT, MERGE_SCRIPT, PUBLISH_SCRIPT, PURGE_SCRIPT } from './lua.ts';
import { type Contribution, type Profile, profileFromHash } from './profile.ts';

export interface FoldSettings {
  halfLifeMs: number;
  topTerms: number;
  idleTtlMs: number;
  appliedMax: number;
}

export type ApplyResult =
  | { status: 'applied' | 'duplicate'; profile: Profile }
  | { status: 'redirect'; target: string }
  /** The visitor opted out after the event was received (see purge.ts): skipped. */
  | { status: 'purged' };

interface ScriptedRedis extends Redis {
  spApply(...args: Array<string | number>): Promise<[string, string[] | string]>;
  spAlias(...args: Array<string | number>): Promise<[string[], string[]] | ['purged']>;
  spMerge(...args: Array<string | number>): Promise<[string, string[]] | ['purged']>;
  spPublish(...args: Array<string | number>): Promise<number>;
  spClear(...args: Array<string | number>): Promise<number>;
  spPurge(...args: Array<string | number>): Promise<number>;
}

/** The key that names the live generation of user_promotions (see replay.ts). */
export function generationKey(prefix: string): string {
  return `${prefix}promotions:generation`;
}

/** Every generation a replay ever started (and did not drop), so a purge can reach them all. */
export function generationsKey(prefix: string): string {
  return `${prefix}promotions:generations`;
}

/**
 * Consent opt-out tombstone of one visitor: the purge time in epoch ms. It is
 * outside any generation (`${TOPIC_PREFIX}` only), so a replay into a new
 * generation consults it too, and shares the visitor's `{userKey}` hash tag.
 */
export function tombstoneKey(prefix: string, userKey: string): string {
  // The tag is the one contracts' redisKeys builds (braces replaced).
  const tagged = redisKeys.interests('', userKey).slice('interests:'.length);
  return `${prefix}purged:${tagged}`;
}

/** `${TOPIC_PREFIX}` of a key space `${TOPIC_PREFIX}${generation}` (a prefix has no ':'; a generation ends with one). */
export function prefixOf(keyspace: string): string {
  return keyspace.replace(/g[0-9a-z]{1,24}:$/, '');
}

export function defineScripts(redis: Redis): void {
  const r = redis as ScriptedRedis;
  if (typeof r.spApply === 'function') return;
  redis.defineCommand('spApply', { numberOfKeys: 4, lua: APPLY_SCRIPT });
  redis.defineCommand('spAlias', { numberOfKeys: 4, lua: ALIAS_SCRIPT });
  redis.defineCommand('spMerge', { numberOfKeys: 3, lua: MERGE_SCRIPT });
  redis.defineCommand('spPublish', { numberOfKeys: 2, lua: PUBLISH_SCRIPT });
  redis.defineCommand('spClear', { numberOfKeys: 4, lua: CLEAR_SCRIPT });
  // Variable key count: the caller passes it first.
  redis.defineCommand('spPurge', { lua: PURGE_SCRIPT });
}

async function wrap<T>(operation: string, fn: () => Promise<T>): Promise<T> {
  try {
    return await fn();
  } catch (err) {
    throw new StoreError(operation, err);
  }
}

/** Writes into one key space: `${TOPIC_PREFIX}${generation}`. */
export class PromotionsStore {
  readonly #redis: ScriptedRedis;
  readonly #s: FoldSettings;
  readonly keyspace: string;
  /** `${TOPIC_PREFIX}` without the generation: where the purge tombstones live. */
  readonly prefix: string;

  constructor(redis: Redis, keyspace: string, settings: FoldSettings) {
    defineScripts(redis);
    this.#redis = redis as ScriptedRedis;
    this.#s = settings;
    this.keyspace = keyspace;
    this.prefix = prefixOf(keyspace);
  }

  /** `seen`: when ingest received the event (received_at), compared with a purge tombstone; defaults to `date`. */
  async apply(
    visitor: string,
    eventId: string,
    date: number,
    contributions: readonly Contribution[],
    now: number,
    seen: number = date,
  ): Promise<ApplyResult> {
    const [status, payload] = await wrap('apply', () =>
      this.#redis.spApply(...this.#applyArgs(visitor, eventId, date, contributions, now, seen)),
    );
    return this.#applyResult(status, payload);
  }

  /**
   * Many applies in one pipeline (one write, one read on the socket). Each
   * script is still atomic on its own; results come back in order.
   */
  async applyMany(
    items: ReadonlyArray<{ visitor: string; eventId: string; date: number; contributions: readonly Contribution[]; seen?: number }>,
    now: number,
  ): Promise<ApplyResult[]> {
    if (items.length === 0) return [];
    const pipeline = this.#redis.pipeline();
    for (const it of items)
      (pipeline as unknown as ScriptedRedis).spApply(
        ...this.#applyArgs(it.visitor, it.eventId, it.date, it.contributions, now, it.seen ?? it.date),
      );
    const results = await wrap('apply (pipeline)', () => pipeline.exec());
    return (results ?? []).map(([err, res]) => {
      if (err) throw new StoreError('apply (pipeline)', err);
      const [status, payload] = res as [string, string[] | string];
      return this.#applyResult(status, payload);
    });
  }

  /** Publishes many rankings in one pipeline; returns which were written. */
  async publishMany(items: ReadonlyArray<{ visitor: string; version: number; doc: unknown }>): Promise<boolean[]> {
    if (items.length === 0) return [];
    const ks = this.keyspace;
    const pipeline = this.#redis.pipeline();
    for (const it of items) {
      (pipeline as unknown as ScriptedRedis).spPublish(
        redisKeys.userPromotions(ks, it.visitor),
        redisKeys.interests(ks, it.visitor),
        String(it.version),
        JSON.stringify(it.doc),
        this.#s.idleTtlMs,
      );
    }
    const results = await wrap('publish (pipeline)', () => pipeline.exec());
    return (results ?? []).map(([err, res]) => {
      if (err) throw new StoreError('publish (pipeline)', err);
      return res === 1;
    });
  }

  #applyResult(status: string, payload: string[] | string | undefined): ApplyResult {
    if (status === 'purged') return { status };
    if (status === 'redirect') return { status, target: String(payload) };
    return { status: status as 'applied' | 'duplicate', profile: profileFromHash(payload as string[]) };
  }

  #applyArgs(
    visitor: string,
    eventId: string,
    date: number,
    contributions: readonly Contribution[],
    now: number,
    seen: number,
  ): Array<string | number> {
    const ks = this.keyspace;
    const args: Array<string | number> = [
      redisKeys.interests(ks, visitor),
      redisKeys.appliedEvents(ks, visitor),
      redisKeys.alias(ks, visitor),
      tombstoneKey(this.prefix, visitor),
      eventId,
      date,
      this.#s.halfLifeMs,
      this.#s.topTerms,
      this.#s.idleTtlMs,
      this.#s.appliedMax,
      now,
      contributions.length,
      Math.floor(seen),
    ];
    for (const c of contributions) args.push(c.term, c.weight.toPrecision(17), c.reason);
    return args;
  }

  /**
   * Identity merge: alias the anonymous visitor to the user, then fold its
   * snapshot into the user once. `seen` is the identify's received_at: when
   * either side opted out after it, nothing is linked or merged ('purged').
   */
  async merge(anonymous: string, user: string, mergeId: string, now: number, seen: number = now): Promise<ApplyResult> {
    const ks = this.keyspace;
    // The user's tombstone is in another slot than the anonymous keys: read it
    // first so a replayed identify does not re-link an erased user. (MERGE
    // checks it again atomically.)
    const userPurgedAt = Number((await wrap('get', () => this.#redis.get(tombstoneKey(this.prefix, user)))) ?? NaN);
    if (seen <= userPurgedAt) return { status: 'purged' };
    const snapshot = await wrap('alias', () =>
      this.#redis.spAlias(
        redisKeys.interests(ks, anonymous),
        redisKeys.appliedEvents(ks, anonymous),
        redisKeys.alias(ks, anonymous),
        tombstoneKey(this.prefix, anonymous),
        user,
        this.#s.idleTtlMs,
        Math.floor(seen),
      ),
    );
    if (snapshot[0] === 'purged') return { status: 'purged' };
    const [flat, ids] = snapshot as [string[], string[]];
    const merged = await wrap('merge', () =>
      this.#redis.spMerge(
        redisKeys.interests(ks, user),
        redisKeys.appliedEvents(ks, user),
        tombstoneKey(this.prefix, user),
        mergeId,
        this.#s.halfLifeMs,
        this.#s.topTerms,
        this.#s.idleTtlMs,
        this.#s.appliedMax,
        now,
        flat.length,
        Math.floor(seen),
        ...flat,
        ...ids,
      ),
    );
    const status = merged[0];
    const out = merged[1] ?? [];
    // The user now holds the anonymous history; the anonymous keys go, so the
    // outcome does not depend on which events reached the anonymous key before the identify.
    await wrap('clear', () =>
      this.#redis.spClear(
        redisKeys.interests(ks, anonymous),
        redisKeys.appliedEvents(ks, anonymous),
        redisKeys.userPromotions(ks, anonymous),
        redisKeys.alias(ks, anonymous),
        user,
      ),
    );
    if (status === 'purged') return { status };
    return { status: status as 'applied' | 'duplicate', profile: profileFromHash(out) };
  }

  /** Writes user_promotions if `version` is still the profile's version. */
  async publish(visitor: string, version: number, doc: unknown): Promise<boolean> {
    const ks = this.keyspace;
    const n = await wrap('publish', () =>
      this.#redis.spPublish(
        redisKeys.userPromotions(ks, visitor),
        redisKeys.interests(ks, visitor),
        String(version),
        JSON.stringify(doc),
        this.#s.idleTtlMs,
      ),
    );
    return n === 1;
  }

  async readProfile(visitor: string): Promise<Profile> {
    const h = await wrap('hgetall', () => this.#redis.hgetall(redisKeys.interests(this.keyspace, visitor)));
    return profileFromHash(h);
  }
}

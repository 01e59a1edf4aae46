/**
 * DELETE /v1/visitors/:userKey — consent opt-out: erases one visitor from the
 * promotions state (Redis) and from the raw events (ClickHouse), and leaves
 * tombstones so a Kafka replay or redelivery does not bring the data back.
 *
 * `:userKey` is the visitor key the processors use: `u:<user_id>` (a proven
 * user) or `a:<anonymous_id>`. Only the storefront's backend may call it:
 * `Authorization: Bearer <PROMOTIONS_SERVER_KEY>`. No CORS headers: a browser
 * page cannot call it cross-origin.
 *
 * Purging a user also purges the anonymous ids it was seen with (its identify
 * events and visits in activity.events): that history was merged into the
 * user. The answer says what was deleted in each store; the rollups keep
 * their aggregates (`aggregates_kept: true`).
 *
 * Lives in the single-process host because it needs both the promotions Redis
 * and the warehouse writer (an embedded ClickHouse has one writer process).
 */
import { createHash } from 'node:crypto';
import type { Express, Request, Response } from 'express';
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { z } from 'zod';
import type { PurgeOutcome, PurgeRequest } from '@storepulse/analytics';
import { parseVisitorKey, purgeVisitors, sameSecret, tombstoneKey, type PromotionsConfig } from '@storepulse/promotions';
import { ConfigError } from './config.ts';

export const DEFAULT_TOMBSTONE_TTL_DAYS = 30;

const schema = z.object({
  // Must exceed the Kafka topics' retention (7 days on the local broker): a
  // replay of events older than the tombstone would bring them back.
  PURGE_TOMBSTONE_TTL_DAYS: z.coerce.number().min(1).max(3650).default(DEFAULT_TOMBSTONE_TTL_DAYS),
  // 0 = off; otherwise at least a second.
  PURGE_REDIS_RESYNC_MS: z.coerce
    .number()
    .int()
    .refine((v) => v === 0 || (v >= 1000 && v <= 86_400_000))
    .default(60_000),
});

export interface PrivacyConfig {
  tombstoneTtlMs: number;
  /** How often the ClickHouse tombstones are checked against Redis (0 = never). */
  resyncMs: number;
}

export function loadPrivacyConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Readonly<PrivacyConfig> {
  const blank = (v: string | undefined) => (v === '' ? undefined : v);
  const parsed = schema.safeParse({
    PURGE_TOMBSTONE_TTL_DAYS: blank(env.PURGE_TOMBSTONE_TTL_DAYS),
    PURGE_REDIS_RESYNC_MS: blank(env.PURGE_REDIS_RESYNC_MS),
  });
  if (!parsed.success) {
    const expected: Record<string, string> = {
      PURGE_TOMBSTONE_TTL_DAYS: 'a number of days from 1 to 3650',
      PURGE_REDIS_RESYNC_MS: '0 (off) or whole milliseconds from 1000 to 86400000',
    };
    const problems = [...new Set(parsed.error.issues.map((i) => String(i.path[0])))].map(
      (name) => `${name}=${JSON.stringify(env[name])}: ${expected[name]}`,
    );
    throw new ConfigError(problems.join('; '));
  }
  return Object.freeze({
    tombstoneTtlMs: Math.round(parsed.data.PURGE_TOMBSTONE_TTL_DAYS * 86_400_000),
    resyncMs: parsed.data.PURGE_REDIS_RESYNC_MS,
  });
}

/** The warehouse side: the analytics processor of this process. */
export interface WarehousePurger {
  purge(req: PurgeRequest): Promise<PurgeOutcome>;
  linkedAnonymousIds(userKey: string): Promise<string[]>;
  /** The live tombstones recorded in ClickHouse: visitor key -> purge time (epoch ms). */
  tombstones(): Promise<Map<string, number>>;
}

export interface PrivacyDeps {
  /** Parsed here once at mount (PURGE_TOMBSTONE_TTL_DAYS). */
  env: NodeJS.ProcessEnv | Record<string, string | undefined>;
  config: Pick<PromotionsConfig, 'topicPrefix' | 'redisUrl' | 'serverKey'>;
  /** The host's services; `analytics` must offer `purge` and `linkedAnonymousIds`. */
  services: Record<string, object>;
  logger: Logger;
  now?: () => number;
}

export interface PurgeResponse {
  visitor: string;
  purged_at: string;
  tombstone_expires_at: string;
  /** Anonymous visitor keys linked to the user, purged with it. */
  linked_visitors: string[];
  redis: { keys_deleted: number; keyspaces: number };
  /** rows_deleted: activity.events; tables: every table keyed by visitor. */
  clickhouse: { rows_deleted: number; tables: Record<string, number>; aggregates_kept: true };
  note: string;
}

function error(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

function isWarehousePurger(s: object | undefined): s is WarehousePurger {
  const o = s as Partial<WarehousePurger> | undefined;
  return typeof o?.purge === 'function' && typeof o.linkedAnonymousIds === 'function' && typeof o.tombstones === 'function';
}

/**
 * A Redis that lost its data lost the purge tombstones too, and the
 * promotions processor then rebuilds every visitor from Kafka. ClickHouse
 * keeps the tombstones: purge again (keys deleted, tombstone rewritten with
 * the original time) every visitor whose Redis tombstone is missing or older.
 * Returns the visitors purged again.
 */
export async function resyncRedisTombstones(
  redis: Redis,
  warehouse: Pick<WarehousePurger, 'tombstones'>,
  o: { prefix: string; tombstoneTtlMs: number; now: number },
): Promise<string[]> {
  const wanted = [...(await warehouse.tombstones())].filter(([, at]) => at + o.tombstoneTtlMs > o.now);
  const missing: Array<[string, number]> = [];
  for (let i = 0; i < wanted.length; i += 500) {
    const slice = wanted.slice(i, i + 500);
    const pipeline = redis.pipeline();
    for (const [k] of slice) pipeline.get(tombstoneKey(o.prefix, k));
    const got = (await pipeline.exec()) ?? [];
    slice.forEach(([k, at], j) => {
      const [err, v] = got[j] ?? [null, null];
      if (err) throw err;
      if (!(Number(v) >= at)) missing.push([k, at]);
    });
  }
  for (const [k, at] of missing) {
    await purgeVisitors(redis, [k], { prefix: o.prefix, tombstoneTtlMs: at + o.tombstoneTtlMs - o.now, at });
  }
  return missing.map(([k]) => k);
}

export const AGGREGATES_NOTE =
  'activity.rollups keeps its aggregate counts and uniq states: they cannot be split per visitor and carry no visitor key.';

export function createPurgeHandler(deps: PrivacyDeps) {
  const settings = loadPrivacyConfig(deps.env);
  const { config, logger } = deps;
  const now = deps.now ?? Date.now;
  return async function purgeHandler(req: Request, res: Response): Promise<void> {
    res.setHeader('Cache-Control', 'no-store');
    if (!config.serverKey) {
      return error(res, 401, 'server_key_not_configured', 'set PROMOTIONS_SERVER_KEY to enable visitor purges');
    }
    const auth = req.get('authorization');
    const m = auth === undefined ? null : /^Bearer\s+(.+)$/i.exec(auth);
    if (!m || !sameSecret(m[1] ?? '', config.serverKey)) {
      return error(res, 401, 'invalid_server_key', 'send Authorization: Bearer <PROMOTIONS_SERVER_KEY>');
    }
    const raw = typeof req.params.userKey === 'string' ? req.params.userKey : '';
    const visitor = parseVisitorKey(raw);
    if (!visitor) {
      return error(res, 400, 'invalid_user_key', 'userKey must be u:<user_id> or a:<anonymous_id>, the id 1-256 printable characters');
    }
    const warehouse = deps.services.analytics;
    if (!isWarehousePurger(warehouse)) {
      return error(res, 503, 'purge_unavailable', 'this process hosts no analytics writer to purge the warehouse');
    }
    const at = now();
    const expiresAt = at + settings.tombstoneTtlMs;
    const redis = new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2, connectTimeout: 3000 });
    redis.on('error', () => {}); // reported through the failed command
    try {
      const linked = visitor.kind === 'user' ? (await warehouse.linkedAnonymousIds(visitor.key)).map((id) => `a:${id}`) : [];
      const keys = [visitor.key, ...linked];
      await redis.connect();
      const fromRedis = await purgeVisitors(redis, keys, { prefix: config.topicPrefix, tombstoneTtlMs: settings.tombstoneTtlMs, at });
      const fromWarehouse = await warehouse.purge({ userKeys: keys, at, expiresAt });
      const body: PurgeResponse = {
        visitor: visitor.key,
        purged_at: new Date(at).toISOString(),
        tombstone_expires_at: new Date(expiresAt).toISOString(),
        linked_visitors: linked,
        redis: { keys_deleted: fromRedis.reduce((n, r) => n + r.keysDeleted, 0), keyspaces: fromRedis[0]?.keyspaces.length ?? 0 },
        clickhouse: { rows_deleted: fromWarehouse.rowsDeleted, tables: fromWarehouse.tables, aggregates_kept: true },
        note: AGGREGATES_NOTE,
      };
      // The visitor key is personal data: log a digest, not the key.
      const digest = createHash('sha256').update(visitor.key).digest('hex').slice(0, 12);
      logger.info(
        { visitor: digest, kind: visitor.kind, linked: linked.length, redis: body.redis, clickhouse: body.clickhouse },
        'visitor purged',
      );
      res.status(200).json(body);
    } catch (err) {
      logger.error({ err }, 'visitor purge failed');
      res.setHeader('Retry-After', '5');
      error(res, 503, 'purge_failed', `the purge did not complete (${(err as Error).message}); it is idempotent: send it again`);
    } finally {
      if (redis.status === 'ready') await redis.quit().catch(() => redis.disconnect());
      else redis.disconnect();
    }
  };
}

/**
 * Purges again every visitor whose Redis tombstone is missing (see
 * resyncRedisTombstones), with a connection of its own. The promotions
 * processor runs it before it rebuilds a lost Redis state by replay, so the
 * replay never re-applies a purged visitor's events.
 */
export async function restoreRedisTombstones(deps: PrivacyDeps): Promise<string[]> {
  const warehouse = deps.services.analytics;
  if (!isWarehousePurger(warehouse)) return [];
  const settings = loadPrivacyConfig(deps.env);
  const redis = new Redis(deps.config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 1, connectTimeout: 3000 });
  redis.on('error', () => {});
  try {
    await redis.connect();
    const again = await resyncRedisTombstones(redis, warehouse, {
      prefix: deps.config.topicPrefix,
      tombstoneTtlMs: settings.tombstoneTtlMs,
      now: (deps.now ?? Date.now)(),
    });
    if (again.length > 0)
      deps.logger.warn({ visitors: again.length }, 'purge tombstones were missing in Redis (lost data?); purged those visitors again');
    return again;
  } finally {
    redis.disconnect();
  }
}

/**
 * Mounts DELETE /v1/visitors/:userKey, and (PURGE_REDIS_RESYNC_MS) the
 * periodic check that the Redis tombstones still match ClickHouse's.
 */
export function mountPrivacyApi(app: Express, deps: PrivacyDeps): void {
  const handler = createPurgeHandler(deps);
  app.delete('/v1/visitors/:userKey', (req, res, next) => {
    handler(req, res).catch(next);
  });
  const settings = loadPrivacyConfig(deps.env);
  const warehouse = deps.services.analytics;
  if (settings.resyncMs === 0 || !isWarehousePurger(warehouse)) return;
  let running = false;
  let lastWarn = 0;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    restoreRedisTombstones(deps)
      .catch((err: unknown) => {
        if (Date.now() - lastWarn > 600_000) {
          lastWarn = Date.now();
          deps.logger.warn({ err }, 'cannot check the purge tombstones in Redis; retrying');
        }
      })
      .finally(() => {
        running = false;
      });
  }, settings.resyncMs);
  timer.unref();
}

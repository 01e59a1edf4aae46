/**
 * GET /v1/promotions/:userKey — the homepage API.
 * Identity: `Authorization: Bearer <PROMOTIONS_SERVER_KEY>` or
 * `?token=<HMAC of the user id>` reads the user `u:<userKey>`; without proof
 * `:userKey` is an anonymous id (`a:<userKey>`), which is its own bearer.
 */
import { createHash, timingSafeEqual } from 'node:crypto';
import { redisKeys, verifyUserToken } from '@storepulse/contracts';
import type { Express, Request, Response } from 'express';
import type { Logger } from 'pino';
import { type Catalog, defaultPromotions, isActive } from './catalog.ts';
import type { PromotionsConfig } from './config.ts';
import type { PromotionsMetrics } from './metrics.ts';
import { decay } from './profile.ts';
import type { PromotionsReader } from './reader.ts';
import { hasControlChars } from './text.ts';
import type { UserPromotionsDoc } from './updater.ts';

export interface ApiPromotion {
  id: string;
  title: string;
  url: string;
  reason: string;
  score: number;
}

export interface PromotionsResponse {
  promotions: ApiPromotion[];
  personalized: boolean;
  /** When the ranking was computed (ISO 8601); for defaults, the time of the answer. */
  as_of: string;
  /** true when this visitor is in the holdout share and gets the defaults on purpose. */
  holdout: boolean;
  visitor: 'user' | 'anonymous';
}

export interface ApiDeps {
  config: Pick<
    PromotionsConfig,
    'topicPrefix' | 'identitySecret' | 'serverKey' | 'holdoutPct' | 'defaultLimit' | 'maxLimit' | 'halfLifeMs'
  >;
  reader: PromotionsReader;
  catalog: () => Catalog | undefined;
  generation: () => string;
  now: () => number;
  logger: Logger;
  metrics?: PromotionsMetrics | undefined;
}

/** Stable: the same visitor is always in or out, and a 10% holdout contains the 5% one. */
export function inHoldout(visitor: string, pct: number): boolean {
  if (pct <= 0) return false;
  if (pct >= 100) return true;
  const h = createHash('sha256').update(`holdout:v1:${visitor}`).digest();
  return (h.readUInt32BE(0) / 0x1_0000_0000) * 100 < pct;
}

/** Constant-time comparison of a presented secret with the configured one (any lengths). */
export function sameSecret(a: string, b: string): boolean {
  const x = createHash('sha256').update(a).digest();
  const y = createHash('sha256').update(b).digest();
  return timingSafeEqual(x, y);
}

function error(res: Response, status: number, code: string, message: string): void {
  res.status(status).json({ error: { code, message } });
}

function parseDoc(text: string | null): UserPromotionsDoc | undefined {
  if (!text) return undefined;
  try {
    const d = JSON.parse(text) as UserPromotionsDoc;
    if (typeof d !== 'object' || d === null || !Array.isArray(d.promotions) || typeof d.computed_at !== 'number') return undefined;
    return d;
  } catch {
    return undefined;
  }
}

/** Why a read failed, for the fallback metric: the reader client refuses at once while disconnected, or times out. */
export function fallbackReason(err: unknown): 'unavailable' | 'timeout' | 'error' {
  const text = err instanceof Error ? `${err.message} ${err.cause instanceof Error ? err.cause.message : ''}` : String(err);
  if (/timed out|timeout/i.test(text)) return 'timeout';
  if (/enableOfflineQueue|isn't writeable|Connection is closed|ECONNREFUSED|ECONNRESET|EPIPE|ENOTCONN|connect/i.test(text))
    return 'unavailable';
  return 'error';
}

const round = (x: number) => Math.round(x * 10_000) / 10_000;

export function createPromotionsHandler(deps: ApiDeps) {
  const { config } = deps;
  // The default list changes only with the catalog or when a promotion starts/ends: recompute at most once a second.
  let defaults: { catalog: Catalog; second: number; list: ReturnType<typeof defaultPromotions> } | undefined;
  const defaultsFor = (catalog: Catalog, now: number) => {
    const second = Math.floor(now / 1000);
    if (!defaults || defaults.catalog !== catalog || defaults.second !== second)
      defaults = { catalog, second, list: defaultPromotions(catalog, now) };
    return defaults.list;
  };
  // During an outage every request falls back: log the first, then a summary at most every 10 s.
  let lastLog = 0;
  let unlogged = 0;
  const fellBack = (err: unknown) => {
    const reason = fallbackReason(err);
    deps.metrics?.apiFallbacks.inc({ reason });
    const t = Date.now();
    if (t - lastLog < 10_000) {
      unlogged++;
      return;
    }
    deps.logger.warn({ err, reason, since_last_log: unlogged }, 'user_promotions read failed; answering with defaults');
    lastLog = t;
    unlogged = 0;
  };
  return async function promotionsHandler(req: Request, res: Response): Promise<void> {
    const started = process.hrtime.bigint();
    res.setHeader('Cache-Control', 'private, no-store');
    res.setHeader('Vary', 'Authorization');
    const raw = req.params.userKey;
    const userKey = typeof raw === 'string' ? raw : '';
    if (userKey.length < 1 || userKey.length > 256 || hasControlChars(userKey))
      return error(res, 400, 'invalid_user_key', 'userKey must be 1-256 printable characters');
    const limitParam = req.query.limit;
    let limit = config.defaultLimit;
    if (limitParam !== undefined) {
      const n = typeof limitParam === 'string' && /^\d{1,4}$/.test(limitParam) ? Number(limitParam) : NaN;
      if (!(n >= 1 && n <= config.maxLimit))
        return error(res, 400, 'invalid_limit', `limit must be an integer from 1 to ${config.maxLimit}`);
      limit = n;
    }
    let proven = false;
    const auth = req.get('authorization');
    if (auth !== undefined) {
      const m = /^Bearer\s+(.+)$/i.exec(auth);
      if (!config.serverKey || !m || !sameSecret(m[1] ?? '', config.serverKey)) {
        return error(
          res,
          401,
          'invalid_server_key',
          'the Authorization bearer is not the PROMOTIONS_SERVER_KEY (omit the header to read an anonymous visitor)',
        );
      }
      proven = true;
    }
    const token = typeof req.query.token === 'string' ? req.query.token : req.get('x-user-token');
    if (!proven && token !== undefined) {
      if (!verifyUserToken(config.identitySecret, userKey, token)) {
        return error(res, 401, 'invalid_token', 'token is not the storefront signature of this user id');
      }
      proven = true;
    }
    const catalog = deps.catalog();
    if (!catalog) return error(res, 503, 'not_ready', 'the promotions catalog is not loaded yet');
    const visitor = proven ? `u:${userKey}` : `a:${userKey}`;
    const now = deps.now();
    const holdout = inHoldout(visitor, config.holdoutPct);
    const out: ApiPromotion[] = [];
    let asOf = now;
    if (!holdout) {
      let doc: UserPromotionsDoc | undefined;
      try {
        doc = parseDoc(await deps.reader.get(redisKeys.userPromotions(`${config.topicPrefix}${deps.generation()}`, visitor)));
      } catch (err) {
        // Degrade to the defaults rather than fail (or stall) the shop's home page.
        fellBack(err);
      }
      if (doc) {
        const k = decay(config.halfLifeMs, Math.max(0, now - (doc.ref || doc.computed_at)));
        for (const p of doc.promotions) {
          if (out.length >= limit) break;
          const promo = catalog.byId.get(p.id);
          // Titles and urls come from the current catalog: an edit or an ended promotion shows at once.
          if (!promo || !isActive(promo, now)) continue;
          out.push({ id: promo.id, title: promo.title, url: promo.url, reason: String(p.reason), score: round(Number(p.score) * k) });
        }
        if (out.length > 0) asOf = doc.computed_at;
      }
    }
    const personalized = out.length > 0;
    if (out.length < limit) {
      const have = new Set(out.map((p) => p.id));
      for (const p of defaultsFor(catalog, now)) {
        if (out.length >= limit) break;
        if (have.has(p.id)) continue;
        out.push({ id: p.id, title: p.title, url: p.url, reason: p.isDefault ? 'popular right now' : 'featured by the shop', score: 0 });
      }
    }
    const body: PromotionsResponse = {
      promotions: out,
      personalized,
      as_of: new Date(asOf).toISOString(),
      holdout,
      visitor: proven ? 'user' : 'anonymous',
    };
    // Written directly: no ETag hashing for a private, no-store answer on the hot path.
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.end(JSON.stringify(body));
    deps.metrics?.apiRequests.inc({ personalized: String(personalized), holdout: String(holdout), status: '200' });
    deps.metrics?.apiDuration.observe(Number(process.hrtime.bigint() - started) / 1e9);
  };
}

export function mountPromotionsApi(app: Express, deps: ApiDeps): void {
  const handler = createPromotionsHandler(deps);
  app.get('/v1/promotions/:userKey', (req, res, next) => {
    handler(req, res).catch(next);
  });
}

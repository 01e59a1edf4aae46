import { verifyUserToken, type EnrichedEvent, type WireEvent } from '@storepulse/contracts';

/**
 * Enrichment rules (pure, no I/O): server time, skew correction, site,
 * identity proof, user agent and bot flag, coarse country. The client IP is
 * used for rate limiting only and never stored.
 */
export interface RequestContext {
  receivedAt: number;
  /** Batch `sent_at` (client clock); undefined when the client did not send it. */
  sentAt: number | undefined;
  site: string;
  userAgent: string | undefined;
  isBot: boolean;
  country: string | undefined;
  /** Batch `user_token`, verified against each event's user_id. */
  userToken: string | undefined;
  identitySecret: string;
  maxAgeMs: number;
  maxFutureMs: number;
}

export interface CorrectedTime {
  date: number;
  clamped: boolean;
}

/**
 * ts = received_at - (sent_at - timestamp): the event's age as the client
 * measured it, applied to our clock, so a client clock that is hours off still
 * lands at the right time. Clamped into [received_at - maxAge, received_at + maxFuture].
 */
export function correctedTime(
  receivedAt: number,
  sentAt: number | undefined,
  timestamp: number,
  maxAgeMs: number,
  maxFutureMs: number,
): CorrectedTime {
  const raw = sentAt === undefined ? timestamp : receivedAt - (sentAt - timestamp);
  const min = receivedAt - maxAgeMs;
  const max = receivedAt + maxFutureMs;
  if (raw < min) return { date: min, clamped: true };
  if (raw > max) return { date: max, clamped: true };
  return { date: raw, clamped: false };
}

// Crawlers, headless browsers, HTTP libraries and uptime checkers. Kept short
// and anchored on words that real browsers never send.
const BOT_RE =
  /bot|crawl|spider|slurp|bingpreview|facebookexternalhit|headlesschrome|phantomjs|lighthouse|pingdom|uptimerobot|curl\/|wget\/|python-requests|python-urllib|go-http-client|java\/|okhttp|axios\/|node-fetch|undici|httpclient|libwww|scrapy|feedfetcher|mediapartners|apis-google|preview/i;

export function isBotUserAgent(ua: string | undefined): boolean {
  if (!ua) return true;
  return BOT_RE.test(ua);
}

const ABSOLUTE_URL = /^[a-z][a-z0-9+.-]*:\/\/[^/?#]*([^?#]*)/i;

/** Path of a page URL, absolute or relative; undefined when it has none. (A regex: URL parsing cost more than validation here.) */
export function pagePath(pageUrl: string | undefined): string | undefined {
  if (!pageUrl) return undefined;
  if (pageUrl.startsWith('/') && !pageUrl.startsWith('//')) {
    const end = pageUrl.search(/[?#]/);
    return end < 0 ? pageUrl : pageUrl.slice(0, end);
  }
  const m = ABSOLUTE_URL.exec(pageUrl);
  if (!m) return undefined;
  return m[1] ? m[1] : '/';
}

/**
 * The client IP for rate limiting. With `hops` trusted proxies in front of us,
 * the client is the hops-th address from the right of X-Forwarded-For (each
 * proxy appends the address it saw). Never "trust everything": a client can
 * put anything at the left of that header.
 */
export function clientIp(remoteAddress: string | undefined, forwardedFor: string | undefined, hops: number): string {
  const remote = remoteAddress ?? 'unknown';
  if (hops <= 0 || !forwardedFor) return normalizeIp(remote);
  const chain = forwardedFor
    .split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  // chain + remote: the remote address is the last proxy (hop 1).
  const all = [...chain, remote];
  const idx = all.length - 1 - hops;
  return normalizeIp(all[Math.max(0, idx)] ?? remote);
}

function normalizeIp(ip: string): string {
  return ip.startsWith('::ffff:') ? ip.slice(7) : ip;
}

/** ISO 3166 alpha-2 from a trusted proxy header, else undefined. */
export function coarseCountry(value: string | undefined): string | undefined {
  if (!value || value.length !== 2) return undefined;
  const up = value.toUpperCase();
  return /^[A-Z]{2}$/.test(up) && up !== 'XX' && up !== 'T1' ? up : undefined;
}

export function enrichEvent(event: WireEvent, ctx: RequestContext, verifiedCache?: Map<string, boolean>): EnrichedEvent {
  const { locale, screen, ...rest } = event;
  const t = correctedTime(ctx.receivedAt, ctx.sentAt, event.timestamp, ctx.maxAgeMs, ctx.maxFutureMs);
  const userId = event.user_id ? event.user_id : null;
  let verified = false;
  if (userId !== null && ctx.userToken !== undefined) {
    const cached = verifiedCache?.get(userId);
    verified = cached ?? verifyUserToken(ctx.identitySecret, userId, ctx.userToken);
    verifiedCache?.set(userId, verified);
  }
  const out: EnrichedEvent = {
    ...rest,
    user_id: userId,
    user_verified: verified,
    date: t.date,
    received_at: ctx.receivedAt,
    sent_at: ctx.sentAt ?? ctx.receivedAt,
    site: ctx.site,
    context: { is_bot: ctx.isBot },
  };
  if (t.clamped) out.clock_clamped = true;
  const path = pagePath(event.page_url);
  if (path !== undefined) out.page_path = path;
  if (ctx.userAgent !== undefined) out.context.user_agent = ctx.userAgent;
  if (ctx.country !== undefined) out.context.country = ctx.country;
  if (locale !== undefined) out.context.locale = locale;
  if (screen !== undefined) out.context.screen = screen;
  return out;
}

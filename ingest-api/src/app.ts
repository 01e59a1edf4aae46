import express, { type NextFunction, type Request, type Response, type Router } from 'express';
import type { Logger } from 'pino';
import { batchEnvelopeSchema } from '@storepulse/contracts';
import { buildRecords } from './batch.ts';
import { checkContentEncoding, checkContentType, readBodyText } from './body.ts';
import type { IngestConfig } from './config.ts';
import { clientIp, coarseCountry, isBotUserAgent, type RequestContext } from './enrich.ts';
import {
  HttpError,
  MalformedBatchError,
  OriginNotAllowedError,
  PayloadTooLargeError,
  RateLimitedError,
  UnavailableError,
  UnknownWriteKeyError,
} from './errors.ts';
import type { IngestMetrics } from './metrics.ts';
import { openApiDocument } from './openapi.ts';
import type { ProducePipeline } from './producer.ts';
import { TokenBuckets, takeVisitors } from './rate-limit.ts';
import { JsonLimitError, parseJsonSafely } from './safe-json.ts';
import type { SdkBundle } from './sdk-bundle.ts';
import { originAllowed, type WriteKeyInfo } from './write-keys.ts';

export interface RouterDeps {
  config: Readonly<IngestConfig>;
  logger: Logger;
  metrics: IngestMetrics;
  pipeline: ProducePipeline;
  sdk: SdkBundle;
  /** Intake state shared with the service: false once stop() began. */
  intake: { open: boolean; inFlightRequests: number; onIdle: (() => void) | undefined };
  now?: () => number;
}

const ALLOW_HEADERS = 'Content-Type, Content-Encoding, X-Write-Key';

/** The one place that turns an error into a response. */
export function sendError(res: Response, err: unknown): number {
  const e = err instanceof HttpError ? err : new HttpError(500, 'internal_error', 'unexpected error; it was logged', true);
  if (e.retryAfterS !== undefined) res.setHeader('Retry-After', String(e.retryAfterS));
  if (e instanceof PayloadTooLargeError && e.closeConnection && !res.headersSent) res.setHeader('Connection', 'close');
  res.status(e.status).json({ error: { code: e.code, message: e.message } });
  return e.status;
}

export function createIngestRouter(deps: RouterDeps): Router {
  const { config, logger, metrics, pipeline, sdk, intake } = deps;
  const now = deps.now ?? Date.now;
  const keyLimiter = new TokenBuckets(config.rateLimit.keyEventsPerS, config.rateLimit.keyBurst);
  const ipLimiter = new TokenBuckets(config.rateLimit.ipRequestsPerS, config.rateLimit.ipBurst);
  const visitorLimiter = new TokenBuckets(config.rateLimit.visitorEventsPerS, config.rateLimit.visitorBurst, Date.now, 200_000);
  const router = express.Router();
  const openapi = JSON.stringify(openApiDocument(config));

  function corsFor(req: Request, res: Response, info: WriteKeyInfo | undefined): void {
    const origin = req.headers.origin;
    if (!origin) return;
    res.setHeader('Vary', 'Origin');
    const allowed = info ? originAllowed(info, origin) : [...config.writeKeys.values()].some((k) => originAllowed(k, origin));
    // Called again once the body named the key: drop what the first, key-less guess allowed.
    if (!allowed) {
      res.removeHeader('Access-Control-Allow-Origin');
      return;
    }
    // Echo the origin, never "*" with credentials: the tracker sends none.
    res.setHeader('Access-Control-Allow-Origin', origin);
  }

  router.options('/v1/batch', (req, res) => {
    // A preflight carries no body and no custom header values: the key can only come from ?key=.
    const key = typeof req.query.key === 'string' ? req.query.key : undefined;
    corsFor(req, res, key ? config.writeKeys.get(key) : undefined);
    res.setHeader('Access-Control-Allow-Methods', 'POST, OPTIONS');
    res.setHeader('Access-Control-Allow-Headers', ALLOW_HEADERS);
    res.setHeader('Access-Control-Max-Age', '600');
    res.status(204).end();
  });

  router.post('/v1/batch', async (req, res) => {
    const started = performance.now();
    intake.inFlightRequests++;
    metrics.inFlightRequests.inc();
    let status = 500;
    let eventCount = 0;
    try {
      const out = await handleBatch(req, res);
      eventCount = out.events;
      status = 202;
      // Written by hand: res.json() would also hash the body for an ETag nobody uses.
      const payload =
        out.rejected.length === 0
          ? `{"accepted":${out.accepted},"rejected":[]}`
          : JSON.stringify({ accepted: out.accepted, rejected: out.rejected });
      res.writeHead(202, { 'Content-Type': 'application/json; charset=utf-8', 'Content-Length': Buffer.byteLength(payload) });
      res.end(payload);
    } catch (err) {
      if (!(err instanceof HttpError)) logger.error({ err }, 'unexpected error in POST /v1/batch');
      if (err instanceof HttpError && err.status >= 400) {
        const n = (err as { events?: number }).events ?? 0;
        eventCount = n;
        if (n > 0) metrics.eventsRejected.inc({ reason: err.code }, n);
      }
      status = sendError(res, err);
    } finally {
      intake.inFlightRequests--;
      metrics.inFlightRequests.dec();
      metrics.requests.inc({ status: String(status) });
      const ms = Math.round((performance.now() - started) * 10) / 10;
      // No bodies, no query (it may hold the key), no IP.
      if (status < 400) logger.debug({ status, ms, events: eventCount }, 'POST /v1/batch');
      else logger.info({ status, ms, events: eventCount }, 'POST /v1/batch');
      if (!intake.open && intake.inFlightRequests === 0) intake.onIdle?.();
    }
  });

  async function handleBatch(
    req: Request,
    res: Response,
  ): Promise<{ accepted: number; rejected: { index: number; error: string }[]; events: number }> {
    const receivedAt = now();
    if (!intake.open) throw new UnavailableError('shutting_down', 'the ingest API is shutting down; retry', 1);
    const ip = clientIp(req.socket.remoteAddress, headerOne(req, 'x-forwarded-for'), config.trustProxyHops);
    const ipTake = ipLimiter.take(ip);
    if (!ipTake.ok) throw new RateLimitedError('ip', ipTake.retryAfterS);

    // Fail early on a key given outside the body.
    const queryKey = typeof req.query.key === 'string' ? req.query.key : undefined;
    const headerKey = headerOne(req, 'x-write-key');
    const outerKey = queryKey ?? headerKey;
    if (outerKey !== undefined && !config.writeKeys.has(outerKey)) throw unknownKey(outerKey);
    corsFor(req, res, outerKey ? config.writeKeys.get(outerKey) : undefined);

    checkContentType(req.headers['content-type']);
    const encoding = checkContentEncoding(headerOne(req, 'content-encoding'));
    const text = bodyAlreadyRead(req) ?? (await readBodyText(req, encoding, config.maxBatchBytes, 4 * config.maxBatchBytes));

    let body: unknown;
    try {
      body = parseJsonSafely(text);
    } catch (err) {
      if (err instanceof JsonLimitError) throw new MalformedBatchError(err.message, 'json_limits', { cause: err });
      throw new MalformedBatchError('body is not valid JSON', 'malformed_json', { cause: err });
    }
    if (typeof body !== 'object' || body === null || Array.isArray(body)) {
      throw new MalformedBatchError('body must be a JSON object {write_key?, sent_at?, user_token?, events: [...]}', 'malformed_batch');
    }
    const events = (body as { events?: unknown }).events;
    if (Array.isArray(events) && events.length > config.maxBatchEvents) {
      throw new PayloadTooLargeError(`batch has ${events.length} events; MAX_BATCH_EVENTS is ${config.maxBatchEvents}`);
    }
    const env = batchEnvelopeSchema.safeParse(body);
    if (!env.success) {
      const issue = env.error.issues[0];
      throw new MalformedBatchError(`${issue?.path.join('.') || 'body'}: ${issue?.message ?? 'invalid'}`, 'malformed_batch');
    }
    const batch = env.data;
    const key = batch.write_key ?? outerKey;
    if (key === undefined)
      throw new UnknownWriteKeyError('no write key; send it as write_key in the body, ?key= or the X-Write-Key header');
    const info = config.writeKeys.get(key);
    if (!info) throw unknownKey(key);
    if (key !== outerKey) corsFor(req, res, info);
    const origin = req.headers.origin;
    if (origin && !originAllowed(info, origin)) throw new OriginNotAllowedError(origin);

    const keyTake = keyLimiter.take(key, batch.events.length);
    if (!keyTake.ok) throw withEvents(new RateLimitedError('key', keyTake.retryAfterS), batch.events.length);
    const visitorRetryS = takeVisitors(visitorLimiter, info.site, batch.events);
    if (visitorRetryS > 0) throw withEvents(new RateLimitedError('visitor', visitorRetryS), batch.events.length);

    const ua = headerOne(req, 'user-agent');
    const ctx: RequestContext = {
      receivedAt,
      sentAt: batch.sent_at,
      site: info.site,
      userAgent: ua === undefined ? undefined : ua.slice(0, 512),
      isBot: isBotUserAgent(ua),
      country: config.countryHeader ? coarseCountry(headerOne(req, config.countryHeader)) : undefined,
      userToken: batch.user_token,
      identitySecret: config.identitySecret,
      maxAgeMs: config.eventMaxAgeMs,
      maxFutureMs: config.eventMaxFutureMs,
    };
    const outcome = buildRecords(batch.events, ctx, config.topicPrefix, key);
    try {
      await pipeline.produce(outcome.records);
    } catch (err) {
      throw withEvents(err, batch.events.length);
    }
    for (const [type, n] of outcome.acceptedByType) metrics.eventsAccepted.inc({ type }, n);
    for (const [code, n] of outcome.rejectedByCode) metrics.eventsRejected.inc({ reason: code }, n);
    return { accepted: outcome.accepted, rejected: outcome.rejected, events: batch.events.length };
  }

  let warnedPreParsed = false;
  /** A host app with a global body parser has consumed the stream already; use what it parsed. */
  function bodyAlreadyRead(req: Request): string | undefined {
    if (!req.readableEnded && !(req as { _body?: boolean })._body) return undefined;
    if (!warnedPreParsed) {
      warnedPreParsed = true;
      logger.warn('a body parser ran before the ingest routes; mount ingest before express.json()/text() so gzip and size limits apply');
    }
    const pre = (req as { body?: unknown }).body;
    const text = typeof pre === 'string' ? pre : Buffer.isBuffer(pre) ? pre.toString('utf8') : (JSON.stringify(pre ?? null) ?? 'null');
    if (Buffer.byteLength(text) > config.maxBatchBytes)
      throw new PayloadTooLargeError(`body exceeds MAX_BATCH_BYTES=${config.maxBatchBytes} bytes`);
    return text;
  }

  router.get('/sdk.js', (req, res) => {
    const bundle = sdk.get();
    res.setHeader('Content-Type', 'application/javascript; charset=utf-8');
    res.setHeader('Cache-Control', bundle.placeholder ? 'no-cache' : 'public, max-age=300, stale-while-revalidate=86400');
    res.setHeader('ETag', bundle.etag);
    res.setHeader('Access-Control-Allow-Origin', '*');
    res.setHeader('X-Content-Type-Options', 'nosniff');
    if (req.headers['if-none-match'] === bundle.etag) {
      res.status(304).end();
      return;
    }
    res.status(200).send(bundle.body);
  });

  router.get('/openapi.json', (_req, res) => {
    res.setHeader('Content-Type', 'application/json; charset=utf-8');
    res.status(200).send(openapi);
  });

  // Errors express raised before our handlers (e.g. a malformed URL) still get the JSON error shape.
  router.use((err: unknown, _req: Request, res: Response, next: NextFunction) => {
    if (res.headersSent) return next(err);
    const status = (err as { status?: number }).status;
    if (typeof status === 'number' && status >= 400 && status < 500) {
      sendError(res, new MalformedBatchError('request could not be read', 'bad_request'));
      return;
    }
    logger.error({ err }, 'unhandled error in ingest routes');
    sendError(res, err);
  });

  return router;
}

function unknownKey(key: string): UnknownWriteKeyError {
  return new UnknownWriteKeyError(`write key ${JSON.stringify(key.slice(0, 64))} is not known; check WRITE_KEYS`);
}

function headerOne(req: Request, name: string): string | undefined {
  const v = req.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

function withEvents<T>(err: T, events: number): T {
  if (err instanceof Error) (err as Error & { events?: number }).events = events;
  return err;
}

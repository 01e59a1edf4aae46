/**
 * The single-process runner behind `npm start`: one express app on PORT with
 * the storefront, the SDK, ingest, the homepage API, reports and dashboard,
 * plus both processors, sharing one logger, one metrics registry and one
 * warehouse client (an embedded ClickHouse data directory can be opened by
 * one process only, so the writer and the reports live here together).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { pino, type Logger } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createIngestService, loadIngestConfig } from '@storepulse/ingest-api';
import { createPromotionsService, loadPromotionsConfig } from '@storepulse/promotions';
import { createAnalyticsService, insertConcurrency, loadAnalyticsConfig } from '@storepulse/analytics';
import { createReportsService, createWarehouseClient, loadWarehouseConfig, migrate } from '@storepulse/warehouse';
import { loadHostConfig } from './host-config.ts';
import { ROOT } from './paths.ts';
import { mountPrivacyApi, restoreRedisTombstones } from './privacy.ts';
import { ConfigError } from './config.ts';

export interface HostedService {
  mount?(app: express.Express): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  checks: Record<string, () => Promise<void>>;
}

const STOREFRONT_DIR = path.join(ROOT, 'tracker-sdk/demo/site');

/** Parses every service's settings and reports all bad values at once. */
function loadAll(env: NodeJS.ProcessEnv) {
  const problems: string[] = [];
  const attempt = <T>(name: string, load: () => T): T | undefined => {
    try {
      return load();
    } catch (err) {
      problems.push(`${name}: ${(err as Error).message}`);
      return undefined;
    }
  };
  const host = loadHostConfig(env);
  problems.push(...host.problems.map((p) => `host: ${p}`));
  const ingest = attempt('ingest', () => loadIngestConfig(env));
  const promotions = attempt('promotions', () => loadPromotionsConfig(env));
  const analytics = attempt('analytics', () => loadAnalyticsConfig(env));
  const warehouse = attempt('warehouse', () => loadWarehouseConfig(env));
  if (problems.length || !host.config || !ingest || !promotions || !analytics || !warehouse) {
    throw new ConfigError(`bad settings:\n  ${problems.join('\n  ')}`);
  }
  return { host: host.config, ingest, promotions, analytics, warehouse };
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>((_, reject) => {
      timer = setTimeout(() => reject(new Error(`${what} did not answer within ${ms} ms`)), ms);
    }),
  ]);
}

const START_RETRY_MIN_MS = 1000;
const START_RETRY_MAX_MS = 30_000;

/** Kafka or Redis not reachable (yet): worth another start. Settings, catalog and migration errors are not. */
export function isTransientStartError(err: unknown): boolean {
  if (!(err instanceof Error) || err instanceof ConfigError) return false;
  const names = [err.name, err.cause instanceof Error ? err.cause.name : ''];
  if (names.some((n) => n.startsWith('KafkaJS') || n === 'MaxRetriesPerRequestError' || n === 'StoreError')) return true;
  return /ECONNREFUSED|ECONNRESET|ETIMEDOUT|EHOSTUNREACH|ENOTFOUND|EAI_AGAIN|Connection is closed|coordinator is loading/i.test(
    err.message,
  );
}

export interface RunningHost {
  server: http.Server;
  port: number;
  logger: Logger;
  stop(reason?: string): Promise<void>;
}

export async function runSingleProcess(env: NodeJS.ProcessEnv): Promise<RunningHost> {
  const cfg = loadAll(env);
  const logger = pino({
    level: cfg.host.logLevel,
    base: { app: 'storepulse' },
    redact: {
      paths: ['*.write_key', '*.user_token', '*.token', '*.password', 'req.headers.authorization', 'req.headers["x-write-key"]'],
      censor: '***',
    },
  });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });

  // Embedded: one chDB connection per insert the analytics processor may run at once.
  const warehouse = createWarehouseClient({
    clickhouseUrl: cfg.host.clickhouseUrl,
    dataDir: cfg.host.dataDir,
    connections: insertConcurrency(cfg.analytics),
  });
  logger.info({ mode: warehouse.mode, location: warehouse.location }, 'warehouse client ready');
  await migrate(warehouse.client, {
    logger: logger.child({ service: 'migrations' }),
    onCluster: cfg.analytics.clickhouseCluster,
    eventsTtlDays: cfg.analytics.eventsTtlDays,
  });

  const services: Record<string, HostedService> = {
    ingest: createIngestService({ config: cfg.ingest, logger, registry }),
    promotions: createPromotionsService({
      config: cfg.promotions,
      logger,
      registry,
      // A rebuild of lost Redis state first puts the consent-purge tombstones back (kept in ClickHouse).
      beforeRebuild: async () => {
        await restoreRedisTombstones({ env, config: cfg.promotions, services, logger });
      },
    }),
    analytics: createAnalyticsService({ config: cfg.analytics, logger, registry, warehouse }),
    reports: createReportsService({ logger, warehouse, config: cfg.warehouse }),
  };

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok', node: process.version, uptime_s: Math.round(process.uptime()) });
  });
  // Readiness checks by dependency name, merged once: several services check Kafka.
  const checks: Record<string, () => Promise<void>> = {};
  for (const svc of Object.values(services)) for (const [name, fn] of Object.entries(svc.checks)) checks[name] ??= fn;
  checks.warehouse ??= async () => {
    const r = await warehouse.client.ping();
    if (!r.success) throw r.error;
  };
  // Listening comes before the services start (F4): ingest answers as soon as its producer is
  // connected (503 + Retry-After until then), while /readyz says 503 until every service started.
  const started = new Set<string>();
  const startFailures = new Map<string, string>();
  app.get('/readyz', async (_req, res) => {
    const pending = Object.keys(services).filter((n) => !started.has(n));
    if (pending.length > 0) {
      res.status(503).json({ status: 'starting', pending, start_failures: Object.fromEntries(startFailures) });
      return;
    }
    const results = await Promise.all(
      Object.entries(checks).map(async ([name, fn]) => {
        try {
          await withTimeout(fn(), cfg.host.readyCheckTimeoutMs, name);
          return [name, { ok: true }] as const;
        } catch (err) {
          return [name, { ok: false, error: (err as Error).message }] as const;
        }
      }),
    );
    const detail = Object.fromEntries(results);
    const down = results.filter(([, r]) => !r.ok).map(([n]) => n);
    res
      .status(down.length ? 503 : 200)
      .json(down.length ? { status: 'unavailable', down, checks: detail } : { status: 'ready', checks: detail });
  });
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });

  for (const svc of Object.values(services)) svc.mount?.(app);
  mountPrivacyApi(app, { env, config: cfg.promotions, services, logger });

  // The demo storefront, with history-API routes (/search, /products/:id) falling back to its index.
  if (fs.existsSync(STOREFRONT_DIR)) {
    app.use(express.static(STOREFRONT_DIR, { index: 'index.html', maxAge: '5m' }));
    app.get(/^\/(?!v1\/|api\/|metrics|healthz|readyz|dashboard|sdk\.js|openapi\.json).*/, (req, res, next) => {
      if (req.method !== 'GET' || path.extname(req.path)) return next();
      res.sendFile(path.join(STOREFRONT_DIR, 'index.html'));
    });
  }
  app.use((_req, res) => {
    res.status(404).json({ error: { code: 'not_found', message: 'no such route' } });
  });

  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError(`PORT ${cfg.host.port} is already in use: stop what holds it or set PORT`) : err),
    );
    server.listen(cfg.host.port, '0.0.0.0', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  logger.info({ port, node: process.version }, `storepulse listening on http://localhost:${port}; starting the services`);

  // Side by side: none waits for another, and no start waits for a consumer-group join. A start
  // that fails because Kafka or Redis is not there (yet) is retried with backoff while the rest of
  // the process keeps serving (ingest answers 503 + Retry-After, the homepage API the defaults);
  // anything else (bad settings, an invalid catalog, a migration error) ends the start-up.
  let abandoned = false;
  const startWithRetry = async (name: string, svc: HostedService) => {
    for (let attempt = 1; ; attempt++) {
      try {
        await svc.start();
        started.add(name);
        startFailures.delete(name);
        logger.info({ service: name, attempt }, 'service started');
        return;
      } catch (err) {
        if (!isTransientStartError(err) || abandoned) throw err;
        const delayMs = Math.min(START_RETRY_MAX_MS, START_RETRY_MIN_MS * 2 ** Math.min(attempt - 1, 10));
        startFailures.set(name, (err as Error).message);
        logger.error(
          { err, service: name, attempt, retryInMs: delayMs },
          'service start failed: a dependency is not reachable yet; retrying',
        );
        await new Promise<void>((resolve) => setTimeout(resolve, delayMs).unref());
        if (abandoned) return;
      }
    }
  };
  try {
    // Rejects on the first fatal start failure; services still retrying then give up.
    await Promise.all(Object.entries(services).map(([name, svc]) => startWithRetry(name, svc)));
  } catch (err) {
    abandoned = true;
    server.close();
    server.closeAllConnections();
    throw err;
  }
  logger.info({ port }, 'every service started');

  let stopping: Promise<void> | undefined;
  const stop = (reason = 'stop') =>
    (stopping ??= (async () => {
      logger.info({ reason }, 'shutting down');
      const timer = setTimeout(() => {
        logger.error({ timeout_ms: cfg.host.shutdownTimeoutMs }, 'shutdown took too long; exiting');
        process.exit(1);
      }, cfg.host.shutdownTimeoutMs);
      timer.unref();
      // Stop intake first, then the processors (they flush and commit), then the clients.
      await new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeAllConnections();
      for (const name of ['ingest', 'promotions', 'analytics', 'reports']) {
        try {
          await services[name]!.stop();
        } catch (err) {
          logger.error({ err, service: name }, 'service stop failed');
        }
      }
      await warehouse.close();
      clearTimeout(timer);
      logger.info('stopped');
    })());
  return { server, port, logger, stop };
}

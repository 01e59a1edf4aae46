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
import { createAnalyticsService, loadAnalyticsConfig } from '@storepulse/analytics';
import { createReportsService, createWarehouseClient, loadWarehouseConfig, migrate } from '@storepulse/warehouse';
import { loadHostConfig } from './host-config.ts';
import { ROOT } from './paths.ts';
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

  const warehouse = createWarehouseClient({ clickhouseUrl: cfg.host.clickhouseUrl, dataDir: cfg.host.dataDir });
  logger.info({ mode: warehouse.mode, location: warehouse.location }, 'warehouse client ready');
  await migrate(warehouse.client, {
    logger: logger.child({ service: 'migrations' }),
    onCluster: cfg.analytics.clickhouseCluster,
    eventsTtlDays: cfg.analytics.eventsTtlDays,
  });

  const services: Record<string, HostedService> = {
    ingest: createIngestService({ config: cfg.ingest, logger, registry }),
    promotions: createPromotionsService({ config: cfg.promotions, logger, registry }),
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
  app.get('/readyz', async (_req, res) => {
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

  for (const [name, svc] of Object.entries(services)) {
    await svc.start();
    logger.info({ service: name }, 'service started');
  }

  const server = http.createServer(app);
  server.keepAliveTimeout = 65_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', (err: NodeJS.ErrnoException) =>
      reject(err.code === 'EADDRINUSE' ? new ConfigError(`PORT ${cfg.host.port} is already in use: stop what holds it or set PORT`) : err),
    );
    server.listen(cfg.host.port, '0.0.0.0', () => resolve());
  });
  const port = (server.address() as { port: number }).port;
  logger.info({ port, node: process.version }, `storepulse listening on http://localhost:${port}`);

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

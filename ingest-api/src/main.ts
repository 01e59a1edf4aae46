import express from 'express';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createIngestService, loadIngestConfig } from './index.ts';
import { ConfigError } from './errors.ts';

/** Runs the ingest API alone: its own express app with /healthz, /readyz and /metrics. */
async function main(): Promise<void> {
  let config;
  try {
    config = loadIngestConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({ level: config.logLevel, redact: ['req.headers.authorization', 'req.headers["x-write-key"]'] });
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const service = createIngestService({ config, logger, registry });

  const app = express();
  app.disable('x-powered-by');
  app.get('/healthz', (_req, res) => {
    res.json({ status: 'ok' });
  });
  app.get('/readyz', async (_req, res) => {
    const results: Record<string, string> = {};
    let ok = true;
    for (const [name, check] of Object.entries(service.checks)) {
      try {
        await check();
        results[name] = 'ok';
      } catch (err) {
        ok = false;
        results[name] = (err as Error).message;
      }
    }
    res.status(ok ? 200 : 503).json({ status: ok ? 'ready' : 'not_ready', checks: results });
  });
  app.get('/metrics', async (_req, res) => {
    res.setHeader('Content-Type', registry.contentType);
    res.send(await registry.metrics());
  });
  service.mount(app);

  await service.start();
  const server = app.listen(config.port, () => logger.info({ port: config.port }, 'ingest API listening'));
  server.keepAliveTimeout = 65_000;

  let shuttingDown = false;
  const shutdown = (signal: string) => {
    if (shuttingDown) return;
    shuttingDown = true;
    logger.info({ signal }, 'shutting down');
    const hardStop = setTimeout(() => {
      logger.error('shutdown took too long; exiting');
      process.exit(1);
    }, config.shutdownTimeoutMs + 5000);
    hardStop.unref();
    // Stop accepting connections, let in-flight requests finish, then flush Kafka.
    server.close();
    server.closeIdleConnections();
    void service.stop().then(
      () => {
        server.closeAllConnections();
        process.exit(0);
      },
      (err: unknown) => {
        logger.error({ err }, 'error while stopping');
        process.exit(1);
      },
    );
  };
  process.on('SIGTERM', () => shutdown('SIGTERM'));
  process.on('SIGINT', () => shutdown('SIGINT'));
}

void main();

import cluster from 'node:cluster';
import express from 'express';
import { pino, type Logger } from 'pino';
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
  if (config.ingestWorkers > 1 && cluster.isPrimary) {
    runPrimary(config.ingestWorkers, config.shutdownTimeoutMs, logger);
    return;
  }
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

/**
 * INGEST_WORKERS > 1: this process only forks the workers (node:cluster; they
 * share the port, connections are handed out round-robin), restarts one that
 * dies, and on SIGTERM/SIGINT passes the signal on and exits once all have
 * stopped. Each worker is a whole ingest API with its own producer and its own
 * /metrics (a scrape sees one worker); rate limits are per worker.
 */
function runPrimary(workers: number, shutdownTimeoutMs: number, logger: Logger): void {
  let stopping = false;
  let stopSignal: NodeJS.Signals | undefined;
  let exitCode = 0;
  // Counted here: cluster.workers may still list a worker when its 'exit' fires.
  let alive = 0;
  const fork = () => {
    alive++;
    cluster.fork();
  };
  for (let i = 0; i < workers; i++) fork();
  cluster.on('exit', (worker, code, signal) => {
    alive--;
    if (stopping) {
      // Killed by our own signal = a worker still starting (its handler, installed with the listener, was not there yet).
      if (code !== 0 && signal !== stopSignal) exitCode = 1;
      if (alive === 0) process.exit(exitCode);
      return;
    }
    logger.error({ pid: worker.process.pid, code, signal }, 'ingest worker died; starting another in 1 s');
    setTimeout(() => {
      if (!stopping) fork();
    }, 1000);
  });
  const stop = (signal: NodeJS.Signals) => {
    if (stopping) return;
    stopping = true;
    stopSignal = signal;
    logger.info({ signal, workers }, 'stopping ingest workers');
    if (alive === 0) process.exit(0); // between a worker's death and its replacement
    for (const w of Object.values(cluster.workers ?? {})) w?.process.kill(signal);
    const hardStop = setTimeout(() => {
      logger.error('ingest workers took too long to stop; exiting');
      process.exit(1);
    }, shutdownTimeoutMs + 10_000);
    hardStop.unref();
  };
  process.on('SIGTERM', () => stop('SIGTERM'));
  process.on('SIGINT', () => stop('SIGINT'));
}

void main();

/**
 * Runs the promotions service alone: its own express app with /healthz,
 * /readyz and /metrics on PROMOTIONS_PORT (default 3002).
 */
import express from 'express';
import pino from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { ConfigError } from './errors.ts';
import { createPromotionsService, loadPromotionsConfig } from './index.ts';

async function main(): Promise<void> {
  let config;
  try {
    config = loadPromotionsConfig(process.env);
  } catch (err) {
    if (err instanceof ConfigError) {
      process.stderr.write(`${err.message}\n`);
      process.exit(2);
    }
    throw err;
  }
  const logger = pino({
    level: config.logLevel,
    redact: { paths: ['config.identitySecret', 'config.serverKey', 'config.upstash.token'], censor: '***' },
  });
  if (config.identitySecretIsDefault) logger.warn('IDENTITY_SECRET is the development default; set a real secret in production');
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  const service = createPromotionsService({ config, logger, registry });
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
    res.type(registry.contentType).send(await registry.metrics());
  });
  service.mount(app);
  await service.start();
  const server = app.listen(config.port, () => logger.info({ port: config.port }, 'promotions service listening'));
  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'shutting down');
    server.close();
    await service.stop();
    process.exit(0);
  };
  process.on('SIGINT', () => void shutdown('SIGINT'));
  process.on('SIGTERM', () => void shutdown('SIGTERM'));
}

main().catch((err: unknown) => {
  process.stderr.write(`promotions failed to start: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
  process.exit(1);
});

/**
 * Runs the analytics processor alone (scale-out). Embedded chDB allows one
 * process per DATA_DIR, so running it alone next to the single-process host
 * needs its own DATA_DIR or a ClickHouse server (CLICKHOUSE_URL).
 */
import express from 'express';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createWarehouseClient, migrate } from '@storepulse/warehouse';
import { insertConcurrency, loadAnalyticsConfig } from './config.ts';
import { createAnalyticsService } from './service.ts';

const config = loadAnalyticsConfig(process.env);
const logger = pino({ level: config.logLevel, name: 'analytics' });
const registry = new Registry();
collectDefaultMetrics({ register: registry });
// As many embedded connections as inserts may run at once (one connection runs its queries one by one).
const warehouse = createWarehouseClient({
  clickhouseUrl: config.clickhouseUrl,
  dataDir: config.dataDir,
  connections: insertConcurrency(config),
});
await migrate(warehouse.client, { onCluster: config.clickhouseCluster, eventsTtlDays: config.eventsTtlDays, logger });
const service = createAnalyticsService({ config, logger, registry, warehouse });

const app = express();
app.get('/healthz', (_req, res) => void res.json({ ok: true }));
app.get('/readyz', async (_req, res) => {
  const results = await Promise.allSettled(Object.entries(service.checks).map(async ([name, check]) => [name, await check()] as const));
  const names = Object.keys(service.checks);
  const body = Object.fromEntries(results.map((r, i) => [names[i], r.status === 'fulfilled' ? 'ok' : String((r.reason as Error).message)]));
  res.status(results.every((r) => r.status === 'fulfilled') ? 200 : 503).json(body);
});
app.get('/metrics', async (_req, res) => {
  res.type(registry.contentType).send(await registry.metrics());
});

await service.start();
const server = app.listen(config.port, () => logger.info({ port: config.port }, 'analytics listening'));

let stopping = false;
async function shutdown(signal: string) {
  if (stopping) return;
  stopping = true;
  logger.info({ signal }, 'shutting down');
  server.close();
  await service.stop();
  await warehouse.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown('SIGINT'));
process.on('SIGTERM', () => void shutdown('SIGTERM'));
void service.died.then(() => process.exit(1));

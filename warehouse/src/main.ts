/**
 * Runs the reports API and dashboard alone (scale-out): against a ClickHouse
 * server (CLICKHOUSE_URL), or against an embedded DATA_DIR that no other
 * process has open.
 */
import express from 'express';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createWarehouseClient } from './client.ts';
import { loadWarehouseConfig } from './config.ts';
import { migrate } from './migrate.ts';
import { createReportsService } from './reports/service.ts';

const env = process.env;
const config = loadWarehouseConfig(env);
const port = Number(env.PORT ?? 3003);
const logger = pino({ level: env.LOG_LEVEL ?? 'info', name: 'reports' });
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const warehouse = createWarehouseClient({ clickhouseUrl: config.clickhouseUrl, dataDir: config.dataDir });
await migrate(warehouse.client, { onCluster: config.clickhouseCluster, eventsTtlDays: config.eventsTtlDays, logger });
const service = createReportsService({ logger, warehouse, config });

const app = express();
app.disable('x-powered-by');
app.get('/healthz', (_req, res) => void res.json({ status: 'ok' }));
app.get('/readyz', async (_req, res) => {
  try {
    await service.checks.warehouse!();
    res.json({ status: 'ready' });
  } catch (err) {
    res.status(503).json({ status: 'unavailable', error: (err as Error).message });
  }
});
app.get('/metrics', async (_req, res) => void res.type(registry.contentType).send(await registry.metrics()));
service.mount(app);
const server = app.listen(port, () => logger.info({ port, warehouse: warehouse.location }, 'reports listening'));

async function shutdown() {
  server.close();
  await warehouse.close();
  process.exit(0);
}
process.on('SIGINT', () => void shutdown());
process.on('SIGTERM', () => void shutdown());

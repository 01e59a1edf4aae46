/**
 * The fault suite's own host process: ingest, promotions and analytics in one
 * process, composed like scripts/src/single-process.ts (which takes no test
 * hooks), plus deterministic kill points. Each kill point SIGKILLs this very
 * process from inside a processor's hook, i.e. after its write was confirmed
 * (ClickHouse insert / Redis Lua script) and before the Kafka offset is
 * committed: the exact window the idempotent effects must cover.
 *
 * FAULT_KILLS: comma list of `analytics:<n>` / `promotions:<n>`: the n-th
 * non-empty batch (per process life) of that processor is the kill point.
 * Kills fire in list order, one per process life; FAULT_MARKER_DIR holds a
 * marker per kill that fired (with the batch it cut), so a restarted process
 * arms the next one.
 * FAULT_SINK_DOWN_FLAG: while this file exists every ClickHouse insert fails
 * (the analytics beforeInsert hook throws), as when the warehouse is down.
 * FAULT_SLOW_SINK_MS: every ClickHouse insert and every promotions chunk waits
 * this long after its write and before its offsets are committed (a slow
 * sink, and a wide window for a rebalance to redeliver what was written).
 * FAULT_EXTRA_MEMBERS: comma list of `<startAfterMs>:<runMs>`: a second
 * promotions and a second analytics consumer join their groups that long
 * after start and leave again after runMs (a second processor instance joining
 * and leaving; in this process, because an embedded ClickHouse data directory
 * opens in one process only: the group protocol, the revocations and the
 * redeliveries are the real ones).
 */
import fs from 'node:fs';
import http from 'node:http';
import path from 'node:path';
import express from 'express';
import { pino } from 'pino';
import { Registry, collectDefaultMetrics } from 'prom-client';
import { createIngestService, loadIngestConfig } from '@storepulse/ingest-api';
import { createPromotionsService, loadPromotionsConfig } from '@storepulse/promotions';
import { createAnalyticsService, loadAnalyticsConfig } from '@storepulse/analytics';
import { createWarehouseClient, migrate } from '@storepulse/warehouse';

const env = process.env;
const markerDir = env.FAULT_MARKER_DIR ?? '';
const kills = (env.FAULT_KILLS ?? '')
  .split(',')
  .filter(Boolean)
  .map((s, i) => {
    const [who, n] = s.split(':');
    return { i, who: who as 'analytics' | 'promotions', n: Number(n) };
  });
const sinkDownFlag = env.FAULT_SINK_DOWN_FLAG ?? '';
const slowSinkMs = Number(env.FAULT_SLOW_SINK_MS ?? 0);
const slowSink = async (): Promise<void> => {
  if (slowSinkMs > 0) await new Promise((r) => setTimeout(r, slowSinkMs));
};
const extraMembers = (env.FAULT_EXTRA_MEMBERS ?? '')
  .split(',')
  .filter(Boolean)
  .map((s) => s.split(':').map(Number) as [number, number]);
const marker = (i: number) => path.join(markerDir, `kill-${i}.json`);
const armed = kills.find((k) => !fs.existsSync(marker(k.i)) && (k.i === 0 || fs.existsSync(marker(k.i - 1))));
let seen = 0;

function killPoint(who: 'analytics' | 'promotions', info: unknown): void {
  if (!armed || armed.who !== who) return;
  if (++seen < armed.n) return;
  fs.writeFileSync(marker(armed.i), JSON.stringify({ who, at: Date.now(), info }));
  process.kill(process.pid, 'SIGKILL');
}

const logger = pino({ level: env.LOG_LEVEL ?? 'info', base: { app: 'storepulse-fault-host' } });
const registry = new Registry();
collectDefaultMetrics({ register: registry });
const warehouse = createWarehouseClient({ dataDir: path.resolve(env.DATA_DIR ?? '.data') });
await migrate(warehouse.client, { logger: logger.child({ service: 'migrations' }) });

const services = {
  ingest: createIngestService({ config: loadIngestConfig(env), logger: logger.child({ service: 'ingest' }), registry }),
  promotions: createPromotionsService({
    config: loadPromotionsConfig(env),
    logger: logger.child({ service: 'promotions' }),
    registry,
    hooks: {
      afterWrite: async (chunk) => {
        await slowSink();
        if (chunk.events > 0) killPoint('promotions', chunk);
      },
    },
  }),
  analytics: createAnalyticsService({
    config: loadAnalyticsConfig(env),
    logger: logger.child({ service: 'analytics' }),
    registry,
    warehouse,
    hooks: {
      beforeInsert: () => {
        // Simulated ClickHouse outage while the flag file exists (retried with backoff by the processor).
        if (sinkDownFlag && fs.existsSync(sinkDownFlag)) throw new Error('fault: ClickHouse sink is down (FAULT_SINK_DOWN_FLAG exists)');
      },
      afterInsert: async (info) => {
        await slowSink();
        if (info.rows > 0) killPoint('analytics', info);
      },
    },
  }),
};

const app = express();
app.get('/readyz', async (_req, res) => {
  const down: string[] = [];
  for (const svc of Object.values(services)) {
    for (const [name, fn] of Object.entries(svc.checks)) {
      await Promise.race([fn(), new Promise((_, rej) => setTimeout(() => rej(new Error('timeout')), 2000))]).catch(() => down.push(name));
    }
  }
  res.status(down.length ? 503 : 200).json({ down });
});
app.get('/metrics', async (_req, res) => {
  res.type(registry.contentType).send(await registry.metrics());
});
services.ingest.mount(app);
services.promotions.mount(app);
for (const svc of Object.values(services)) await svc.start();
const server = http.createServer(app);
server.listen(Number(env.PORT ?? 0), '127.0.0.1');
logger.info({ port: env.PORT, armed }, 'fault host listening');

// Second consumer-group members, each with its own metrics registry and clients.
const extras: Array<{ stop(): Promise<void> }> = [];
extraMembers.forEach(([startAfterMs, runMs], i) => {
  setTimeout(() => {
    const log = logger.child({ member: `extra-${i}` });
    const reg = new Registry();
    const members = [
      createPromotionsService({
        config: loadPromotionsConfig(env),
        logger: log.child({ service: 'promotions' }),
        registry: reg,
        hooks: { afterWrite: slowSink },
      }),
      createAnalyticsService({
        config: loadAnalyticsConfig(env),
        logger: log.child({ service: 'analytics' }),
        registry: reg,
        warehouse,
        hooks: { afterInsert: slowSink },
      }),
    ];
    extras.push(...members);
    void (async () => {
      for (const m of members) await m.start();
      log.info({ runMs }, 'extra group members joined');
      setTimeout(() => {
        void (async () => {
          for (const m of members) await m.stop();
          log.info('extra group members left');
        })();
      }, runMs);
    })().catch((err: unknown) => log.error({ err }, 'extra group members failed'));
  }, startAfterMs);
});

process.once('SIGTERM', () => {
  void (async () => {
    await new Promise<void>((r) => server.close(() => r()));
    server.closeAllConnections();
    for (const svc of [...extras, services.ingest, services.promotions, services.analytics]) await svc.stop().catch(() => {});
    await warehouse.close();
    process.exit(0);
  })();
});

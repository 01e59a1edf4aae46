/**
 * Event -> queryable latency under a steady 10,000 events/s through real
 * Kafka into the embedded ClickHouse, with the production batching defaults
 * (ANALYTICS_FLUSH_INTERVAL_MS=1000). Latency of a row = time its insert
 * returned (it is queryable from then on) - its received_at (set when the
 * event is produced, as ingest does).
 *
 *   npm run bench -w processors/analytics      # BENCH_RATE=10000 BENCH_SECONDS=30
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fork } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { Kafka, logLevel } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import { createWarehouseClient, migrate } from '@storepulse/warehouse';
import { ensureTopics } from '../../../scripts/src/services/topics.ts';
import { createAnalyticsService, createClickHouseSink, insertConcurrency, loadAnalyticsConfig, type EventSink } from '../src/index.ts';

const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const BROKERS = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const prefix = `bench${Date.now().toString(36)}_`;
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-latency-'));

await ensureTopics({ brokers: BROKERS, prefix, partitions: 3, replicationFactor: 1 });
// As the processor's main.ts does: one connection per insert in flight.
const warehouse = createWarehouseClient({ dataDir: dir, connections: insertConcurrency(loadAnalyticsConfig(process.env)) });
await migrate(warehouse.client, {});
const latencies: number[] = [];
const inner = createClickHouseSink(warehouse);
const sink: EventSink = {
  async insert(rows, opts) {
    await inner.insert(rows, opts);
    const done = Date.now();
    for (const r of rows) latencies.push(done - r.receivedAt);
  },
};
const config = loadAnalyticsConfig({ ...process.env, KAFKA_BROKERS: BROKERS.join(','), TOPIC_PREFIX: prefix, LOG_LEVEL: 'warn' });
const service = createAnalyticsService({
  config,
  logger: pino({ level: process.env.BENCH_LOG_LEVEL ?? 'warn' }),
  registry: new Registry(),
  warehouse,
  sink,
});
await service.start();

const kafka = new Kafka({ clientId: 'bench', brokers: BROKERS, logLevel: logLevel.NOTHING });
// The producer runs in its own process so that producing does not compete
// with the processor for this process's event loop.
const start = Date.now();
console.log(
  `producing ${RATE}/s for ${SECONDS} s to ${prefix}* (3 partitions per topic), flush interval ${config.batch.flushIntervalMs} ms`,
);
const child = fork(fileURLToPath(new URL('./produce.ts', import.meta.url)), [], {
  env: { ...process.env, BENCH_PREFIX: prefix, BENCH_RATE: String(RATE), BENCH_SECONDS: String(SECONDS), KAFKA_BROKERS: BROKERS.join(',') },
  execArgv: ['--import', 'tsx'],
});
const produced: number = await new Promise((resolve, reject) => {
  child.on('message', (m) => resolve(Number((m as { produced: number }).produced)));
  child.on('exit', (code) => (code ? reject(new Error(`producer exited with ${code}`)) : undefined));
});
const produceSecs = (Date.now() - start) / 1000;
const drainStart = Date.now();
while (latencies.length < produced && Date.now() - drainStart < 60_000) await new Promise((r) => setTimeout(r, 100));
const [row] = await (
  await warehouse.client.query({ query: "SELECT count() AS n FROM activity.events WHERE site = 'bench'", format: 'JSONEachRow' })
).json<{ n: string }>();

latencies.sort((a, b) => a - b);
const q = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor(p * latencies.length))] ?? NaN;
const st = service.stats();
console.log(
  `produced ${produced.toLocaleString()} events in ${produceSecs.toFixed(1)} s (${Math.round(produced / produceSecs).toLocaleString()}/s)`,
);
console.log(
  `queryable ${latencies.length.toLocaleString()} (count() = ${Number(row?.n ?? 0).toLocaleString()}), batches ${st.batches}, avg ${Math.round(latencies.length / Math.max(1, st.batches))} rows/batch`,
);
console.log(`event->queryable ms: p50 ${q(0.5)}  p95 ${q(0.95)}  p99 ${q(0.99)}  max ${latencies[latencies.length - 1]}`);

await service.stop();
await warehouse.close();
const admin = kafka.admin();
await admin.connect();
await admin.deleteTopics({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)) }).catch(() => {});
await admin.deleteGroups([`${prefix}analytics`]).catch(() => {});
await admin.disconnect();
fs.rmSync(dir, { recursive: true, force: true });

/**
 * Shared set-up for the analytics integration tests: a random TOPIC_PREFIX
 * with its topics, one fresh embedded ClickHouse per test file (chDB allows
 * one data directory per process), a producer of enriched events and a way
 * to read the dead-letter topic.
 */
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, Partitioners, logLevel, type PartitionAssigner, type Producer } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import {
  ALL_TOPICS,
  DEAD_LETTER_TOPIC,
  TOPIC_BY_TYPE,
  topicName,
  messageKey,
  type DeadLetter,
  type EnrichedEvent,
  type EventType,
} from '@storepulse/contracts';
import { createWarehouseClient, migrate, type WarehouseClient } from '@storepulse/warehouse';
import { ensureTopics, kafkaAnswers } from '../../../../scripts/src/services/topics.ts';
import { createAnalyticsService, loadAnalyticsConfig, type AnalyticsHooks, type AnalyticsService } from '../../src/index.ts';

export const BROKERS = ['localhost:9092'];

export function randomPrefix(): string {
  return `t${Date.now().toString(36)}${randomUUID().slice(0, 6)}_`;
}

export async function requireKafka(): Promise<void> {
  if (!(await kafkaAnswers(BROKERS))) {
    throw new Error('Kafka does not answer at localhost:9092: start the local services with `npm run services:up`');
  }
}

let warehouse: WarehouseClient | null = null;
let warehouseDir: string | null = null;
/** The one embedded warehouse of this test process, freshly migrated. */
export async function testWarehouse(): Promise<WarehouseClient> {
  if (!warehouse) {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-analytics-'));
    warehouseDir = dir;
    // Two connections, as the processor has by default (ANALYTICS_INSERT_CONCURRENCY): inserts overlap.
    warehouse = createWarehouseClient({ dataDir: dir, connections: 2 });
    await migrate(warehouse.client, {});
  }
  return warehouse;
}

export async function closeWarehouse(): Promise<void> {
  await warehouse?.close();
  warehouse = null;
  if (warehouseDir) fs.rmSync(warehouseDir, { recursive: true, force: true });
  warehouseDir = null;
}

export async function createTopics(prefix: string): Promise<void> {
  await ensureTopics({ brokers: BROKERS, prefix, partitions: 3, replicationFactor: 1 });
}

export async function deleteTopics(prefix: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'sp-test-cleanup', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)) }).catch(() => {});
    await admin.deleteGroups([`${prefix}analytics`]).catch(() => {});
  } finally {
    await admin.disconnect();
  }
}

export const quietLogger = () => pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });

export function startService(opts: {
  prefix: string;
  warehouse: WarehouseClient;
  env?: Record<string, string>;
  hooks?: AnalyticsHooks;
  partitionAssigners?: PartitionAssigner[];
}): {
  service: AnalyticsService;
  registry: Registry;
} {
  const config = loadAnalyticsConfig({
    KAFKA_BROKERS: BROKERS.join(','),
    TOPIC_PREFIX: opts.prefix,
    ANALYTICS_FLUSH_INTERVAL_MS: '100',
    ANALYTICS_RETRY_MIN_MS: '50',
    ANALYTICS_RETRY_MAX_MS: '400',
    SHUTDOWN_TIMEOUT_MS: '5000',
    ...opts.env,
  });
  const registry = new Registry();
  const service = createAnalyticsService({
    config,
    logger: quietLogger(),
    registry,
    warehouse: opts.warehouse,
    hooks: opts.hooks,
    ...(opts.partitionAssigners ? { partitionAssigners: opts.partitionAssigners } : {}),
  });
  return { service, registry };
}

let seq = 0;
export function makeEvent(site: string, type: EventType, over: Partial<EnrichedEvent> = {}): EnrichedEvent {
  const now = Date.now();
  seq++;
  const base: EnrichedEvent = {
    event_id: randomUUID(),
    type,
    timestamp: now,
    date: now,
    received_at: now,
    sent_at: now,
    anonymous_id: `a-${seq % 97}`,
    user_id: null,
    user_verified: false,
    session_id: `s-${seq % 31}`,
    site,
    page_url: `https://shop.example/p/${seq % 13}`,
    page_path: `/p/${seq % 13}`,
    context: { is_bot: false },
  };
  if (type === 'search') base.search_keyword = `kw ${seq % 7}`;
  if (type === 'scroll') base.depth_pct = (seq * 25) % 125;
  if (type === 'click') base.element = { tag: 'a', product_id: `sku-${seq % 5}`, text: 'Buy' };
  return { ...base, ...over };
}

export async function connectProducer(): Promise<Producer> {
  const kafka = new Kafka({ clientId: 'sp-test-producer', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
  await producer.connect();
  return producer;
}

/** Produces events the way ingest does: topic by type, key = user or anonymous id. */
export async function produceEvents(producer: Producer, prefix: string, events: EnrichedEvent[]): Promise<void> {
  const byTopic = new Map<string, { key: string; value: string }[]>();
  for (const e of events) {
    const t = topicName(prefix, TOPIC_BY_TYPE[e.type]);
    const list = byTopic.get(t) ?? [];
    list.push({ key: messageKey(e), value: JSON.stringify(e) });
    byTopic.set(t, list);
  }
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
}

export async function produceRaw(producer: Producer, topic: string, values: (string | null)[]): Promise<void> {
  await producer.send({ topic, acks: -1, messages: values.map((value) => ({ key: 'k', value })) });
}

export async function countEvents(w: WarehouseClient, site: string): Promise<{ rows: number; distinct: number }> {
  const rs = await w.client.query({
    query: 'SELECT count() AS rows, uniqExact(event_id) AS distinct FROM activity.events WHERE site = {site:String}',
    query_params: { site },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ rows: string | number; distinct: string | number }>();
  return { rows: Number(r?.rows ?? 0), distinct: Number(r?.distinct ?? 0) };
}

export async function waitFor<T>(
  what: string,
  fn: () => Promise<T>,
  ok: (v: T) => boolean,
  timeoutMs: number,
  everyMs = 25,
): Promise<{ value: T; ms: number }> {
  const t0 = Date.now();
  let last: T = await fn();
  while (!ok(last)) {
    if (Date.now() - t0 > timeoutMs)
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last value ${JSON.stringify(last)}`);
    await new Promise((r) => setTimeout(r, everyMs));
    last = await fn();
  }
  return { value: last, ms: Date.now() - t0 };
}

/** Reads every dead letter on the prefix's invalid_events topic. */
export async function readDeadLetters(prefix: string, expectAtLeast: number, timeoutMs = 10_000): Promise<DeadLetter[]> {
  const kafka = new Kafka({ clientId: 'sp-test-dlq', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${prefix}dlq-reader-${randomUUID().slice(0, 6)}`, maxWaitTimeInMs: 100 });
  const out: DeadLetter[] = [];
  await consumer.connect();
  await consumer.subscribe({ topic: topicName(prefix, DEAD_LETTER_TOPIC), fromBeginning: true });
  await consumer.run({ eachMessage: async ({ message }) => void out.push(JSON.parse(message.value!.toString('utf8')) as DeadLetter) });
  try {
    await waitFor(
      'dead letters',
      async () => out.length,
      (n) => n >= expectAtLeast,
      timeoutMs,
      50,
    );
  } finally {
    await consumer.disconnect();
  }
  return out;
}

/** Events counted by the rollups (materialized view): unlike the raw table, merges never collapse duplicates here. */
export async function rollupTotal(w: WarehouseClient, site: string): Promise<number> {
  const rs = await w.client.query({
    query: "SELECT sum(events) AS n FROM activity.rollups WHERE site = {site:String} AND metric = 'traffic'",
    query_params: { site },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ n: string | number }>();
  return Number(r?.n ?? 0);
}

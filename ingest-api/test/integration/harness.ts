import { randomBytes } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import express from 'express';
import { Kafka, logLevel, type Consumer, type ISocketFactory } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import { ensureTopics, kafkaAnswers } from '../../../scripts/src/services/topics.ts';
import { createIngestService, loadIngestConfig, type IngestService } from '../../src/index.ts';

export const BROKERS = ['localhost:9092'];

export function newPrefix(): string {
  return `t${Date.now().toString(36)}${randomBytes(3).toString('hex')}_`;
}

export async function requireKafka(): Promise<void> {
  if (!(await kafkaAnswers(BROKERS, 5000))) {
    throw new Error('Kafka does not answer at localhost:9092; start it with `npm run services:up`');
  }
}

export async function createTopics(prefix: string): Promise<void> {
  await requireKafka();
  await ensureTopics({ brokers: BROKERS, prefix, partitions: 3, replicationFactor: 1 });
}

export async function deleteTopics(prefix: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'ingest-test-cleanup', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  try {
    await admin.deleteTopics({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)), timeout: 10_000 });
  } catch {
    // best effort: a leftover test topic is harmless
  } finally {
    await admin.disconnect();
  }
}

export interface RunningIngest {
  url: string;
  service: IngestService;
  registry: Registry;
  server: Server;
  close(): Promise<void>;
}

export async function startIngest(
  prefix: string,
  env: Record<string, string> = {},
  socketFactory?: ISocketFactory,
): Promise<RunningIngest> {
  const config = loadIngestConfig({
    TOPIC_PREFIX: prefix,
    KAFKA_BROKERS: BROKERS.join(','),
    WRITE_KEYS: 'wk_demo=demo:*;wk_shop=shop:https://shop.example',
    IDENTITY_SECRET: 'test-identity-secret',
    SDK_BUNDLE_PATH: '/nonexistent/sdk.iife.js',
    // makeEvent() spreads events over 7 anonymous ids; the per-visitor limit has its own test.
    RATE_LIMIT_VISITOR_EVENTS_PER_S: '0',
    ...env,
  });
  const registry = new Registry();
  const logger = pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const service = createIngestService({ config, logger, registry, ...(socketFactory ? { socketFactory } : {}) });
  const app = express();
  service.mount(app);
  await service.start();
  const server = await new Promise<Server>((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    service,
    registry,
    server,
    async close() {
      await service.stop();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}

export interface Received {
  topic: string;
  partition: number;
  key: string | null;
  value: Record<string, unknown>;
}

/** Reads every topic of the prefix from the beginning into memory. */
export async function startCollector(
  prefix: string,
): Promise<{ messages: Received[]; waitFor(pred: (m: Received[]) => boolean, ms?: number): Promise<void>; stop(): Promise<void> }> {
  const kafka = new Kafka({ clientId: 'ingest-test-reader', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const consumer: Consumer = kafka.consumer({ groupId: `${prefix}test-reader`, maxWaitTimeInMs: 100 });
  const messages: Received[] = [];
  await consumer.connect();
  await consumer.subscribe({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)), fromBeginning: true });
  const joined = new Promise<void>((resolve) => consumer.on(consumer.events.GROUP_JOIN, () => resolve()));
  await consumer.run({
    eachMessage: async ({ topic, partition, message }) => {
      messages.push({
        topic,
        partition,
        key: message.key?.toString() ?? null,
        value: JSON.parse(message.value?.toString() ?? 'null') as Record<string, unknown>,
      });
    },
  });
  await joined;
  return {
    messages,
    async waitFor(pred, ms = 15_000) {
      const until = Date.now() + ms;
      while (!pred(messages)) {
        if (Date.now() > until) throw new Error(`timed out waiting for Kafka messages (have ${messages.length})`);
        await new Promise((r) => setTimeout(r, 50));
      }
    },
    async stop() {
      await consumer.disconnect();
    },
  };
}

let seq = 0;
export function makeEvent(type: string, extra: Record<string, unknown> = {}): Record<string, unknown> {
  seq++;
  const base: Record<string, unknown> = {
    event_id: `ev-${Date.now().toString(36)}-${seq}-${randomBytes(4).toString('hex')}`,
    type,
    timestamp: Date.now() - 50,
    anonymous_id: `anon-${seq % 7}`,
    session_id: 's-1',
    page_url: 'https://shop.example/deals/?utm=x',
  };
  const byType: Record<string, Record<string, unknown>> = {
    search: { search_keyword: 'humidifier', results_count: 12 },
    click: { element: { tag: 'a', text: 'Buy', href: '/p/1', product_id: 'p1' } },
    scroll: { depth_pct: 75 },
    page_view: { page_title: 'Deals' },
    form_submit: { form: { id: 'newsletter', fields: ['email'] } },
    identify: { user_id: 'abcde@gmail.com', traits: { plan: 'gold' } },
    promotion_view: { promotion_ids: ['promo-1', 'promo-2'], personalized: true },
    add_to_cart: { product_id: 'p1', value: 19.9, currency: 'EUR' },
    purchase: { value: 42, currency: 'EUR' },
  };
  return { ...base, ...(byType[type] ?? {}), ...extra };
}

export async function post(
  url: string,
  body: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; headers: Headers; json: Record<string, unknown> }> {
  const res = await fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' || body instanceof Uint8Array ? (body as string) : JSON.stringify(body),
  });
  const text = await res.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    json = { raw: text };
  }
  return { status: res.status, headers: res.headers, json };
}

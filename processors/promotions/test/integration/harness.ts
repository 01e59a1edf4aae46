/**
 * Shared set-up for the promotions integration tests: a random TOPIC_PREFIX
 * with its own topics and Redis keys, a producer of enriched events, and a
 * running service with its HTTP API on an ephemeral port.
 */
import { randomUUID } from 'node:crypto';
import type { AddressInfo } from 'node:net';
import type { Server } from 'node:http';
import { ALL_TOPICS, type EnrichedEvent, TOPIC_BY_TYPE, messageKey, topicName } from '@storepulse/contracts';
import express from 'express';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type Producer } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ensureTopics } from '../../../../scripts/src/services/topics.ts';
import { createPromotionsService, loadPromotionsConfig, type PromotionsService } from '../../src/index.ts';
import type { PromotionsDeps } from '../../src/index.ts';

export const BROKERS = ['localhost:9092'];
export const REDIS_URL = 'redis://localhost:6379';
const HOW = 'start them with `npm run services:up`';

export function randomPrefix(): string {
  return `t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 7)}_`;
}

export async function connectRedis(): Promise<Redis> {
  const redis = new Redis(REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 1, retryStrategy: () => null });
  try {
    await redis.connect();
    await redis.ping();
  } catch (err) {
    throw new Error(`Redis is not reachable at ${REDIS_URL} (${(err as Error).message}); ${HOW}`);
  }
  return redis;
}

export async function setupTopics(prefix: string): Promise<void> {
  try {
    await ensureTopics({ brokers: BROKERS, prefix, partitions: 3, replicationFactor: 1 });
  } catch (err) {
    throw new Error(`Kafka is not reachable at ${BROKERS.join(',')} (${(err as Error).message}); ${HOW}`);
  }
}

export async function cleanup(prefix: string, redis: Redis | undefined): Promise<void> {
  const kafka = new Kafka({ clientId: 'promotions-test-cleanup', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const mine = ALL_TOPICS.map((t) => topicName(prefix, t)).filter((t) => existing.has(t));
    if (mine.length > 0) await admin.deleteTopics({ topics: mine, timeout: 10_000 });
    const groups = await admin.listGroups();
    const own = groups.groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (own.length > 0) await admin.deleteGroups(own).catch(() => {});
  } catch {
    // best effort
  } finally {
    await admin.disconnect().catch(() => {});
  }
  if (redis) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) await redis.unlink(...keys);
    } while (cursor !== '0');
  }
}

let seq = 0;
export function event(partial: Partial<EnrichedEvent> & Pick<EnrichedEvent, 'type' | 'anonymous_id'>): EnrichedEvent {
  const now = partial.date ?? Date.now();
  return {
    event_id: randomUUID(),
    timestamp: now,
    date: now,
    received_at: now,
    sent_at: now,
    user_id: null,
    user_verified: false,
    site: 'demo',
    session_id: `s-${++seq}`,
    context: { is_bot: false },
    ...partial,
  } as EnrichedEvent;
}

export class EventProducer {
  readonly #producer: Producer;
  readonly #prefix: string;
  constructor(prefix: string) {
    this.#prefix = prefix;
    const kafka = new Kafka({ clientId: 'promotions-test-producer', brokers: BROKERS, logLevel: logLevel.NOTHING });
    this.#producer = kafka.producer({ allowAutoTopicCreation: false });
  }
  async connect(): Promise<void> {
    await this.#producer.connect();
  }
  async send(...events: EnrichedEvent[]): Promise<void> {
    const byTopic = new Map<string, EnrichedEvent[]>();
    for (const e of events) {
      const t = topicName(this.#prefix, TOPIC_BY_TYPE[e.type]);
      byTopic.set(t, [...(byTopic.get(t) ?? []), e]);
    }
    await this.#producer.sendBatch({
      acks: -1,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((e) => ({ key: messageKey(e), value: JSON.stringify(e) })),
      })),
    });
  }
  async sendRaw(topic: string, key: string, value: string): Promise<void> {
    await this.#producer.send({ topic: topicName(this.#prefix, topic), acks: -1, messages: [{ key, value }] });
  }
  async disconnect(): Promise<void> {
    await this.#producer.disconnect();
  }
}

export interface Running {
  service: PromotionsService;
  url: string;
  registry: Registry;
  close(): Promise<void>;
}

export async function startService(
  prefix: string,
  env: Record<string, string> = {},
  extra: Partial<Omit<PromotionsDeps, 'config' | 'registry'>> = {},
): Promise<Running> {
  const config = loadPromotionsConfig({
    TOPIC_PREFIX: prefix,
    KAFKA_BROKERS: BROKERS.join(','),
    REDIS_URL,
    PROMOTIONS_CATALOG_POLL_MS: '100',
    PROMOTIONS_GENERATION_POLL_MS: '200',
    SHUTDOWN_TIMEOUT_MS: '8000',
    ...env,
  });
  const logger = extra.logger ?? pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' });
  const registry = new Registry();
  const service = createPromotionsService({ config, logger, registry, onFatal: () => {}, ...extra });
  const app = express();
  app.get('/metrics', async (_req, res) => {
    res.type(registry.contentType).send(await registry.metrics());
  });
  service.mount(app);
  await service.start();
  const server: Server = await new Promise((resolve) => {
    const s = app.listen(0, '127.0.0.1', () => resolve(s));
  });
  const port = (server.address() as AddressInfo).port;
  return {
    service,
    url: `http://127.0.0.1:${port}`,
    registry,
    async close() {
      await new Promise<void>((resolve) => server.close(() => resolve()));
      await service.stop();
    },
  };
}

/** Waits until the consumer joined its group (its readiness check passes). */
export async function waitReady(service: PromotionsService, timeoutMs = 30_000): Promise<void> {
  const until = Date.now() + timeoutMs;
  let last: unknown;
  while (Date.now() < until) {
    try {
      await service.checks.kafka?.();
      return;
    } catch (err) {
      last = err;
      await new Promise((r) => setTimeout(r, 100));
    }
  }
  throw new Error(`consumer not ready after ${timeoutMs} ms: ${(last as Error)?.message}`);
}

export async function poll<T>(fn: () => Promise<T>, ok: (v: T) => boolean, timeoutMs: number, intervalMs = 20): Promise<T> {
  const until = Date.now() + timeoutMs;
  let v = await fn();
  while (!ok(v)) {
    if (Date.now() > until) return v;
    await new Promise((r) => setTimeout(r, intervalMs));
    v = await fn();
  }
  return v;
}

export async function getJson<T = any>(url: string, headers: Record<string, string> = {}): Promise<{ status: number; body: T }> {
  const res = await fetch(url, { headers });
  return { status: res.status, body: (await res.json()) as T };
}

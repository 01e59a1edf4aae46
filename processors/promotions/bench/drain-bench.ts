/**
 * Consumer throughput: pre-produces N search events (20k visitors) to a fresh
 * prefix, then starts the service in this process and times the drain
 * (total, and from the first confirmed chunk: "steady").
 *
 *   node --import tsx bench/drain-bench.ts [N=30000]
 */
import { randomUUID } from 'node:crypto';
import { messageKey, TOPIC_BY_TYPE, topicName } from '@storepulse/contracts';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ensureTopics } from '../../../scripts/src/services/topics.ts';
import { createPromotionsService, loadPromotionsConfig } from '../src/index.ts';
import { BROKERS, dropPrefix, REDIS_URL } from './common.ts';
const prefix = `drain${Date.now().toString(36)}_`;
const N = Number(process.argv[2] ?? 30000);
const redis = new Redis(REDIS_URL);
await ensureTopics({ brokers: BROKERS, prefix, partitions: 6, replicationFactor: 1 });
const kafka = new Kafka({ clientId: 'drain', brokers: BROKERS, logLevel: logLevel.NOTHING });
const producer = kafka.producer();
await producer.connect();
const KW = ['humidifier', 'cool mist humidifier', 'air purifier', 'espresso machine', 'robot vacuum', 'humidifer'];
for (let i = 0; i < N; i += 1000) {
  const msgs = Array.from({ length: 1000 }, (_, j) => {
    const k = i + j;
    const now = Date.now();
    const e = {
      event_id: randomUUID(),
      type: 'search',
      date: now,
      received_at: now,
      sent_at: now,
      timestamp: now,
      anonymous_id: `d-${(k * 7919) % 20000}`,
      user_id: null,
      user_verified: false,
      site: 'b',
      context: { is_bot: false },
      search_keyword: KW[k % KW.length],
    };
    return { key: messageKey(e as never), value: JSON.stringify(e) };
  });
  await producer.send({ topic: topicName(prefix, TOPIC_BY_TYPE.search), messages: msgs });
}
await producer.disconnect();
const registry = new Registry();
const chunks: number[] = [];
let first = 0;
const svc = createPromotionsService({
  config: loadPromotionsConfig({ ...process.env, TOPIC_PREFIX: prefix, KAFKA_BROKERS: BROKERS.join(','), REDIS_URL }),
  logger: pino({ level: 'warn' }),
  registry,
  hooks: {
    afterWrite: (c) => {
      if (!first) first = performance.now();
      chunks.push(c.events);
    },
  },
});
const t0 = performance.now();
await svc.start();
let seen = 0;
while (seen < N) {
  await new Promise((r) => setTimeout(r, 200));
  seen = chunks.reduce((a, b) => a + b, 0);
}
const ms = performance.now() - t0;
const steady = performance.now() - first;
console.log(
  `drained ${N} in ${ms.toFixed(0)} ms = ${Math.round(N / (ms / 1000))}/s; steady ${Math.round(N / (steady / 1000))}/s; chunks=${chunks.length} avg=${(N / chunks.length).toFixed(0)}`,
);
await svc.stop();
await dropPrefix(prefix, redis);
redis.disconnect();
process.exit(0);

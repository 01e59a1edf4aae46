/**
 * Freshness benchmark: produces enriched events at a fixed rate (default
 * 10,000/s) straight to the activity topics, while the promotions service
 * (src/main.ts, its own process) consumes them; then reads the service's
 * promotions_freshness_seconds histogram (event date -> confirmed
 * user_promotions write) from /metrics, and where that time went
 * (promotions_freshness_stage_seconds).
 *
 *   npm run bench:freshness -w processors/promotions -- [rate=10000] [seconds=20]
 */
import { randomUUID } from 'node:crypto';
import { type EnrichedEvent, messageKey, TOPIC_BY_TYPE, topicName } from '@storepulse/contracts';
import { Redis } from 'ioredis';
import { CompressionTypes, Kafka, logLevel } from 'kafkajs';
import { type Histogram, histogramQuantile, histogramShareAtOrBelow, parseHistogram } from '../../../scripts/src/prom-histogram.ts';
import { ensureTopics } from '../../../scripts/src/services/topics.ts';
import { BROKERS, dropPrefix, REDIS_URL, startChild, stopChild } from './common.ts';

const rate = Number(process.argv[2] ?? 10_000);
const seconds = Math.min(60, Number(process.argv[3] ?? 20));
const prefix = `bench${Date.now().toString(36)}_`;
const port = 3990 + Math.floor(Math.random() * 9);
const VISITORS = 20_000;
const KEYWORDS = [
  'humidifier',
  'cool mist humidifier',
  'air purifier',
  'espresso machine',
  'robot vacuum',
  'space heater',
  'tower fan',
  'headphones',
  'smart bulbs',
  'bed sheets',
  'air fryer',
  'humidifer',
];
const PAGES = ['/category/humidifiers', '/category/fans', '/products/p-cof-001', '/deals/air-purifiers', '/category/audio', '/'];
const PRODUCTS = ['p-hum-001', 'p-pur-002', 'p-fan-003', 'p-vac-001', 'p-aud-004', 'p-kit-002'];

const redis = new Redis(REDIS_URL);
await ensureTopics({ brokers: BROKERS, prefix, partitions: 6, replicationFactor: 1 });
const child = await startChild(
  'src/main.ts',
  { TOPIC_PREFIX: prefix, PROMOTIONS_PORT: String(port), KAFKA_BROKERS: BROKERS.join(','), REDIS_URL, LOG_LEVEL: 'info' },
  'promotions consumer joined its group',
);
const kafka = new Kafka({ clientId: 'promotions-bench-producer', brokers: BROKERS, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false });
await producer.connect();

let n = 0;
function makeEvent(now: number): EnrichedEvent {
  const i = n++;
  const r = i % 10;
  const type = r < 4 ? 'search' : r < 7 ? 'page_view' : r < 9 ? 'click' : 'scroll';
  const anon = `bench-${(i * 7919) % VISITORS}`;
  return {
    event_id: randomUUID(),
    type,
    timestamp: now,
    date: now,
    received_at: now,
    sent_at: now,
    anonymous_id: anon,
    user_id: null,
    user_verified: false,
    site: 'bench',
    session_id: `s-${anon}`,
    context: { is_bot: false },
    ...(type === 'search' ? { search_keyword: KEYWORDS[i % KEYWORDS.length] } : {}),
    ...(type === 'page_view' || type === 'scroll' ? { page_path: PAGES[i % PAGES.length] } : {}),
    ...(type === 'click' ? { element: { product_id: PRODUCTS[i % PRODUCTS.length] } } : {}),
  } as EnrichedEvent;
}

process.stderr.write(`producing ${rate}/s for ${seconds} s...\n`);
const total = rate * seconds;
const start = Date.now();
let sent = 0;
const inflight = new Set<Promise<unknown>>();
while (sent < total) {
  const due = Math.min(total, Math.floor(((Date.now() - start) / 1000) * rate));
  if (due > sent) {
    const now = Date.now();
    const batch: EnrichedEvent[] = [];
    for (; sent < due; sent++) batch.push(makeEvent(now));
    const byTopic = new Map<string, EnrichedEvent[]>();
    for (const e of batch) {
      const t = topicName(prefix, TOPIC_BY_TYPE[e.type]);
      byTopic.set(t, [...(byTopic.get(t) ?? []), e]);
    }
    const p = producer.sendBatch({
      acks: -1,
      compression: CompressionTypes.None,
      topicMessages: [...byTopic].map(([topic, list]) => ({
        topic,
        messages: list.map((e) => ({ key: messageKey(e), value: JSON.stringify(e) })),
      })),
    });
    inflight.add(p);
    void p.finally(() => inflight.delete(p));
    if (inflight.size >= 8) await Promise.race(inflight);
  }
  await new Promise((r) => setTimeout(r, 5));
}
await Promise.all(inflight);
const produceSeconds = (Date.now() - start) / 1000;

const metricsText = async () => (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
// Wait for the consumer to drain (the count stops growing).
let last = -1;
let text = await metricsText();
let h = parseHistogram(text, 'promotions_freshness_seconds');
for (let i = 0; i < 120 && h.count !== last; i++) {
  last = h.count;
  await new Promise((r) => setTimeout(r, 1000));
  text = await metricsText();
  h = parseHistogram(text, 'promotions_freshness_seconds');
}
const q = (hist: Histogram, p: number) => {
  const s = histogramQuantile(hist, p);
  return s === Infinity ? `>${hist.buckets.at(-2)?.[0]}s` : `${Math.round(s * 1000)}ms`;
};
process.stdout.write(
  `rate=${rate}/s produced=${total} in ${produceSeconds.toFixed(1)}s (achieved ${Math.round(total / produceSeconds)}/s) freshness observations=${h.count} p50≈${q(h, 0.5)} p90≈${q(h, 0.9)} p99≈${q(h, 0.99)} share<=250ms=${(100 * histogramShareAtOrBelow(h, 0.25)).toFixed(2)}%\n`,
);
for (const stage of ['to_kafka', 'to_consumer', 'in_batch', 'apply']) {
  const s = parseHistogram(text, 'promotions_freshness_stage_seconds', { stage });
  process.stdout.write(`  stage ${stage.padEnd(11)} n=${s.count} p50≈${q(s, 0.5)} p90≈${q(s, 0.9)} p99≈${q(s, 0.99)}\n`);
}
await producer.disconnect();
await stopChild(child);
await dropPrefix(prefix, redis);
redis.disconnect();
process.exit(0);

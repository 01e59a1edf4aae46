/** Child process of latency.ts: produces BENCH_RATE enriched events per second for BENCH_SECONDS. */
import { randomUUID } from 'node:crypto';
import { Kafka, Partitioners, logLevel } from 'kafkajs';
import { TOPIC_BY_TYPE, topicName, type EventType } from '@storepulse/contracts';

const RATE = Number(process.env.BENCH_RATE ?? 10_000);
const SECONDS = Number(process.env.BENCH_SECONDS ?? 30);
const BROKERS = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const prefix = process.env.BENCH_PREFIX ?? '';
const kafka = new Kafka({ clientId: 'bench', brokers: BROKERS, logLevel: logLevel.NOTHING });
const producer = kafka.producer({ allowAutoTopicCreation: false, createPartitioner: Partitioners.DefaultPartitioner });
await producer.connect();
const types: EventType[] = ['page_view', 'page_view', 'search', 'click', 'scroll', 'promotion_view'];
let produced = 0;
const tickMs = 100;
const perTick = Math.round((RATE * tickMs) / 1000);
const start = Date.now();
while (Date.now() - start < SECONDS * 1000) {
  const tickStart = Date.now();
  const byTopic = new Map<string, { key: string; value: string }[]>();
  for (let i = 0; i < perTick; i++) {
    const type = types[(produced + i) % types.length]!;
    const now = Date.now();
    const anon = `v${(produced + i) % 20_000}`;
    const e = {
      event_id: randomUUID(),
      type,
      timestamp: now,
      date: now,
      received_at: now,
      sent_at: now,
      anonymous_id: anon,
      user_id: null,
      user_verified: false,
      session_id: `s${Math.floor((produced + i) / 30)}`,
      site: 'bench',
      page_url: `/p/${i % 300}`,
      page_path: `/p/${i % 300}`,
      context: { is_bot: false },
      ...(type === 'search' ? { search_keyword: `kw ${i % 200}` } : {}),
      ...(type === 'scroll' ? { depth_pct: (i * 7) % 101 } : {}),
      ...(type === 'click' ? { element: { tag: 'a', product_id: `sku-${i % 500}` } } : {}),
      ...(type === 'promotion_view' ? { promotion_ids: [`promo-${i % 20}`], personalized: i % 2 === 0 } : {}),
    };
    const topic = topicName(prefix, TOPIC_BY_TYPE[type]);
    const list = byTopic.get(topic) ?? [];
    list.push({ key: anon, value: JSON.stringify(e) });
    byTopic.set(topic, list);
  }
  await producer.sendBatch({ acks: -1, topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })) });
  produced += perTick;
  const wait = tickMs - (Date.now() - tickStart);
  if (wait > 0) await new Promise((r) => setTimeout(r, wait));
}
await producer.disconnect();
process.send?.({ produced, seconds: (Date.now() - start) / 1000 });

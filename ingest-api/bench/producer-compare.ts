/**
 * Producer comparison (not a test): kafkajs as the ingest API uses it, kafkajs
 * with KAFKA_FAST_ENCODER's growth path, and @platformatic/kafka (a
 * devDependency, measured only here), in one process, in alternating rounds.
 *
 *   node --import tsx ingest-api/bench/producer-compare.ts
 *   ROUNDS=3 ROUND_S=5 MESSAGES_PER_CALL=150 node --import tsx ingest-api/bench/producer-compare.ts
 *
 * Each client sends calls of MESSAGES_PER_CALL enriched-event-sized values
 * (~520 B, keyed by visitor) spread over 5 topics x 6 partitions, acks=all,
 * not idempotent, no compression, one call in flight (what the group-commit
 * pipeline does), for ROUND_S seconds per round. Reported: messages/s and
 * messages per CPU-second of this process (user + system; the broker's CPU
 * is not in it). Needs the local Kafka.
 */
import { ProduceAcks, Producer, compatibilityPartitioner } from '@platformatic/kafka';
import { Kafka, Partitioners, logLevel, type Producer as KafkajsProducer } from 'kafkajs';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import { ensureTopics, kafkaAnswers } from '../../scripts/src/services/topics.ts';
import { noDelaySocketFactory } from '../src/kafka.ts';
import { installFastKafkajsEncoder, uninstallFastKafkajsEncoder } from '../src/kafkajs-encoder.ts';

const BROKERS = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const ROUNDS = Number(process.env.ROUNDS ?? 3);
const ROUND_S = Number(process.env.ROUND_S ?? 5);
const PER_CALL = Number(process.env.MESSAGES_PER_CALL ?? 150);
const prefix = `pcmp${Date.now().toString(36)}_`;
const topics = ['page_views', 'searches', 'clicks', 'scrolls', 'promotion_views'].map((t) => topicName(prefix, t));

const now = Date.now();
const value = Buffer.from(
  JSON.stringify({
    event_id: '01936b9e-5f2a-7cc1-9d3e-2f4b1a6c8e10',
    type: 'page_view',
    timestamp: now,
    anonymous_id: 'a-1234',
    session_id: 's-17',
    page_url: 'https://shop.example/c/kitchen/p/3?utm_source=mail',
    page_title: 'Cool mist humidifier - Shop',
    referrer: 'https://shop.example/',
    user_id: null,
    user_verified: false,
    date: now,
    received_at: now,
    sent_at: now,
    site: 'demo',
    context: { is_bot: false, user_agent: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0' },
    page_path: '/c/kitchen/p/3',
  }),
);

interface Client {
  name: string;
  setup?: () => void;
  send: (calls: number) => Promise<void>;
  close: () => Promise<void>;
}

function messagesFor(call: number): Array<{ topic: string; key: string }> {
  return Array.from({ length: PER_CALL }, (_, i) => ({ topic: topics[i % topics.length]!, key: `a-${(call * PER_CALL + i * 31) % 5000}` }));
}

async function kafkajsClient(name: string, fast: boolean): Promise<Client> {
  const kafka = new Kafka({ clientId: 'bench-cmp', brokers: BROKERS, logLevel: logLevel.NOTHING, socketFactory: noDelaySocketFactory });
  const producer: KafkajsProducer = kafka.producer({
    idempotent: false,
    createPartitioner: Partitioners.DefaultPartitioner,
    allowAutoTopicCreation: false,
  });
  await producer.connect();
  return {
    name,
    setup: () => (fast ? installFastKafkajsEncoder() : uninstallFastKafkajsEncoder()),
    send: async (call) => {
      const byTopic = new Map<string, Array<{ key: string; value: Buffer }>>();
      for (const m of messagesFor(call)) {
        let list = byTopic.get(m.topic);
        if (!list) byTopic.set(m.topic, (list = []));
        list.push({ key: m.key, value });
      }
      await producer.sendBatch({ topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })), acks: -1 });
    },
    close: () => producer.disconnect(),
  };
}

async function platformaticClient(): Promise<Client> {
  const producer = new Producer({
    clientId: 'bench-cmp-pf',
    bootstrapBrokers: BROKERS,
    idempotent: false,
    acks: ProduceAcks.ALL,
    autocreateTopics: false,
    // Same partitions as kafkajs' DefaultPartitioner (the Java client's murmur2).
    partitioner: compatibilityPartitioner,
  });
  return {
    name: '@platformatic/kafka',
    send: async (call) => {
      await producer.send({ messages: messagesFor(call).map((m) => ({ topic: m.topic, key: Buffer.from(m.key), value })) });
    },
    close: () => producer.close(),
  };
}

async function round(c: Client): Promise<{ msgsPerS: number; msgsPerCpuS: number }> {
  c.setup?.();
  await c.send(0); // warm: metadata, connections
  let calls = 0;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const until = t0 + ROUND_S * 1000;
  while (performance.now() < until) await c.send(++calls);
  const s = (performance.now() - t0) / 1000;
  const cpu = process.cpuUsage(cpu0);
  const msgs = calls * PER_CALL;
  return { msgsPerS: Math.round(msgs / s), msgsPerCpuS: Math.round(msgs / ((cpu.user + cpu.system) / 1e6)) };
}

async function main(): Promise<void> {
  if (!(await kafkaAnswers(BROKERS))) throw new Error('Kafka does not answer; start it with `npm run services:up`');
  await ensureTopics({ brokers: BROKERS, prefix, partitions: 6, replicationFactor: 1 });
  const clients = [
    await kafkajsClient('kafkajs 2.2.4', false),
    await kafkajsClient('kafkajs 2.2.4 + fast encoder growth', true),
    await platformaticClient(),
  ];
  const results = new Map<string, Array<{ msgsPerS: number; msgsPerCpuS: number }>>();
  const load0 = Number((await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ')[0]);
  try {
    for (let r = 0; r < ROUNDS; r++) {
      for (const c of clients) {
        const res = await round(c);
        results.set(c.name, [...(results.get(c.name) ?? []), res]);
      }
    }
  } finally {
    for (const c of clients) await c.close().catch(() => {});
    const kafka = new Kafka({ clientId: 'bench-cleanup', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)) }).catch(() => {});
    await admin.disconnect();
  }
  const median = (xs: number[]) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)]!;
  console.log(
    `messages per call: ${PER_CALL}, rounds: ${ROUNDS} x ${ROUND_S} s, load avg (1 min) at start: ${load0}, node ${process.version}`,
  );
  console.log('| client | msgs/s (median; all rounds) | msgs per CPU-s of the producing process (median; all rounds) |');
  console.log('|---|---|---|');
  for (const [name, rs] of results) {
    console.log(
      `| ${name} | ${median(rs.map((x) => x.msgsPerS))} (${rs.map((x) => x.msgsPerS).join(', ')}) | ${median(rs.map((x) => x.msgsPerCpuS))} (${rs.map((x) => x.msgsPerCpuS).join(', ')}) |`,
    );
  }
}

await main();

import { randomUUID } from 'node:crypto';
import { Kafka, logLevel } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import { ensureTopics, kafkaAnswers } from '../../src/services/topics.ts';

const BROKERS = ['localhost:9092'];
const prefix = `t${Date.now().toString(36)}${randomUUID().slice(0, 6)}_`;
const kafka = new Kafka({ clientId: 'foundation-test', brokers: BROKERS, logLevel: logLevel.NOTHING });

describe('the real Kafka broker', () => {
  beforeAll(async () => {
    if (!(await kafkaAnswers(BROKERS))) throw new Error('Kafka does not answer at localhost:9092: start it with `npm run services:up`');
    await ensureTopics({ brokers: BROKERS, prefix, partitions: 3, replicationFactor: 1 });
  });

  afterAll(async () => {
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)) }).catch(() => {});
    await admin.disconnect();
  });

  it('creates every project topic with the configured partition count, and does it idempotently', async () => {
    expect(await ensureTopics({ brokers: BROKERS, prefix, partitions: 3, replicationFactor: 1 })).toEqual([]);
    const admin = kafka.admin();
    await admin.connect();
    const meta = await admin.fetchTopicMetadata({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)) });
    await admin.disconnect();
    expect(meta.topics.map((t) => t.name).sort()).toEqual(ALL_TOPICS.map((t) => topicName(prefix, t)).sort());
    for (const t of meta.topics) expect(t.partitions).toHaveLength(3);
  });

  it('refuses to auto-create a topic nobody created', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false, retry: { retries: 1 } });
    await producer.connect();
    await expect(producer.send({ topic: `${prefix}not_a_topic`, messages: [{ value: 'x' }], acks: -1, timeout: 2000 })).rejects.toThrow();
    await producer.disconnect();
  });

  it('round-trips a keyed message through each topic to a fresh consumer group', async () => {
    const producer = kafka.producer({ allowAutoTopicCreation: false });
    await producer.connect();
    const sent = new Map<string, { key: string; value: string }>();
    for (const t of ALL_TOPICS) {
      const topic = topicName(prefix, t);
      const msg = { key: `visitor-${t}`, value: JSON.stringify({ topic: t, id: randomUUID() }) };
      sent.set(topic, msg);
      await producer.send({ topic, acks: -1, messages: [msg] });
    }
    await producer.disconnect();

    const consumer = kafka.consumer({ groupId: `${prefix}g-${randomUUID()}` });
    await consumer.connect();
    await consumer.subscribe({ topics: [...sent.keys()], fromBeginning: true });
    const got = new Map<string, { key: string; value: string }>();
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`only got ${got.size}/${sent.size} topics back`)), 30_000);
      void consumer.run({
        eachMessage: async ({ topic, message }) => {
          got.set(topic, { key: message.key!.toString(), value: message.value!.toString() });
          if (got.size === sent.size) {
            clearTimeout(timer);
            resolve();
          }
        },
      });
    });
    await consumer.disconnect();
    expect(got).toEqual(sent);
  });
});

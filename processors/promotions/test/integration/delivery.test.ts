import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DeadLetter } from '@storepulse/contracts';
import type { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import type { ChunkInfo } from '../../src/index.ts';
import {
  BROKERS,
  cleanup,
  connectRedis,
  event,
  EventProducer,
  poll,
  randomPrefix,
  type Running,
  setupTopics,
  startService,
  waitReady,
} from './harness.ts';

const prefix = randomPrefix();
let redis: Redis;
let producer: EventProducer;

const interests = (visitor: string) => redis.hgetall(`${prefix}interests:{${visitor}}`);
const metric = async (running: Running, result: string) => {
  const m = await running.registry.getSingleMetric('promotions_events_total')?.get();
  return m?.values.find((v) => v.labels.result === result)?.value ?? 0;
};
/** The interests hash without its version counter: what a delivery changes. */
const state = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== '_v'));

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
});

afterAll(async () => {
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('duplicates and redelivery', () => {
  it('counts an event delivered three times once', async () => {
    const running = await startService(prefix);
    try {
      await waitReady(running.service);
      const once = `a-once-${Date.now()}`;
      const onceKey = `a:${once}`;
      const thrice = `a-thrice-${Date.now()}`;
      const thriceKey = `a:${thrice}`;
      const e1 = event({ type: 'search', anonymous_id: once, search_keyword: 'humidifier' });
      const e2 = { ...e1, anonymous_id: thrice };
      await producer.send(e1);
      await producer.send(e2, e2);
      await producer.send(e2);
      await poll(
        () => metric(running, 'duplicate'),
        (n) => n >= 2,
        5000,
      );
      const a = await poll(
        () => interests(onceKey),
        (h) => Object.keys(h).length > 0,
        5000,
      );
      const b = await interests(thriceKey);
      expect(state(b)).toEqual(state(a));
      expect(b._v).toBe('1');
      expect(await metric(running, 'duplicate')).toBe(2);
    } finally {
      await running.close();
    }
  });

  it('gives the same profile after a crash between the Redis write and the offset commit', async () => {
    const victim = `a-victim-${Date.now()}`;
    const control = `a-control-${Date.now()}`;
    let killed: ChunkInfo | undefined;
    const fatal: Error[] = [];
    // exit mode: the crashed consumer is handed to onFatal (as an orchestrator-restarted process), not restarted in place.
    const first = await startService(
      prefix,
      { PROMOTIONS_ON_CONSUMER_CRASH: 'exit' },
      {
        onFatal: (err) => fatal.push(err),
        hooks: {
          afterWrite: (chunk) => {
            if (killed || chunk.events === 0 || !chunk.topic.endsWith('searches')) return;
            killed = chunk;
            throw Object.assign(new Error('test: killed after the Redis write, before the commit'), { retriable: false });
          },
        },
      },
    );
    await waitReady(first.service);
    const e = event({ type: 'search', anonymous_id: victim, search_keyword: 'cool mist humidifier' });
    await producer.send(e);
    await poll(
      async () => fatal.length,
      (n) => n > 0,
      10_000,
    );
    expect(killed).toBeDefined();
    expect(fatal[0]?.message).toContain('killed after the Redis write');
    const written = await interests(`a:${victim}`);
    expect(Object.keys(written).length).toBeGreaterThan(0);
    await first.close();

    // Still uncommitted: the group's offset is before the killed chunk.
    const kafka = new Kafka({ clientId: 'promotions-test-offsets', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const committed = await admin.fetchOffsets({ groupId: `${prefix}promotions`, topics: [killed!.topic] });
    await admin.disconnect();
    const part = committed[0]?.partitions.find((p) => p.partition === killed!.partition);
    expect(BigInt(part?.offset ?? '-1')).toBeLessThanOrEqual(BigInt(killed!.lastOffset));

    const second = await startService(prefix);
    try {
      await waitReady(second.service);
      await producer.send({ ...e, anonymous_id: control });
      await poll(
        () => metric(second, 'duplicate'),
        (n) => n >= 1,
        10_000,
      );
      const control1 = await poll(
        () => interests(`a:${control}`),
        (h) => Object.keys(h).length > 0,
        5000,
      );
      const after = await interests(`a:${victim}`);
      expect(await metric(second, 'duplicate')).toBeGreaterThanOrEqual(1);
      expect(state(after)).toEqual(state(control1));
      expect(after._v).toBe('1');
    } finally {
      await second.close();
    }
  });

  it('dead-letters a poison message and goes on with the partition', async () => {
    const running = await startService(prefix);
    const kafka = new Kafka({ clientId: 'promotions-test-dlq', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({ groupId: `${prefix}dlq-reader-${Date.now()}` });
    const letters: DeadLetter[] = [];
    try {
      await waitReady(running.service);
      await consumer.connect();
      await consumer.subscribe({ topic: `${prefix}invalid_events`, fromBeginning: true });
      await consumer.run({ eachMessage: async ({ message }) => void letters.push(JSON.parse(message.value!.toString())) });
      const anon = `a-after-poison-${Date.now()}`;
      // Same key => same partition: the good event sits behind the poison ones.
      await producer.sendRaw('searches', anon, '{not json');
      await producer.sendRaw('searches', anon, JSON.stringify({ event_id: 'x', type: 'search' }));
      await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'robot vacuum' }));
      const h = await poll(
        () => interests(`a:${anon}`),
        (x) => Object.keys(x).length > 0,
        10_000,
      );
      expect(Object.keys(h)).toContain('s:robot vacuum');
      await poll(
        async () => letters.length,
        (n) => n >= 2,
        10_000,
      );
      expect(letters.map((l) => l.code).sort()).toEqual(['invalid_event', 'invalid_json']);
      for (const l of letters) {
        expect(l.source).toBe('promotions');
        expect(l.origin?.topic).toBe(`${prefix}searches`);
        expect(typeof l.reason).toBe('string');
      }
      expect(letters.find((l) => l.code === 'invalid_json')?.payload).toBe('{not json');
    } finally {
      await consumer.disconnect();
      await running.close();
    }
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { WarehouseClient } from '@storepulse/warehouse';
import { topicName } from '@storepulse/contracts';
import { SinkError } from '../../src/index.ts';
import {
  closeWarehouse,
  connectProducer,
  countEvents,
  createTopics,
  deleteTopics,
  makeEvent,
  produceEvents,
  produceRaw,
  randomPrefix,
  readDeadLetters,
  requireKafka,
  rollupTotal,
  startService,
  testWarehouse,
  waitFor,
} from './harness.ts';

const prefix = randomPrefix();
let warehouse: WarehouseClient;
let producer: Producer;

beforeAll(async () => {
  await requireKafka();
  await createTopics(prefix);
  warehouse = await testWarehouse();
  producer = await connectProducer();
});

afterAll(async () => {
  await producer?.disconnect();
  await deleteTopics(prefix);
  await closeWarehouse();
});

describe('ClickHouse unavailable for a while', () => {
  it('pauses, keeps memory bounded, loses nothing and catches up once inserts succeed again', async () => {
    const site = 'outage';
    let down = true;
    let failedAttempts = 0;
    const maxBuffered = 1024 * 1024;
    const { service, registry } = startService({
      prefix,
      warehouse,
      env: {
        ANALYTICS_BATCH_MAX_ROWS: '5000',
        ANALYTICS_BATCH_MAX_BYTES: '262144',
        ANALYTICS_MAX_BUFFERED_BYTES: String(maxBuffered),
      },
      hooks: {
        beforeInsert() {
          if (down) {
            failedAttempts++;
            throw new SinkError('simulated: ClickHouse is unavailable', true, undefined);
          }
        },
      },
    });
    await service.start();
    try {
      // About 4 MB of events arrive while every insert fails.
      const events: ReturnType<typeof makeEvent>[] = [];
      for (let round = 0; round < 8; round++) {
        const chunk = Array.from({ length: 1000 }, (_, i) =>
          makeEvent(site, i % 2 ? 'search' : 'page_view', { page_url: `https://shop.example/${'x'.repeat(300)}/${i}` }),
        );
        events.push(...chunk);
        await produceEvents(producer, prefix, chunk);
      }
      await waitFor(
        'inserts to be failing and partitions paused',
        async () => service.stats(),
        (s) => s.pausedPartitions > 0 && failedAttempts >= 3,
        10_000,
      );
      await new Promise((r) => setTimeout(r, 1500));
      const during = service.stats();
      expect(during.inserted).toBe(0);
      expect((await countEvents(warehouse, site)).rows).toBe(0);
      // Bounded: far less than what waits in Kafka (one fetch of overshoot allowed).
      expect(during.maxBufferedBytesSeen).toBeLessThan(maxBuffered + 512 * 1024);
      const paused = await registry.getSingleMetric('analytics_paused_partitions')!.get();
      expect(paused.values[0]!.value).toBeGreaterThan(0);

      down = false;
      const { value } = await waitFor(
        'catch-up',
        () => countEvents(warehouse, site),
        (c) => c.distinct === events.length,
        40_000,
      );
      await new Promise((r) => setTimeout(r, 300));
      expect(await countEvents(warehouse, site)).toEqual({ rows: events.length, distinct: value.distinct });
      expect(await rollupTotal(warehouse, site)).toBe(events.length);
      await waitFor(
        'partitions resumed',
        async () => service.stats().pausedPartitions,
        (n) => n === 0,
        5000,
      );
    } finally {
      await service.stop();
    }
  });

  it('sends the dead letters of a batch once, however often its insert is retried', async () => {
    const site = 'dead-letters-once';
    const own = randomPrefix(); // its own invalid_events topic: only this test's letters
    await createTopics(own);
    let failures = 0;
    const { service } = startService({
      prefix: own,
      warehouse,
      hooks: {
        beforeInsert() {
          if (failures < 3) {
            failures++;
            throw new SinkError('simulated: ClickHouse is unavailable', true, undefined);
          }
        },
      },
    });
    await service.start();
    try {
      // One key, so one partition and one batch: a poison message and a good event.
      await produceRaw(producer, topicName(own, 'searches'), ['{not json', JSON.stringify(makeEvent(site, 'search'))]);
      await waitFor(
        'the good event after three failed inserts',
        () => countEvents(warehouse, site),
        (c) => c.rows === 1,
        20_000,
      );
      expect(failures).toBe(3);
      const letters = await readDeadLetters(own, 1);
      expect(letters.map((l) => l.code)).toEqual(['bad_json']);
      // Nothing more arrives: the three retries did not send it again.
      await expect(readDeadLetters(own, 2, 3000)).rejects.toThrow(/dead letters/);
    } finally {
      await service.stop();
      await deleteTopics(own);
    }
  });
});

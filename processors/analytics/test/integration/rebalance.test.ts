import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { WarehouseClient } from '@storepulse/warehouse';
import {
  closeWarehouse,
  connectProducer,
  countEvents,
  createTopics,
  deleteTopics,
  makeEvent,
  produceEvents,
  randomPrefix,
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

describe('consumer group rebalances', () => {
  it('writes every event exactly once while members join and leave mid-stream', async () => {
    const site = 'rebalance';
    const types = ['page_view', 'search', 'click'] as const;
    const events: ReturnType<typeof makeEvent>[] = [];
    let stopProducing = false;
    const producing = (async () => {
      for (let round = 0; !stopProducing; round++) {
        const chunk = Array.from({ length: 100 }, (_, i) => makeEvent(site, types[(round + i) % 3]!));
        events.push(...chunk);
        await produceEvents(producer, prefix, chunk);
        await new Promise((r) => setTimeout(r, 50));
      }
    })();

    const env = { ANALYTICS_BATCH_MAX_ROWS: '150' };
    const a = startService({ prefix, warehouse, env }).service;
    await a.start();
    await new Promise((r) => setTimeout(r, 1500));
    const b = startService({ prefix, warehouse, env }).service;
    await b.start(); // joins: partitions move from a to b
    await new Promise((r) => setTimeout(r, 1500));
    await a.stop(); // leaves: b takes everything
    await new Promise((r) => setTimeout(r, 1000));
    stopProducing = true;
    await producing;
    try {
      await waitFor(
        'all events after the rebalances',
        () => countEvents(warehouse, site),
        (c) => c.distinct === events.length,
        // generous: on a loaded 2-core CI machine each embedded insert can take
        // several hundred ms, and the 150-row batches here mean many inserts
        90_000,
        100,
      );
      await new Promise((r) => setTimeout(r, 500));
      expect(await countEvents(warehouse, site)).toEqual({ rows: events.length, distinct: events.length });
      expect(await rollupTotal(warehouse, site)).toBe(events.length);
      expect(a.stats().inserted + b.stats().inserted).toBeGreaterThanOrEqual(events.length);
      expect(a.stats().inserted).toBeGreaterThan(0);
      expect(b.stats().inserted).toBeGreaterThan(0);
    } finally {
      await b.stop();
    }
  }, 150_000);
});

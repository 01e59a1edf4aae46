import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { topicName } from '@storepulse/contracts';
import type { WarehouseClient } from '@storepulse/warehouse';
import type { AnalyticsService } from '../../src/index.ts';
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
  startService,
  testWarehouse,
  waitFor,
} from './harness.ts';

const prefix = randomPrefix();
let warehouse: WarehouseClient;
let producer: Producer;
let service: AnalyticsService;

beforeAll(async () => {
  await requireKafka();
  await createTopics(prefix);
  warehouse = await testWarehouse();
  producer = await connectProducer();
  service = startService({ prefix, warehouse }).service;
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  await producer?.disconnect();
  await deleteTopics(prefix);
  await closeWarehouse();
});

describe('analytics processor against Kafka and embedded ClickHouse', () => {
  it('makes N distinct events queryable within 2 s and counts each event_id once despite repeats', async () => {
    const site = 'exactly-once';
    const types = ['page_view', 'search', 'click'] as const;
    const events = Array.from({ length: 2000 }, (_, i) => makeEvent(site, types[i % types.length]!));
    // Client retries: the same event (same event_id) arriving as separate Kafka messages.
    const repeats = events.filter((_, i) => i % 10 === 0).map((e) => ({ ...e, received_at: e.received_at + 5 }));
    await produceEvents(producer, prefix, [...events, ...repeats]);
    const { ms } = await waitFor(
      'all events queryable',
      () => countEvents(warehouse, site),
      (c) => c.distinct >= events.length,
      2000,
      50,
    );
    expect(ms).toBeLessThanOrEqual(2000);
    // Let any stray duplicate land before asserting the exact count.
    await new Promise((r) => setTimeout(r, 500));
    expect(await countEvents(warehouse, site)).toEqual({ rows: events.length, distinct: events.length });
    expect(service.stats().duplicates).toBeGreaterThanOrEqual(repeats.length);
  });

  it('dead-letters bad JSON and wrong shapes to invalid_events and keeps consuming', async () => {
    const site = 'bad-payloads';
    const searches = topicName(prefix, 'searches');
    await produceRaw(producer, searches, ['{not json', JSON.stringify({ event_id: 'x', type: 'nope' }), null, JSON.stringify([1, 2])]);
    const good = [makeEvent(site, 'search'), makeEvent(site, 'search')];
    await produceEvents(producer, prefix, good);
    await waitFor(
      'good events after bad ones',
      () => countEvents(warehouse, site),
      (c) => c.rows === 2,
      5000,
    );
    const letters = await readDeadLetters(prefix, 4);
    const codes = letters
      .filter((l) => l.source === 'analytics')
      .map((l) => l.code)
      .sort();
    expect(codes).toEqual(['bad_json', 'bad_type', 'empty', 'not_an_object']);
    expect(letters.every((l) => l.origin?.topic === searches)).toBe(true);
  });

  it('splits out a row ClickHouse rejects to invalid_events and writes the rest of its batch', async () => {
    const site = 'rejected-rows';
    // Passes the processor's shape check but violates the table's date constraint.
    const broken = makeEvent(site, 'page_view', { date: 5 });
    const fine = Array.from({ length: 20 }, () => makeEvent(site, 'page_view'));
    await produceEvents(producer, prefix, [...fine.slice(0, 10), broken, ...fine.slice(10)]);
    await waitFor(
      'the valid rows',
      () => countEvents(warehouse, site),
      (c) => c.rows === 20,
      5000,
    );
    const letters = await readDeadLetters(prefix, 5);
    const rejected = letters.filter((l) => l.code.startsWith('clickhouse_'));
    expect(rejected).toHaveLength(1);
    expect((rejected[0]!.payload as { event_id: string }).event_id).toBe(broken.event_id);
    expect(rejected[0]!.reason).toMatch(/constraint/i);
  });
});

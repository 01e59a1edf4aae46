/**
 * kafkajs gives a member with an empty assignment no fetcher and so no
 * heartbeat: the broker drops it after the session timeout and it idles for
 * good. The broker log shows the leader handing out empty assignments on fresh
 * topics now and then ("Setting empty assignments"). Here the leader's
 * assigner does that on purpose for the first assignment of the run; the
 * processor must notice, rejoin, and then insert everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { WarehouseClient } from '@storepulse/warehouse';
import { emptyFirstAssignment } from '../../../../scripts/src/testing/assigners.ts';
import type { AnalyticsService } from '../../src/index.ts';
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
  startService,
  testWarehouse,
  waitFor,
} from './harness.ts';

const prefix = randomPrefix();
let warehouse: WarehouseClient;
let producer: Producer;
let service: AnalyticsService;
const glitch = emptyFirstAssignment();

beforeAll(async () => {
  await requireKafka();
  await createTopics(prefix);
  warehouse = await testWarehouse();
  producer = await connectProducer();
  service = startService({ prefix, warehouse, partitionAssigners: [glitch.assigner] }).service;
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  await producer?.disconnect();
  await deleteTopics(prefix);
  await closeWarehouse();
});

describe('a join that hands the processor no partitions', () => {
  it('is noticed and followed by a rejoin, after which every event is inserted', async () => {
    const site = 'empty-assignment';
    const events = Array.from({ length: 300 }, (_, i) => makeEvent(site, i % 2 ? 'page_view' : 'search'));
    await produceEvents(producer, prefix, events);
    // The guard checks 3 s after the empty join; the session timeout (30 s) would only drop the member.
    const { ms } = await waitFor(
      'events inserted after the rejoin',
      () => countEvents(warehouse, site),
      (c) => c.distinct >= events.length,
      25_000,
      200,
    );
    expect(glitch.assignments()).toBeGreaterThanOrEqual(2);
    expect(ms).toBeLessThan(25_000);
    expect(await countEvents(warehouse, site)).toEqual({ rows: events.length, distinct: events.length });
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import type { WarehouseClient } from '@storepulse/warehouse';
import { SimulatedCrash, type BatchInfo } from '../../src/index.ts';
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

let warehouse: WarehouseClient;
let producer: Producer;
const prefixes: string[] = [];

beforeAll(async () => {
  await requireKafka();
  warehouse = await testWarehouse();
  producer = await connectProducer();
});

afterAll(async () => {
  await producer?.disconnect();
  for (const p of prefixes) await deleteTopics(p);
  await closeWarehouse();
});

/**
 * Runs the crash scenario on its own prefix: N events wait in Kafka, a first
 * processor dies right after its first insert and before committing, and a
 * second one (same consumer group) takes over. Returns the final row count.
 */
async function crashAndRecover(site: string, env: Record<string, string>) {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  await createTopics(prefix);
  const types = ['page_view', 'search', 'click'] as const;
  const events = Array.from({ length: 900 }, (_, i) => makeEvent(site, types[i % 3]!));
  await produceEvents(producer, prefix, events);

  const crashed: BatchInfo[] = [];
  const first = startService({
    prefix,
    warehouse,
    env: { ANALYTICS_BATCH_MAX_ROWS: '100', ...env },
    hooks: {
      afterInsert(info) {
        if (info.rows > 0) {
          crashed.push(info);
          throw new SimulatedCrash(`killed after inserting ${info.token ?? info.firstOffset}`);
        }
      },
    },
  }).service;
  await first.start();
  const reason = await first.died;
  expect(reason).toBeInstanceOf(SimulatedCrash);
  // One insert at a time: the crash follows the first one. With more slots,
  // the inserts already in flight finish too, as they would around a kill.
  const inFlight = Number(env.ANALYTICS_INSERT_CONCURRENCY ?? 2);
  if (inFlight === 1) expect(crashed).toHaveLength(1);
  expect(crashed.length).toBeGreaterThanOrEqual(1);
  expect(crashed.length).toBeLessThanOrEqual(inFlight);
  const crashedRows = crashed.reduce((n, b) => n + b.rows, 0);
  const afterCrash = await countEvents(warehouse, site);
  // The crash happened after real inserts: their rows are in ClickHouse but not committed in Kafka.
  expect(afterCrash.rows).toBe(crashedRows);

  const second = startService({ prefix, warehouse, env: { ANALYTICS_BATCH_MAX_ROWS: '100', ...env } }).service;
  await second.start();
  try {
    await waitFor(
      'the second processor to catch up',
      () => countEvents(warehouse, site),
      (c) => c.distinct === events.length,
      20_000,
    );
    await new Promise((r) => setTimeout(r, 500));
    return {
      n: events.length,
      final: await countEvents(warehouse, site),
      rollup: await rollupTotal(warehouse, site),
      crashedRows,
    };
  } finally {
    await second.stop();
  }
}

describe.each(['1', '2'])('exactly-once across a crash between insert and offset commit (%s insert(s) at once)', (inFlight) => {
  it('re-forms the uncommitted batch after the crash so the dedup token keeps the count at exactly N', async () => {
    const { n, final, rollup } = await crashAndRecover(`crash-with-token-${inFlight}`, { ANALYTICS_INSERT_CONCURRENCY: inFlight });
    expect(final).toEqual({ rows: n, distinct: n });
    expect(rollup).toBe(n);
  });

  it('shows duplicates in the same scenario when the dedup token is disabled (control)', async () => {
    const { n, final, rollup, crashedRows } = await crashAndRecover(`crash-without-token-${inFlight}`, {
      ANALYTICS_INSERT_DEDUP_TOKEN: 'false',
      ANALYTICS_INSERT_CONCURRENCY: inFlight,
    });
    expect(final.distinct).toBe(n);
    // The raw table may already have collapsed the repeat in a background
    // merge (ReplacingMergeTree), but the rollups fed by the materialized
    // view have counted the re-inserted batches twice.
    expect(rollup).toBe(n + crashedRows);
  });
});

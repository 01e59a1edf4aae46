/**
 * The processor runs the search-outcomes closer (warehouse migration 0005):
 * searches and clicks it writes into hours already closed are re-closed by
 * the next run, and a consent purge (`service.purge`) takes the visitor out
 * of the closed outcomes in the same call.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Producer } from 'kafkajs';
import { runReport, type WarehouseClient } from '@storepulse/warehouse';
import type { AnalyticsService } from '../../src/index.ts';
import {
  closeWarehouse,
  connectProducer,
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
const site = 'outcomes-purge';
let warehouse: WarehouseClient;
let producer: Producer;
let service: AnalyticsService;

beforeAll(async () => {
  await requireKafka();
  await createTopics(prefix);
  warehouse = await testWarehouse();
  producer = await connectProducer();
  // Allowance 0: hours end + 30 min are closed; a run every 200 ms.
  service = startService({ prefix, warehouse, env: { SEARCH_OUTCOMES_INTERVAL_MS: '200', SEARCH_OUTCOMES_ALLOWANCE_MS: '0' } }).service;
  await service.start();
});

afterAll(async () => {
  await service?.stop();
  await producer?.disconnect();
  await deleteTopics(prefix);
  await closeWarehouse();
});

async function cached(): Promise<{ searches: number; without: number; visitors: number }> {
  const rs = await warehouse.client.query({
    query: `SELECT sum(searches) AS searches, sum(searches_without_click) AS without, uniqExactArray(visitor_hashes) AS visitors
            FROM activity.search_outcomes_hourly WHERE all_sites = 0 AND site = {site:String} AND whole_day = 0`,
    query_params: { site },
    format: 'JSONEachRow',
  });
  const [r] = await rs.json<{ searches: number | string; without: number | string; visitors: number | string }>();
  return { searches: Number(r?.searches ?? 0), without: Number(r?.without ?? 0), visitors: Number(r?.visitors ?? 0) };
}

describe('search outcomes closer in the analytics processor', () => {
  it('closes late searches and clicks, and a purge removes the visitor from the closed outcomes', async () => {
    // Three hours ago: hours that the closer's first run (at start) already closed.
    const at = Date.now() - 3 * 3_600_000;
    const ev = (type: 'search' | 'click', visitor: string, session: string, dt: number, over = {}) =>
      makeEvent(site, type, { anonymous_id: visitor, session_id: session, date: at + dt, timestamp: at + dt, ...over });
    await produceEvents(producer, prefix, [
      ev('search', 'va', 'sa', 0, { search_keyword: 'Desk Lamp' }),
      ev('click', 'va', 'sa', 60_000),
      ev('search', 'vb', 'sb', 0, { search_keyword: 'desk lamp' }),
      ev('search', 'vc', 'sc', 0, { search_keyword: 'kettle' }),
    ]);
    // The click comes on another topic, in another insert: a later run re-closes its hour.
    const before = await waitFor('closed outcomes of the late events', cached, (c) => c.searches === 3 && c.without === 2, 20_000, 100);
    expect(before.value).toEqual({ searches: 3, without: 2, visitors: 3 });
    const gaps = await runReport(warehouse.client, 'content-gaps', { since: '6h', site });
    expect(gaps.rows.map((r) => [r.keyword, r.searches, r.searches_without_click, r.visitors])).toEqual([
      ['desk lamp', 2, 1, 2],
      ['kettle', 1, 1, 1],
    ]);

    const res = await service.purge({ userKeys: ['a:vb'], at: Date.now(), expiresAt: Date.now() + 86_400_000 });
    expect(res.tables.search_clicks).toBe(1);
    // Right after the purge call, without waiting for a closer run.
    expect(await cached()).toEqual({ searches: 2, without: 1, visitors: 2 });
    const after = await runReport(warehouse.client, 'content-gaps', { since: '6h', site });
    expect(after.rows.map((r) => [r.keyword, r.searches, r.searches_without_click, r.visitors])).toEqual([['kettle', 1, 1, 1]]);
  });
});

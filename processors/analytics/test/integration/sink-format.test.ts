/**
 * The sink writes TabSeparated lines. Whatever the strings, ClickHouse must
 * store exactly what the JSONEachRow form of the same rows stores, and a
 * dedup token must still make a repeated insert a no-op.
 */
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WarehouseClient } from '@storepulse/warehouse';
import { migrate } from '@storepulse/warehouse';
import { toEventRow, toJsonLine, toTsvLine } from '../../src/event.ts';
import { createClickHouseSink, insertIsolatingRejects } from '../../src/sink.ts';
import { closeWarehouse, testWarehouse } from './harness.ts';
import { HOSTILE_STRINGS } from '../hostile-strings.ts';

let w: WarehouseClient;
beforeAll(async () => {
  w = await testWarehouse();
  await migrate(w.client, { database: 'fmt_tsv' });
  await migrate(w.client, { database: 'fmt_json' });
});
afterAll(closeWarehouse);

const hostile = HOSTILE_STRINGS;
const text = fc.oneof(fc.string({ unit: 'binary', maxLength: 40 }), fc.constantFrom(...hostile));

async function all(db: string): Promise<unknown[]> {
  const rs = await w.client.query({ query: `SELECT * FROM ${db}.events ORDER BY event_id`, format: 'JSONEachRow' });
  return rs.json();
}

describe('TabSeparated inserts', () => {
  it('store the same rows as JSONEachRow, for any strings, arrays, maps and nullable numbers', async () => {
    const rows = fc
      .sample(
        fc.record({
          s: text,
          ids: fc.array(text, { maxLength: 3 }),
          props: fc.dictionary(fc.string({ minLength: 1, unit: 'binary', maxLength: 20 }), text, { maxKeys: 3 }),
          value: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
          depth: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
          results: fc.option(fc.integer({ min: 0, max: 1000 }), { nil: undefined }),
          personalized: fc.option(fc.boolean(), { nil: undefined }),
        }),
        { numRuns: 300, seed: 42 },
      )
      .map((r, i) =>
        toEventRow({
          event_id: `e${String(i).padStart(4, '0')}`,
          type: 'click',
          date: 1764000000000 + i,
          received_at: 1764000000500 + i,
          anonymous_id: `a${r.s}`,
          session_id: r.s,
          site: r.s,
          page_url: r.s,
          search_keyword: r.s,
          results_count: r.results,
          element: { text: r.s, tag: 'a', selector: r.s },
          promotion_ids: r.ids,
          properties: r.props,
          value: r.value,
          depth_pct: r.depth,
          personalized: r.personalized,
          context: { user_agent: r.s, country: 'de' },
        }),
      );
    const sink = createClickHouseSink(w.client, { table: 'fmt_tsv.events', embedded: true });
    await sink.insert(
      rows.map((r) => ({ eventId: r.event_id, line: toTsvLine(r), receivedAt: r.received_at })),
      { token: 'fmt:1' },
    );
    const res = await w.client.exec({
      query: 'INSERT INTO fmt_json.events FORMAT JSONEachRow',
      values: Readable.from([rows.map(toJsonLine).join('\n')]),
    });
    res.stream.resume();
    const tsv = await all('fmt_tsv');
    expect(tsv).toHaveLength(rows.length);
    expect(tsv).toEqual(await all('fmt_json'));

    // Same token: deduplicated.
    await sink.insert(
      rows.map((r) => ({ eventId: r.event_id, line: toTsvLine(r), receivedAt: r.received_at })),
      { token: 'fmt:1' },
    );
    expect(await all('fmt_tsv')).toHaveLength(rows.length);
  });

  it('still isolates a row the table rejects (date constraint) and writes the others', async () => {
    const ok = toEventRow({ event_id: 'ok-1', type: 'page_view', date: 1764000000000, anonymous_id: 'a' });
    const bad = toEventRow({ event_id: 'bad-1', type: 'page_view', date: Date.parse('1990-01-01T00:00:00Z'), anonymous_id: 'a' });
    const sink = createClickHouseSink(w.client, { table: 'fmt_tsv.events', embedded: true });
    const rejected = await insertIsolatingRejects(
      sink,
      [ok, bad].map((r) => ({ eventId: r.event_id, line: toTsvLine(r), receivedAt: r.received_at })),
      'fmt:2',
    );
    expect(rejected.map((r) => r.row.eventId)).toEqual(['bad-1']);
    expect(rejected[0]!.reason).toMatch(/constraint/i);
    const rs = await w.client.query({ query: "SELECT count() AS n FROM fmt_tsv.events WHERE event_id = 'ok-1'", format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ n: 1 }]);
  });
});

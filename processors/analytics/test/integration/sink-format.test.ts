/**
 * The sink writes TabSeparated lines. Whatever the strings, ClickHouse must
 * store exactly what the JSONEachRow form of the same rows stores, and a
 * dedup token must still make a repeated insert a no-op.
 */
import path from 'node:path';
import { Readable } from 'node:stream';
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WarehouseClient } from '@storepulse/warehouse';
import { createWarehouseClient, migrate } from '@storepulse/warehouse';
import { SinkError } from '../../src/errors.ts';
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
    const sink = createClickHouseSink(w, { table: 'fmt_tsv.events' });
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
    const sink = createClickHouseSink(w, { table: 'fmt_tsv.events' });
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

/** The sink's insert, caught: the SinkError it threw. */
async function failure(p: Promise<void>): Promise<SinkError> {
  const err = await p.then(
    () => null,
    (e: unknown) => e,
  );
  expect(err).toBeInstanceOf(SinkError);
  return err as SinkError;
}

describe('errors of the raw insert path', () => {
  const row = (id: string) => {
    const r = toEventRow({ event_id: id, type: 'page_view', date: 1764000000000, anonymous_id: 'a' });
    return { eventId: r.event_id, line: toTsvLine(r), receivedAt: r.received_at };
  };

  it('reports a malformed row as bad data (not retriable) with its ClickHouse code', async () => {
    const sink = createClickHouseSink(w, { table: 'fmt_tsv.events' });
    const good = row('raw-ok');
    const fields = good.line.split('\t');
    const badDate = { ...good, eventId: 'raw-bad-date', line: [fields[0], fields[1], 'not a date', ...fields.slice(3)].join('\t') };
    const e1 = await failure(sink.insert([good, badDate], { token: 'raw:1' }));
    expect(e1.retriable).toBe(false);
    expect(['27', '41']).toContain(e1.chCode);
    const short = { ...good, eventId: 'raw-short', line: fields.slice(0, -1).join('\t') };
    const e2 = await failure(sink.insert([short], { token: 'raw:2' }));
    expect(e2.retriable).toBe(false);
    expect(e2.chCode).toBe('27');
    // Nothing of either batch was written.
    const rs = await w.client.query({
      query: "SELECT count() AS n FROM fmt_tsv.events WHERE event_id LIKE 'raw-%'",
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ n: 0 }]);
  });

  it('reports a closed engine connection as retriable', async () => {
    // A second client on the same engine, closed: its inserts fail the way a broken engine's do.
    const closed = createWarehouseClient({ dataDir: path.dirname(w.location) });
    await closed.close();
    const e = await failure(createClickHouseSink(closed, { table: 'fmt_tsv.events' }).insert([row('raw-closed')], { token: 'raw:3' }));
    expect(e.retriable).toBe(true);
  });

  it('inserts with or without a token whatever the token holds, and deduplicates only with one', async () => {
    const sink = createClickHouseSink(w, { table: 'fmt_tsv.events' });
    const token = "t'ok\\en\n'; DROP TABLE fmt_tsv.events; --";
    // ReplacingMergeTree: a merge could collapse the two copies and hide them.
    await w.client.command({ query: 'SYSTEM STOP MERGES fmt_tsv.events' });
    try {
      for (let i = 0; i < 2; i++) await sink.insert([row('raw-tok')], { token });
      for (let i = 0; i < 2; i++) await sink.insert([row('raw-notok')], { token: undefined });
      const rs = await w.client.query({
        query:
          "SELECT event_id, count() AS n FROM fmt_tsv.events WHERE event_id IN ('raw-tok', 'raw-notok') GROUP BY event_id ORDER BY event_id",
        format: 'JSONEachRow',
      });
      expect(await rs.json()).toEqual([
        { event_id: 'raw-notok', n: 2 },
        { event_id: 'raw-tok', n: 1 },
      ]);
    } finally {
      await w.client.command({ query: 'SYSTEM START MERGES fmt_tsv.events' });
    }
  });
});

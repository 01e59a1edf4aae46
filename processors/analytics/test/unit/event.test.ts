import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { chDateTime, decodeMessage, EVENT_COLUMNS, linePayload, toEventRow, toJsonLine, toTsvLine } from '../../src/event.ts';
import { HOSTILE_STRINGS } from '../hostile-strings.ts';

const base = {
  event_id: 'e1',
  type: 'search',
  timestamp: 1763800000000,
  date: 1763800000101,
  received_at: 1763800000200,
  sent_at: 1763800000150,
  anonymous_id: 'a-1',
  user_id: 'abcde@gmail.com',
  user_verified: true,
  session_id: 's-1',
  site: 'demo',
  page_url: '/deals/?q=1',
  search_keyword: 'humidifier',
  context: { is_bot: false, user_agent: 'UA', country: 'de', locale: 'de-DE' },
};

describe('mapping an enriched event to a row', () => {
  it('maps typed columns and keeps the rest as bounded properties', () => {
    const row = toEventRow({ ...base, page_title: 'Deals', properties: { campaign: 'x', n: 3 } });
    expect(row).toMatchObject({
      event_id: 'e1',
      type: 'search',
      date: 1763800000101,
      received_at: 1763800000200,
      site: 'demo',
      user_key: 'u:abcde@gmail.com',
      user_id: 'abcde@gmail.com',
      user_verified: 1,
      anonymous_id: 'a-1',
      session_id: 's-1',
      page_url: '/deals/?q=1',
      page_path: '/deals/',
      search_keyword: 'humidifier',
      is_bot: 0,
      country: 'DE',
      user_agent: 'UA',
    });
    expect(row.properties).toEqual({ campaign: 'x', n: '3', page_title: 'Deals', locale: 'de-DE' });
  });

  it('keys an unproven user id claim as the anonymous visitor', () => {
    expect(toEventRow({ ...base, user_verified: false }).user_key).toBe('a:a-1');
  });

  it('takes product and promotion ids from the clicked element', () => {
    const row = toEventRow({
      ...base,
      type: 'click',
      element: { tag: 'A', id: 'buy', text: 'Buy', product_id: 'sku-1', promotion_id: 'p-1' },
    });
    expect(row).toMatchObject({ element_tag: 'a', element_id: 'buy', element_text: 'Buy', product_id: 'sku-1', promotion_id: 'p-1' });
  });

  it('clamps scroll depth to 0-100 and ignores non-numeric values', () => {
    expect(toEventRow({ ...base, type: 'scroll', depth_pct: 140 }).depth_pct).toBe(100);
    expect(toEventRow({ ...base, type: 'scroll', depth_pct: '50' }).depth_pct).toBeNull();
  });

  it('formats dates as ClickHouse DateTime64(3) text in UTC', () => {
    expect(chDateTime(Date.parse('2026-11-20T10:05:03.042Z'))).toBe('2026-11-20 10:05:03.042');
    const d = decodeMessage(Buffer.from(JSON.stringify(base)));
    expect(d.ok && d.line.split('\t')[EVENT_COLUMNS.indexOf('date')]).toBe(chDateTime(base.date));
  });
});

describe('TabSeparated lines for the sink', () => {
  const hostile = HOSTILE_STRINGS;

  it('escapes tabs, newlines and backslashes so every row is one line of EVENT_COLUMNS fields', () => {
    for (const s of hostile) {
      const row = toEventRow({ ...base, search_keyword: s, session_id: s, promotion_ids: [s, 'p'], properties: { [s]: s } });
      const line = toTsvLine(row);
      expect(line).not.toMatch(/\n|\r/);
      expect(line.split('\t')).toHaveLength(EVENT_COLUMNS.length);
    }
  });

  it('reads back, for a dead letter, the same object as the JSONEachRow form of the row, whatever the strings', () => {
    fc.assert(
      fc.property(
        fc.record({
          s: fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...hostile)),
          ids: fc.array(fc.oneof(fc.string({ unit: 'binary' }), fc.constantFrom(...hostile)), { maxLength: 4 }),
          props: fc.dictionary(fc.string({ minLength: 1, unit: 'binary' }), fc.string({ unit: 'binary' }), { maxKeys: 4 }),
          n: fc.option(fc.double({ noNaN: true, noDefaultInfinity: true }), { nil: undefined }),
          depth: fc.option(fc.integer({ min: -10, max: 200 }), { nil: undefined }),
          personalized: fc.option(fc.boolean(), { nil: undefined }),
        }),
        ({ s, ids, props, n, depth, personalized }) => {
          const row = toEventRow({
            ...base,
            search_keyword: s,
            page_url: s,
            element: { text: s, tag: 'A' },
            promotion_ids: ids,
            properties: props,
            value: n,
            depth_pct: depth,
            personalized,
          });
          expect(linePayload(toTsvLine(row))).toEqual(JSON.parse(toJsonLine(row)));
        },
      ),
      { numRuns: 200 },
    );
    // a generous timeout: a loaded 2-core machine runs the property slowly
  }, 30_000);

  it('gives the raw line back when it is not a row of the events table', () => {
    expect(linePayload('not\ta row')).toBe('not\ta row');
  });
});

describe('decoding untrusted Kafka messages', () => {
  it('replaces lone surrogates, which ClickHouse would refuse forever, instead of stalling the partition', () => {
    const d = decodeMessage(Buffer.from(JSON.stringify({ ...base, search_keyword: 'hum\ud800idifier', properties: { note: '\udc00x' } })));
    expect(d.ok).toBe(true);
    if (!d.ok) return;
    expect(d.row.search_keyword).toBe('hum\ufffdidifier');
    expect(d.row.properties.note).toBe('\ufffdx');
    expect(Buffer.from(d.line, 'utf8').toString('utf8')).toBe(d.line);
    // a well-formed pair is kept
    expect(decodeMessage(Buffer.from(JSON.stringify({ ...base, search_keyword: 'ok 😀' })))).toMatchObject({
      row: { search_keyword: 'ok 😀' },
    });
  });

  it('names what is wrong with a bad message', () => {
    const code = (v: string | null) => {
      const d = decodeMessage(v === null ? null : Buffer.from(v));
      return d.ok ? 'ok' : d.code;
    };
    expect(code(null)).toBe('empty');
    expect(code('{')).toBe('bad_json');
    expect(code('[]')).toBe('not_an_object');
    expect(code(JSON.stringify({ ...base, event_id: '' }))).toBe('bad_event_id');
    expect(code(JSON.stringify({ ...base, type: 'drop' }))).toBe('bad_type');
    expect(code(JSON.stringify({ ...base, date: 'today' }))).toBe('bad_date');
    expect(code(JSON.stringify({ ...base, date: 1e20 }))).toBe('bad_date');
    expect(code(JSON.stringify({ ...base, anonymous_id: 5 }))).toBe('bad_anonymous_id');
    expect(code('x'.repeat(300 * 1024))).toBe('too_large');
    expect(code(JSON.stringify(base))).toBe('ok');
  });

  it('never throws and always yields a row or a dead-letter reason, whatever the bytes', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.json(),
          fc.string(),
          fc
            .record({ ...Object.fromEntries(Object.keys(base).map((k) => [k, fc.anything()])) }, { requiredKeys: [] })
            .map((o) => JSON.stringify(o)),
        ),
        (text) => {
          const d = decodeMessage(Buffer.from(text));
          if (d.ok) {
            expect(typeof d.line).toBe('string');
            expect(Object.keys(d.row.properties).length).toBeLessThanOrEqual(32);
          } else {
            expect(d.reason.length).toBeGreaterThan(0);
          }
        },
      ),
      { numRuns: 500 },
    );
  });
});

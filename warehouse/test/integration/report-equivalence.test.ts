/**
 * The reports that 0004 made faster (content-gaps and search-conversion on
 * activity.search_clicks, active-visitors on the `visits` rollup rows,
 * top-clicks in two passes) must give exactly the answers of their previous
 * SQL (test/reference/*.sql: raw events, or the rollups as they were read
 * before) on the same data. Half the data is written before 0004 is applied,
 * so the backfill is checked too; the rest after it, searches and clicks in
 * separate inserts as the processor writes them (one topic each), with
 * copies of some events, bots, two sites, sessions without an id, and clicks
 * exactly at the 30-minute edges.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EventRow } from '@storepulse/contracts';
import {
  closeSearchOutcomes,
  createWarehouseClient,
  migrate,
  MIGRATIONS_DIR,
  recloseSearchOutcomeDays,
  runReport,
  searchOutcomeDaysOf,
  type WarehouseClient,
} from '../../src/index.ts';
import { expandMacros, findReport, resolveParams } from '../../src/reports/catalog.ts';

const NOW = Date.parse('2026-11-21T12:34:56.789Z');
const START = NOW - 3 * 86_400_000;
const REFERENCE = new URL('../reference/', import.meta.url);

/** Deterministic pseudo-random numbers (mulberry32). */
function rng(seed: number): () => number {
  let a = seed;
  return () => {
    a = (a + 0x6d2b79f5) | 0;
    let t = Math.imul(a ^ (a >>> 15), 1 | a);
    t = (t + Math.imul(t ^ (t >>> 7), 61 | t)) ^ t;
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

function chDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

const KEYWORDS = ['Humidifier', '  humidifier ', 'desk   lamp', 'DESK LAMP', 'air purifier', 'kettle', 'fan', ''];
let seq = 0;

function makeEvents(): EventRow[] {
  const r = rng(7);
  const pick = <T>(xs: readonly T[]): T => xs[Math.floor(r() * xs.length)]!;
  const out: EventRow[] = [];
  const ev = (over: Partial<EventRow> & Pick<EventRow, 'type' | 'date' | 'anonymous_id'>): EventRow => {
    const e: EventRow = {
      event_id: `ev-${String(seq++).padStart(6, '0')}`,
      received_at: over.date,
      site: 'shop-a',
      user_key: `a:${over.anonymous_id}`,
      user_id: '',
      session_id: '',
      user_verified: 0,
      page_url: '',
      page_path: '/',
      referrer: '',
      search_keyword: '',
      results_count: null,
      element_tag: 'a',
      element_id: '',
      element_text: 'Buy',
      element_selector: '',
      element_href: '',
      product_id: '',
      category: '',
      promotion_id: '',
      promotion_ids: [],
      personalized: null,
      depth_pct: null,
      value: null,
      currency: '',
      is_bot: 0,
      country: '',
      user_agent: '',
      properties: {},
      ...over,
    };
    out.push(e);
    return e;
  };
  for (let s = 0; s < 400; s++) {
    const visitor = `v${Math.floor(r() * 90)}`;
    const site = r() < 0.75 ? 'shop-a' : 'shop-b';
    // a fifth of the sessions have no id: the reports fall back to the visitor
    const session_id = r() < 0.2 ? '' : `s${s}`;
    const is_bot = r() < 0.05 ? 1 : 0;
    let t = START + Math.floor(r() * (3 * 86_400_000 + 3_600_000));
    const n = 3 + Math.floor(r() * 12);
    for (let i = 0; i < n; i++) {
      t += Math.floor(r() * 20 * 60_000);
      const base = { date: t, anonymous_id: visitor, site, session_id, is_bot };
      const x = r();
      if (x < 0.3) {
        const search = ev({ ...base, type: 'search', search_keyword: pick(KEYWORDS), results_count: pick([0, 3, 12, null]) });
        // clicks exactly at the edges of the 30-minute window
        const edge = r();
        if (edge < 0.1) ev({ ...base, type: 'click', date: search.date, product_id: 'sku-edge' });
        else if (edge < 0.2) ev({ ...base, type: 'click', date: search.date + 1_800_000, product_id: 'sku-edge' });
        else if (edge < 0.3) ev({ ...base, type: 'click', date: search.date + 1_800_001, product_id: 'sku-edge' });
      } else if (x < 0.55) {
        const kind = r();
        ev({
          ...base,
          type: 'click',
          product_id: kind < 0.5 ? `sku-${Math.floor(r() * 12)}` : '',
          promotion_id: kind >= 0.5 && kind < 0.75 ? `promo-${Math.floor(r() * 4)}` : '',
          element_id: kind >= 0.75 ? pick(['nav', 'logo', '']) : '',
          personalized: kind >= 0.5 && kind < 0.75 ? pick([0, 1, null]) : null,
        });
      } else if (x < 0.8) ev({ ...base, type: 'page_view', page_path: `/p/${Math.floor(r() * 5)}` });
      else if (x < 0.9) ev({ ...base, type: 'scroll', depth_pct: Math.floor(r() * 101) });
      else ev({ ...base, type: 'promotion_view', promotion_ids: ['promo-1', `promo-${Math.floor(r() * 4)}`], personalized: pick([0, 1]) });
    }
  }
  return out;
}

let w: WarehouseClient;
let dir: string;
const events = makeEvents();

async function insert(rows: EventRow[], token: string): Promise<void> {
  if (rows.length === 0) return;
  // A token per insert, as the processor sends (the views' blocks are deduplicated by it).
  const res = await w.client.exec({
    query: `INSERT INTO activity.events SETTINGS insert_deduplicate = 1, insert_deduplication_token = '${token}' FORMAT JSONEachRow`,
    values: Readable.from([rows.map((e) => JSON.stringify({ ...e, date: chDate(e.date), received_at: chDate(e.received_at) })).join('\n')]),
  });
  res.stream.resume();
}

beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-equiv-'));
  w = createWarehouseClient({ dataDir: dir });
  // The schema as it was before 0004, and half the data written through it.
  const before = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-equiv-mig-'));
  for (const f of fs.readdirSync(MIGRATIONS_DIR).filter((f) => f < '0004'))
    fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(before, f));
  await migrate(w.client, { dir: before });
  fs.rmSync(before, { recursive: true, force: true });
  const half = Math.floor(events.length / 2);
  await insert(events.slice(0, half), 'equiv:0');
  // 0004: new views and the backfill of what is already there.
  const res = await migrate(w.client, {});
  expect(res.applied).toContain('0004_report_speed.sql');
  // The rest, one insert per event type and per slice, as the processor writes
  // one topic-partition batch at a time; and copies of some events.
  const rest = events.slice(half);
  let n = 0;
  for (const type of ['search', 'click', 'page_view', 'scroll', 'promotion_view']) {
    const ofType = rest.filter((e) => e.type === type);
    for (let i = 0; i < ofType.length; i += 150) await insert(ofType.slice(i, i + 150), `equiv:${++n}`);
  }
  await insert(
    events.filter((_, i) => i % 37 === 0),
    'equiv:copies',
  );
}, 120_000);

afterAll(async () => {
  await w?.close();
  if (dir) fs.rmSync(dir, { recursive: true, force: true });
});

async function reference(name: string, input: Record<string, string>): Promise<unknown[]> {
  const params = resolveParams(findReport(name), input, NOW);
  const sql = expandMacros(fs.readFileSync(new URL(`${name}.sql`, REFERENCE), 'utf8'));
  const used = new Set([...sql.matchAll(/\{(\w+):/g)].map((m) => m[1]!));
  const rs = await w.client.query({
    query: sql,
    query_params: Object.fromEntries(Object.entries(params.query).filter(([k]) => used.has(k))),
    format: 'JSONEachRow',
  });
  return (await rs.json<Record<string, unknown>>()).map((row) =>
    Object.fromEntries(Object.entries(row).map(([k, v]) => [k, typeof v === 'string' && /^\d+$/.test(v) ? Number(v) : v])),
  );
}

const RANGES: Record<string, string>[] = [
  { since: '3d' },
  { since: '2026-11-19T07:13:00Z', until: '2026-11-20T19:59:00Z' },
  { since: '2026-11-20', until: '2026-11-21' },
  { since: '90m' },
];
const SITES = ['shop-a', ''];

describe('faster reports give the answers of their previous SQL on the same data', () => {
  it('has data to compare: searches with and without a later click in several sessions', async () => {
    const rs = await w.client.query({
      query: 'SELECT kind, count() AS n FROM activity.search_clicks GROUP BY kind ORDER BY kind',
      format: 'JSONEachRow',
    });
    const kinds = await rs.json<{ kind: number; n: number }>();
    expect(kinds.map((k) => k.kind)).toEqual([0, 1, 2]);
    const gaps = await runReport(w.client, 'content-gaps', { since: '3d', site: 'shop-a' }, { now: NOW });
    expect(gaps.rows.length).toBeGreaterThan(2);
    expect(gaps.rows.some((r) => Number(r.searches) > Number(r.searches_without_click))).toBe(true);
  });

  for (const name of ['content-gaps', 'search-conversion']) {
    it(`${name}: same rows for every range, site, keyword and limit`, async () => {
      for (const range of RANGES) {
        for (const site of SITES) {
          for (const extra of [{}, { keyword: 'HUMID' }, { limit: '2' }] as Record<string, string>[]) {
            const input = { ...range, site, ...extra };
            const got = await runReport(w.client, name, input, { now: NOW });
            expect(got.rows, JSON.stringify(input)).toEqual(await reference(name, input));
          }
        }
      }
    });
  }

  it('top-clicks: same rows, including ties at the limit and the kind filter', async () => {
    for (const range of RANGES) {
      for (const site of SITES) {
        for (const extra of [{}, { limit: '3' }, { kind: 'product', limit: '5' }, { kind: 'element' }] as Record<string, string>[]) {
          const input = { ...range, site, ...extra };
          const got = await runReport(w.client, 'top-clicks', input, { now: NOW });
          expect(got.rows, JSON.stringify(input)).toEqual(await reference('top-clicks', input));
        }
      }
    }
  });

  it('active-visitors: same events, page views, visitors and sessions per minute, hour and day', async () => {
    for (const range of RANGES) {
      for (const site of SITES) {
        for (const interval of ['minute', 'hour', 'day']) {
          if (interval === 'minute' && range.since === '3d') continue;
          const input = { ...range, site, interval };
          const got = await runReport(w.client, 'active-visitors', input, { now: NOW });
          expect(got.rows.length).toBeGreaterThan(0);
          expect(got.rows, JSON.stringify(input)).toEqual(await reference('active-visitors', input));
        }
      }
    }
    // not all zeros
    const day = await runReport(w.client, 'active-visitors', { since: '3d', interval: 'day' }, { now: NOW });
    expect(day.rows.some((r) => Number(r.visitors) > 0 && Number(r.sessions) > 0)).toBe(true);
  });
});

/**
 * 0005: the closer keeps per-hour outcomes of the closed hours and the two
 * reports read them for [since, horizon), computing only the rest. Every
 * step must leave the reports equal to the reference SQL on raw events:
 * after the first close, after events arriving late into closed hours (and
 * clicks that pair with searches already closed) once the closer re-ran,
 * and after a consent purge of a visitor with closed searches.
 */
describe('search outcomes of closed hours (0005) give the same answers', () => {
  const RANGES_0005: Record<string, string>[] = [
    ...RANGES,
    // aligned since, across the horizon (2026-11-21 11:00 with the default allowance)
    { since: '2026-11-21T09:00:00Z' },
    // within one closed hour
    { since: '2026-11-20T10:05:00Z', until: '2026-11-20T10:50:00Z' },
    // ends on an hour boundary before the horizon
    { since: '2026-11-19T23:30:00Z', until: '2026-11-20T06:00:00Z' },
  ];
  const REPORTS_0005 = ['content-gaps', 'search-conversion'];

  async function mismatches(): Promise<string[]> {
    const bad: string[] = [];
    for (const name of REPORTS_0005) {
      for (const range of RANGES_0005) {
        for (const site of [...SITES, 'shop-b']) {
          for (const extra of [{}, { keyword: 'HUMID' }, { limit: '2' }] as Record<string, string>[]) {
            const input = { ...range, site, ...extra };
            const got = await runReport(w.client, name, input, { now: NOW, timeoutMs: 120_000 });
            const want = await reference(name, input);
            if (JSON.stringify(got.rows) !== JSON.stringify(want)) bad.push(`${name} ${JSON.stringify(input)}`);
          }
        }
      }
    }
    return bad;
  }

  async function cachedRows(): Promise<number> {
    const rs = await w.client.query({ query: 'SELECT count() AS n FROM activity.search_outcomes_hourly', format: 'JSONEachRow' });
    return Number((await rs.json<{ n: number }>())[0]!.n);
  }

  it('first close: hours up to now - 30 min - 1 h are cached, the reports still match', async () => {
    const r = await closeSearchOutcomes(w.client, { now: NOW, inFlightMarginMs: 0 });
    expect(r.horizon).toBe('2026-11-21T11:00:00.000Z');
    expect(r.days).toEqual(['2026-11-18', '2026-11-19', '2026-11-20', '2026-11-21']);
    expect(await cachedRows()).toBeGreaterThan(50);
    expect(await mismatches()).toEqual([]);
    // A second run with nothing new rewrites nothing and changes nothing.
    const again = await closeSearchOutcomes(w.client, { now: NOW, inFlightMarginMs: 0 });
    expect(again.days).toEqual([]);
    expect(await mismatches()).toEqual([]);
  });

  it('late rows into closed hours are re-closed by the next run (and until then the cache is what answers)', async () => {
    // Late events: a click 10 minutes after each of some closed searches that
    // had none (same session, site and visitor), and new searches in closed
    // hours, in separate inserts as the processor writes them.
    const searches = events.filter(
      (e) => e.type === 'search' && e.is_bot === 0 && e.date < Date.parse('2026-11-21T10:00:00Z') && e.search_keyword.trim() !== '',
    );
    const late: EventRow[] = [];
    for (const s of searches.filter((_, i) => i % 3 === 0)) {
      late.push({
        ...s,
        event_id: `late-c-${late.length}`,
        type: 'click',
        date: s.date + 600_000,
        received_at: NOW,
        search_keyword: '',
        results_count: null,
        product_id: 'sku-late',
      });
    }
    const lateSearches = searches
      .filter((_, i) => i % 4 === 1)
      .map((s, i) => ({ ...s, event_id: `late-s-${i}`, date: s.date + 60_000, received_at: NOW, search_keyword: 'Late Kettle' }));
    await insert(lateSearches, 'equiv:late-searches');
    await insert(late, 'equiv:late-clicks');
    // The cache still holds the hours as closed before: the reports differ from the raw events.
    const stale = await mismatches();
    expect(stale.length).toBeGreaterThan(0);

    const r = await closeSearchOutcomes(w.client, { now: NOW, inFlightMarginMs: 0 });
    expect(r.lateDays.length).toBeGreaterThan(0);
    expect(r.horizon).toBe('2026-11-21T11:00:00.000Z');
    expect(await mismatches()).toEqual([]);
    const kettle = await runReport(w.client, 'content-gaps', { since: '3d', keyword: 'late kettle' }, { now: NOW });
    expect(kettle.rows.length).toBe(1);
  });

  it('the horizon moves with the clock and closes the new hours only', async () => {
    const later = NOW + 3 * 3_600_000;
    const r = await closeSearchOutcomes(w.client, { now: later, inFlightMarginMs: 0 });
    expect(r.horizon).toBe('2026-11-21T14:00:00.000Z');
    expect(r.days).toEqual(['2026-11-21']);
    expect(r.lateDays).toEqual([]);
    for (const name of REPORTS_0005) {
      for (const site of SITES) {
        const input = { since: '2026-11-20T08:00:00Z', until: '2026-11-21T15:00:00Z', site };
        const got = await runReport(w.client, name, input, { now: later });
        expect(got.rows, JSON.stringify(input)).toEqual(await reference(name, input));
      }
    }
  });

  it('a consent purge re-closes the days of the purged visitor: it leaves the cached counts and visitors', async () => {
    // The visitor with the most searches in closed hours.
    const rs = await w.client.query({
      query: `SELECT user_key FROM activity.search_clicks WHERE kind = 0 AND date < '2026-11-21 10:00:00' AND keyword != ''
              GROUP BY user_key ORDER BY count() DESC, user_key LIMIT 1`,
      format: 'JSONEachRow',
    });
    const user_key = (await rs.json<{ user_key: string }>())[0]?.user_key;
    expect(user_key).toBeTruthy();
    const before = await runReport(w.client, 'content-gaps', { since: '3d', limit: '1000' }, { now: NOW });
    // What processors/analytics/src/purge.ts does: days first, delete from
    // every table keyed by visitor, then re-close.
    const days = await searchOutcomeDaysOf(w.client, [user_key!]);
    expect(days.length).toBeGreaterThan(0);
    for (const table of ['events', 'search_clicks']) {
      await w.client.command({
        query: `ALTER TABLE activity.${table} DELETE WHERE user_key IN {keys:Array(String)} SETTINGS mutations_sync = 2`,
        query_params: { keys: [user_key!] },
      });
    }
    await recloseSearchOutcomeDays(w.client, days);
    const after = await runReport(w.client, 'content-gaps', { since: '3d', limit: '1000' }, { now: NOW });
    const total = (rows: typeof after.rows) => rows.reduce((n, r) => n + Number(r.searches), 0);
    expect(total(after.rows)).toBeLessThan(total(before.rows));
    expect(await mismatches()).toEqual([]);
  });
});

import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FIXTURE, loadFixture } from '../fixtures.ts';
import { startReportsApp } from './harness.ts';

let app: Awaited<ReturnType<typeof startReportsApp>>;
const RANGE = { since: '2026-11-20T10:00:00Z', until: '2026-11-20T12:00:00Z', site: 'shop-a' };

beforeAll(async () => {
  app = await startReportsApp();
  await loadFixture(app.warehouse.client);
});
afterAll(async () => {
  await app?.close();
});

async function get(name: string, params: Record<string, string> = {}) {
  const q = new URLSearchParams(params);
  const res = await fetch(`${app.baseUrl}/v1/reports/${encodeURIComponent(name)}?${q}`);
  return { status: res.status, body: (await res.json()) as { rows: Record<string, unknown>[]; error?: { code: string; message: string } } };
}
async function rows(name: string, params: Record<string, string> = {}) {
  const r = await get(name, { ...RANGE, ...params });
  expect(r.status, JSON.stringify(r.body)).toBe(200);
  return r.body.rows;
}

describe('reports over a freshly migrated database with known data', () => {
  it('top-searches normalizes keywords, counts each search once, counts distinct visitors and drops bots and other sites', async () => {
    expect(await rows('top-searches')).toEqual([
      { keyword: 'humidifier', searches: 3, visitors: 2 },
      { keyword: 'cool mist humidifier', searches: 1, visitors: 1 },
      { keyword: 'desk lamp', searches: 1, visitors: 1 },
    ]);
  });

  it('top-searches honours until (whole hours) and the keyword filter', async () => {
    expect(await rows('top-searches', { until: '2026-11-20T11:00:00Z' })).toEqual([
      { keyword: 'humidifier', searches: 3, visitors: 2 },
      { keyword: 'desk lamp', searches: 1, visitors: 1 },
    ]);
    expect(await rows('top-searches', { keyword: ' Cool  MIST ' })).toEqual([
      { keyword: 'cool mist humidifier', searches: 1, visitors: 1 },
    ]);
  });

  it('top-searches over several days adds whole days from daily rollups to the hours at the edges', async () => {
    const expected = [
      { keyword: 'humidifier', searches: 5, visitors: 4 },
      { keyword: 'cool mist humidifier', searches: 1, visitors: 1 },
      { keyword: 'desk lamp', searches: 1, visitors: 1 },
    ];
    expect(await rows('top-searches', { since: '2026-11-19T23:10:00Z', until: '2026-11-21T00:30:00Z' })).toEqual(expected);
    expect(await rows('top-searches', { since: '2026-11-19', until: '2026-11-22' })).toEqual(expected);
    expect(await rows('top-searches', { since: '2026-11-20', until: '2026-11-21' })).toEqual([
      { keyword: 'humidifier', searches: 3, visitors: 2 },
      { keyword: 'cool mist humidifier', searches: 1, visitors: 1 },
      { keyword: 'desk lamp', searches: 1, visitors: 1 },
    ]);
  });

  it('content-gaps lists searches not followed by a click in the same session within 30 minutes', async () => {
    expect(await rows('content-gaps')).toEqual([
      { keyword: 'cool mist humidifier', searches: 1, searches_without_click: 1, no_click_rate: 1, zero_result_searches: 1, visitors: 1 },
      { keyword: 'desk lamp', searches: 1, searches_without_click: 1, no_click_rate: 1, zero_result_searches: 0, visitors: 1 },
      { keyword: 'humidifier', searches: 3, searches_without_click: 1, no_click_rate: 0.3333, zero_result_searches: 0, visitors: 2 },
    ]);
  });

  it('search-conversion counts a search as converted only when a product click follows within 30 minutes', async () => {
    expect(await rows('search-conversion')).toEqual([
      { keyword: 'humidifier', searches: 3, converted: 1, conversion_rate: 0.3333 },
      { keyword: 'cool mist humidifier', searches: 1, converted: 0, conversion_rate: 0 },
      { keyword: 'desk lamp', searches: 1, converted: 0, conversion_rate: 0 },
    ]);
  });

  it('scroll-depth gives the distribution per page in 25 % buckets', async () => {
    expect(await rows('scroll-depth')).toEqual([
      { page: '/deals/', depth_pct: 25, scrolls: 1, visitors: 1 },
      { page: '/deals/', depth_pct: 75, scrolls: 1, visitors: 1 },
      { page: '/deals/', depth_pct: 100, scrolls: 1, visitors: 1 },
      { page: '/p/1', depth_pct: 0, scrolls: 1, visitors: 1 },
    ]);
    expect(await rows('scroll-depth', { page: '/p/1' })).toEqual([{ page: '/p/1', depth_pct: 0, scrolls: 1, visitors: 1 }]);
  });

  it('active-visitors gives events, page views, visitors and sessions per hour', async () => {
    const mine = FIXTURE.filter((r) => r.site === 'shop-a' && !r.is_bot);
    const expected = ['10', '11'].map((h) => {
      const inHour = mine.filter((r) => new Date(r.date).getUTCHours() === Number(h));
      return {
        time: `2026-11-20 ${h}:00:00`,
        events: inHour.length,
        page_views: inHour.filter((r) => r.type === 'page_view').length,
        visitors: new Set(inHour.map((r) => r.user_key)).size,
        sessions: new Set(inHour.map((r) => r.session_id)).size,
      };
    });
    expect(await rows('active-visitors', { interval: 'hour' })).toEqual(expected);
    const perMinute = await rows('active-visitors', { since: '2026-11-20T10:00:00Z', until: '2026-11-20T10:10:00Z' });
    // Every minute of the range, zeros where nothing happened.
    expect(perMinute.map((r) => `${String(r.time).slice(14, 16)}:${r.events}`)).toEqual([
      '00:0',
      '01:1',
      '02:1',
      '03:1',
      '04:1',
      '05:1',
      '06:0',
      '07:1',
      '08:0',
      '09:0',
    ]);
  });

  it('top-clicks ranks products, promotions and elements', async () => {
    expect(await rows('top-clicks')).toEqual([
      { kind: 'promotion', target: 'promo-1', label: '', clicks: 2, visitors: 2 },
      { kind: 'element', target: '#nav', label: 'Home', clicks: 1, visitors: 1 },
      { kind: 'product', target: 'sku-1', label: 'Buy', clicks: 1, visitors: 1 },
      { kind: 'product', target: 'sku-2', label: 'Add', clicks: 1, visitors: 1 },
      { kind: 'promotion', target: 'promo-2', label: '', clicks: 1, visitors: 1 },
    ]);
    expect((await rows('top-clicks', { kind: 'product', limit: '1' })).map((r) => r.target)).toEqual(['sku-1']);
  });

  it('top-pages counts page views and distinct visitors', async () => {
    expect(await rows('top-pages')).toEqual([
      { page: '/deals/', page_views: 3, visitors: 2 },
      { page: '/p/1', page_views: 1, visitors: 1 },
    ]);
  });

  it('promotions gives impressions, clicks and CTR per promotion, personalized vs default', async () => {
    expect(await rows('promotions')).toEqual([
      { promotion_id: 'promo-1', variant: 'personalized', impressions: 2, clicks: 1, ctr: 0.5 },
      { promotion_id: 'promo-3', variant: 'default', impressions: 2, clicks: 0, ctr: 0 },
      { promotion_id: 'promo-1', variant: 'default', impressions: 1, clicks: 1, ctr: 1 },
      { promotion_id: 'promo-2', variant: 'personalized', impressions: 1, clicks: 1, ctr: 1 },
    ]);
  });

  it('promotion-lift compares personalized with default click-through', async () => {
    const r = await rows('promotion-lift');
    expect(r.map(({ variant, impressions, clicks, ctr, lift }) => ({ variant, impressions, clicks, ctr, lift }))).toEqual([
      { variant: 'default', impressions: 3, clicks: 1, ctr: 0.3333, lift: 0 },
      { variant: 'personalized', impressions: 3, clicks: 2, ctr: 0.6667, lift: 1 },
    ]);
  });
});

describe('report requests that are wrong or hostile', () => {
  it('answers 400 with a clear message for an unknown report, unknown parameter or bad value', async () => {
    const cases: [string, Record<string, string>, RegExp][] = [
      ['no-such-report', {}, /unknown report "no-such-report"; available: top-searches/],
      ['top-searches', { color: 'red' }, /unknown parameter "color" for report top-searches/],
      ['top-searches', { since: 'yesterday' }, /parameter since expected a relative time/],
      ['top-searches', { since: '1h', until: '2h' }, /since must be before until/],
      ['top-searches', { limit: '0' }, /limit must be a whole number from 1 to 1000/],
      ['top-searches', { limit: '10; DROP TABLE activity.events' }, /limit must be a whole number/],
      ['top-clicks', { kind: "product' OR 1=1" }, /kind must be product, promotion or element/],
      ['active-visitors', { interval: 'week' }, /interval must be minute, hour or day/],
      ['top-searches', { keyword: 'a\u0000b' }, /keyword contains control characters/],
    ];
    for (const [name, params, message] of cases) {
      const r = await get(name, params);
      expect(r.status, `${name} ${JSON.stringify(params)}`).toBe(400);
      expect(r.body.error?.message).toMatch(message);
    }
    const twice = await fetch(`${app.baseUrl}/v1/reports/top-searches?site=a&site=b`);
    expect(twice.status).toBe(400);
  });

  it('treats injection attempts and unicode quotes in filters as plain values: empty results, never a syntax error', async () => {
    const hostile = [
      "' OR 1=1 --",
      "shop-a' --",
      '\u2018shop-a\u2019',
      '\u201cshop-a\u201d',
      "'; DROP TABLE activity.events; --",
      '\\',
      '{site:String}',
      '%',
      '`shop-a`',
    ];
    for (const value of hostile) {
      for (const [name, param] of [
        ['top-searches', 'site'],
        ['top-searches', 'keyword'],
        ['content-gaps', 'keyword'],
        ['scroll-depth', 'page'],
        ['top-pages', 'page'],
        ['search-conversion', 'site'],
      ] as const) {
        const r = await get(name, { ...RANGE, [param]: value });
        expect(r.status, `${name} ${param}=${value}`).toBe(200);
        if (param === 'site' || value !== '%') expect(r.body.rows, `${name} ${param}=${value}`).toEqual([]);
      }
    }
    // The data is untouched.
    expect(await rows('top-pages')).toHaveLength(2);
  });

  it('lists the catalog of reports with their parameters', async () => {
    const res = await fetch(`${app.baseUrl}/v1/reports`);
    const body = (await res.json()) as { reports: { name: string; params: string[] }[] };
    expect(body.reports.map((r) => r.name)).toContain('top-searches');
    expect(body.reports.find((r) => r.name === 'top-searches')!.params).toEqual(['since', 'until', 'site', 'limit', 'keyword']);
  });
});

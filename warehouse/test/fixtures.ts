/**
 * Known activity for the report tests: a few visitors on `shop-a` searching,
 * clicking, scrolling and seeing promotions on 2026-11-20 between 10:00 and
 * 12:00 UTC, plus noise (another site, a bot) that the filters must drop.
 */
import type { EventRow } from '@storepulse/contracts';
import type { ClickHouseClient } from '@clickhouse/client';

export const NOW = Date.parse('2026-11-20T12:00:00Z');
const at = (hhmm: string) => Date.parse(`2026-11-20T${hhmm}:00Z`);
let n = 0;

function row(over: Partial<EventRow> & Pick<EventRow, 'type' | 'date'>): EventRow {
  n++;
  const anon = over.anonymous_id ?? 'a-x';
  return {
    event_id: `e-${String(n).padStart(4, '0')}`,
    received_at: over.date,
    site: 'shop-a',
    user_key: `a:${anon}`,
    user_id: '',
    anonymous_id: anon,
    session_id: '',
    user_verified: 0,
    page_url: '',
    page_path: '',
    referrer: '',
    search_keyword: '',
    results_count: null,
    element_tag: '',
    element_id: '',
    element_text: '',
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
    ...(over.anonymous_id ? { user_key: `a:${over.anonymous_id}` } : {}),
  };
}

const v = (id: string, session: string) => ({ anonymous_id: id, session_id: session });

export const FIXTURE: EventRow[] = [
  // searches
  row({ type: 'search', date: at('10:05'), ...v('v1', 's1'), search_keyword: 'Humidifier', page_path: '/deals/' }),
  row({ type: 'search', date: at('10:10'), ...v('v2', 's2'), search_keyword: '  humidifier ' }),
  row({ type: 'search', date: at('10:20'), ...v('v1', 's1'), search_keyword: 'HUMIDIFIER' }),
  row({ type: 'search', date: at('10:30'), ...v('v3', 's3'), search_keyword: 'desk   lamp' }),
  row({ type: 'search', date: at('11:00'), ...v('v4', 's4'), search_keyword: 'cool mist humidifier', results_count: 0 }),
  row({ type: 'search', date: at('10:06'), ...v('v9', 's9'), search_keyword: 'humidifier', site: 'shop-b' }),
  // the evening before and just after midnight, for ranges over whole days
  row({ type: 'search', date: Date.parse('2026-11-19T23:40:00Z'), ...v('v10', 's11'), search_keyword: 'Humidifier' }),
  row({ type: 'search', date: Date.parse('2026-11-21T00:20:00Z'), ...v('v11', 's12'), search_keyword: 'humidifier' }),
  row({ type: 'search', date: at('10:07'), ...v('bot', 'sb'), search_keyword: 'humidifier', is_bot: 1 }),
  // clicks
  row({ type: 'click', date: at('10:07'), ...v('v1', 's1'), product_id: 'sku-1', element_tag: 'a', element_text: 'Buy' }),
  row({ type: 'click', date: at('10:12'), ...v('v2', 's2'), element_id: 'nav', element_tag: 'a', element_text: 'Home' }),
  row({ type: 'click', date: at('11:45'), ...v('v4', 's4'), product_id: 'sku-2', element_tag: 'button', element_text: 'Add' }),
  row({ type: 'click', date: at('10:40'), ...v('v5', 's5'), promotion_id: 'promo-1', personalized: 1 }),
  row({ type: 'click', date: at('10:41'), ...v('v6', 's6'), promotion_id: 'promo-1', personalized: 0 }),
  row({ type: 'click', date: at('10:52'), ...v('v5', 's5'), promotion_id: 'promo-2', personalized: 1 }),
  // page views
  row({ type: 'page_view', date: at('10:01'), ...v('v1', 's1'), page_path: '/deals/' }),
  row({ type: 'page_view', date: at('10:02'), ...v('v2', 's2'), page_path: '/deals/' }),
  row({ type: 'page_view', date: at('11:10'), ...v('v1', 's7'), page_path: '/deals/' }),
  row({ type: 'page_view', date: at('10:31'), ...v('v3', 's3'), page_path: '/p/1' }),
  row({ type: 'page_view', date: at('10:31'), ...v('bot', 'sb'), page_path: '/deals/', is_bot: 1 }),
  // scrolls
  row({ type: 'scroll', date: at('10:03'), ...v('v1', 's1'), page_path: '/deals/', depth_pct: 30 }),
  row({ type: 'scroll', date: at('10:04'), ...v('v2', 's2'), page_path: '/deals/', depth_pct: 80 }),
  row({ type: 'scroll', date: at('11:11'), ...v('v1', 's7'), page_path: '/deals/', depth_pct: 100 }),
  row({ type: 'scroll', date: at('10:32'), ...v('v3', 's3'), page_path: '/p/1', depth_pct: 10 }),
  // promotion impressions
  row({ type: 'promotion_view', date: at('10:39'), ...v('v5', 's5'), promotion_ids: ['promo-1', 'promo-2'], personalized: 1 }),
  row({ type: 'promotion_view', date: at('10:50'), ...v('v7', 's8'), promotion_ids: ['promo-1'], personalized: 1 }),
  row({ type: 'promotion_view', date: at('10:40'), ...v('v6', 's6'), promotion_ids: ['promo-1', 'promo-3'], personalized: 0 }),
  row({ type: 'promotion_view', date: at('11:20'), ...v('v8', 's10'), promotion_ids: ['promo-3'], personalized: 0 }),
];

function chDate(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/**
 * Inserts the fixture. `shiftMs` moves every time by that much (whole days keep the hour
 * buckets): the dashboard asks for "the last 7 days", which the fixed 2026-11-20 leaves behind.
 */
export async function loadFixture(client: ClickHouseClient, shiftMs = 0): Promise<void> {
  await client.insert({
    table: 'activity.events',
    values: FIXTURE.map((r) => ({ ...r, date: chDate(r.date + shiftMs), received_at: chDate(r.received_at + shiftMs) })),
    format: 'JSONEachRow',
  });
}

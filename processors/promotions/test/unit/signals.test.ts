import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/catalog.ts';
import { DEFAULT_CATALOG_PATH, loadPromotionsConfig } from '../../src/config.ts';
import { InvalidEventError } from '../../src/errors.ts';
import { decodeReason } from '../../src/profile.ts';
import { extractSignal, parseEvent, visitorKey } from '../../src/signals.ts';

const index = parseCatalog(readFileSync(DEFAULT_CATALOG_PATH, 'utf8')).index;
const { weights } = loadPromotionsConfig({});
const T = Date.parse('2026-11-22T00:00:00Z');
const base = {
  event_id: 'e1',
  date: T,
  received_at: T,
  anonymous_id: 'anon-1',
  user_id: null,
  user_verified: false,
  context: { is_bot: false },
};
const ev = (over: Record<string, unknown>) => parseEvent(JSON.stringify({ ...base, ...over }));
const signal = (over: Record<string, unknown>) => extractSignal(ev(over), index, weights, 60_000);

describe('parsing Kafka messages', () => {
  it('accepts an enriched event and keeps unknown fields', () => {
    const e = ev({ type: 'search', search_keyword: 'fan', extra: 1 });
    expect(e.type).toBe('search');
  });

  it.each([
    ['an empty message', null, 'empty_message'],
    ['text that is not JSON', '{oops', 'invalid_json'],
    ['JSON that is not an event', '[1,2]', 'invalid_event'],
    ['an unknown type', JSON.stringify({ ...base, type: 'teleport' }), 'invalid_event'],
    ['a missing event_id', JSON.stringify({ ...base, event_id: undefined, type: 'search' }), 'invalid_event'],
    ['a date that is not a number', JSON.stringify({ ...base, type: 'search', date: 'yesterday' }), 'invalid_event'],
    ['an is_bot that is not boolean', JSON.stringify({ ...base, type: 'search', context: { is_bot: 'no' } }), 'invalid_event'],
  ])('rejects %s with a code', (_n, value, code) => {
    try {
      parseEvent(value === null ? null : Buffer.from(value));
      throw new Error('expected a rejection');
    } catch (err) {
      expect(err).toBeInstanceOf(InvalidEventError);
      expect((err as InvalidEventError).code).toBe(code);
      expect((err as InvalidEventError).retriable).toBe(false);
    }
  });
});

describe('visitor keys', () => {
  it('uses the user id only when it is proven', () => {
    expect(visitorKey(ev({ type: 'search', user_id: 'bob@example.com', user_verified: true }))).toBe('u:bob@example.com');
    expect(visitorKey(ev({ type: 'search', user_id: 'bob@example.com', user_verified: false }))).toBe('a:anon-1');
    expect(visitorKey(ev({ type: 'search' }))).toBe('a:anon-1');
  });
});

describe('signals', () => {
  it('weighs a search over a click over a page view over a scroll', () => {
    const w = (over: Record<string, unknown>) => signal(over).contributions.find((c) => c.term === 'humidifier')?.weight ?? 0;
    const s = w({ type: 'search', search_keyword: 'humidifier' });
    const c = w({ type: 'click', element: { product_id: 'p-hum-004' } });
    const v = w({ type: 'page_view', page_path: '/category/humidifiers' });
    const sc = w({ type: 'scroll', page_path: '/category/humidifiers', depth_pct: 50 });
    expect(s).toBeGreaterThan(c);
    expect(c).toBeGreaterThan(v);
    expect(v).toBeGreaterThan(sc);
    expect(sc).toBeGreaterThan(0);
  });

  it('remembers what the shopper typed as the reason', () => {
    const [first] = signal({ type: 'search', search_keyword: '  Humidifers ' }).contributions.filter((c) => c.term === 'humidifier');
    expect(decodeReason(first!.reason)).toEqual({ date: T, kind: 'search', text: 'Humidifers' });
  });

  it('weighs a typo match less than an exact match', () => {
    const exact = signal({ type: 'search', search_keyword: 'humidifier' }).contributions.find((c) => c.term === 'humidifier');
    const typo = signal({ type: 'search', search_keyword: 'humidifer' }).contributions.find((c) => c.term === 'humidifier');
    expect(typo!.weight).toBeLessThan(exact!.weight);
  });

  it('ignores bots', () => {
    expect(signal({ type: 'search', search_keyword: 'humidifier', context: { is_bot: true } }).contributions).toEqual([]);
  });

  it.each(['form_submit', 'identify', 'promotion_view', 'purchase'])('finds no interest in %s events', (type) => {
    expect(signal({ type, search_keyword: 'humidifier', page_path: '/category/humidifiers' }).contributions).toEqual([]);
  });

  it('reads clicks on products, categories, promotions, links and text', () => {
    const terms = (over: Record<string, unknown>) => signal({ type: 'click', ...over }).contributions.map((c) => c.term);
    expect(terms({ element: { product_id: 'p-pur-002' } })).toContain('air purifier');
    expect(terms({ element: { category: 'fans' } })).toContain('fan');
    expect(terms({ element: { promotion_id: 'cof-espresso' } })).toContain('espresso');
    expect(terms({ element: { href: '/category/vacuums' } })).toContain('vacuum');
    expect(terms({ element: { text: 'Shop heaters' } })).toContain('heater');
  });

  it('clamps a future event date to the receive time plus the allowed skew', () => {
    expect(signal({ type: 'search', search_keyword: 'fan', date: T + 86_400_000 }).date).toBe(T + 60_000);
  });

  it('finds nothing when the search matches no promotion', () => {
    expect(signal({ type: 'search', search_keyword: 'garden gnome' }).contributions).toEqual([]);
  });
});

import { describe, expect, it } from 'vitest';
import type { RequestContext } from '../../src/enrich.ts';
import { buildRecords } from '../../src/batch.ts';

const ctx: RequestContext = {
  receivedAt: 1_800_000_000_000,
  sentAt: 1_800_000_000_000,
  site: 'shop',
  userAgent: 'Mozilla/5.0',
  isBot: false,
  country: undefined,
  userToken: undefined,
  identitySecret: 'secret-secret',
  maxAgeMs: 86_400_000,
  maxFutureMs: 60_000,
};
const ev = (extra: Record<string, unknown>) => ({
  event_id: `e${Math.random()}`,
  timestamp: ctx.receivedAt - 10,
  anonymous_id: 'anon-1',
  ...extra,
});

describe('buildRecords', () => {
  it('routes each valid event to its prefixed topic keyed by user_id, else anonymous_id', () => {
    const out = buildRecords(
      [
        ev({ type: 'search', search_keyword: 'humidifier', user_id: 'u1' }),
        ev({ type: 'scroll', depth_pct: 10 }),
        ev({ type: 'add_to_cart', product_id: 'p' }),
      ],
      ctx,
      'p_',
      'wk_shop',
    );
    expect(out.records.map((r) => [r.topic, r.key])).toEqual([
      ['p_searches', 'u1'],
      ['p_scrolls', 'anon-1'],
      ['p_carts', 'anon-1'],
    ]);
    expect(out.accepted).toBe(3);
    expect(out.rejected).toEqual([]);
    expect(JSON.parse(out.records[0]!.value.toString())).toMatchObject({
      site: 'shop',
      search_keyword: 'humidifier',
      date: ctx.receivedAt - 10,
    });
    expect(out.acceptedByType.get('search')).toBe(1);
  });

  it('dead-letters invalid events with reason, payload, write key and time, and lists them by index', () => {
    const bad = ev({ type: 'scroll', depth_pct: 'deep' });
    const out = buildRecords([ev({ type: 'page_view' }), bad, 'not an event'], ctx, '', 'wk_shop');
    expect(out.accepted).toBe(1);
    expect(out.rejected.map((r) => r.index)).toEqual([1, 2]);
    expect(out.rejected[0]!.error).toContain('depth_pct');
    const dead = out.records.filter((r) => r.topic === 'invalid_events');
    expect(dead).toHaveLength(2);
    expect(JSON.parse(dead[0]!.value.toString())).toMatchObject({
      source: 'ingest',
      code: 'invalid_field',
      write_key: 'wk_shop',
      site: 'shop',
      received_at: ctx.receivedAt,
      payload: bad,
    });
    expect(dead[0]!.key).toBe('anon-1');
    expect(JSON.parse(dead[1]!.value.toString())).toMatchObject({ code: 'not_an_object', payload: 'not an event' });
    expect(out.rejectedByCode.get('invalid_field')).toBe(1);
  });
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { EVENT_SCHEMAS, EVENT_TYPES, LIMITS, validateWireEvent } from '../../src/index.ts';

const base = { event_id: 'e-1', timestamp: 1763800000101, anonymous_id: 'a-1' };
const valid: Record<string, Record<string, unknown>> = {
  page_view: { ...base, type: 'page_view', page_url: '/deals/' },
  click: { ...base, type: 'click', element: { tag: 'a', product_id: 'p1' } },
  search: { ...base, type: 'search', search_keyword: 'humidifier', results_count: 3 },
  scroll: { ...base, type: 'scroll', depth_pct: 50 },
  form_submit: { ...base, type: 'form_submit', form: { id: 'f', fields: ['email'] } },
  identify: { ...base, type: 'identify', user_id: 'u@example.com', traits: { plan: 'gold' } },
  promotion_view: { ...base, type: 'promotion_view', promotion_ids: ['p1'], personalized: false },
  add_to_cart: { ...base, type: 'add_to_cart', product_id: 'p1', value: 9.5, currency: 'EUR' },
  purchase: { ...base, type: 'purchase', value: 20, currency: 'USD' },
};

describe('wire event schemas', () => {
  it('has one schema per event type', () => {
    expect(Object.keys(EVENT_SCHEMAS).sort()).toEqual([...EVENT_TYPES].sort());
  });

  it.each(EVENT_TYPES.map((t) => [t]))('accepts a well-formed %s event', (type) => {
    const r = validateWireEvent(valid[type]);
    expect(r.ok).toBe(true);
  });

  it('requires event_id, timestamp and anonymous_id on every type', () => {
    for (const field of ['event_id', 'timestamp', 'anonymous_id']) {
      const e = { ...valid.page_view };
      delete e[field];
      const r = validateWireEvent(e);
      expect(r).toMatchObject({ ok: false, code: 'invalid_field' });
      expect(r.ok ? '' : r.reason).toContain(field);
    }
  });

  it('requires the type-specific fields', () => {
    expect(validateWireEvent({ ...base, type: 'search' })).toMatchObject({ ok: false, reason: expect.stringContaining('search_keyword') });
    expect(validateWireEvent({ ...base, type: 'search', search_keyword: '   ' })).toMatchObject({ ok: false });
    expect(validateWireEvent({ ...base, type: 'scroll', depth_pct: 101 })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('depth_pct'),
    });
    expect(validateWireEvent({ ...base, type: 'identify' })).toMatchObject({ ok: false, reason: expect.stringContaining('user_id') });
    expect(validateWireEvent({ ...base, type: 'promotion_view', promotion_ids: [] })).toMatchObject({ ok: false });
    expect(validateWireEvent({ ...base, type: 'click' })).toMatchObject({ ok: false, reason: expect.stringContaining('element') });
  });

  it('names an unknown type and a non-object event', () => {
    expect(validateWireEvent({ ...base, type: 'teleport' })).toMatchObject({
      ok: false,
      code: 'unknown_type',
      reason: expect.stringContaining('"teleport"'),
    });
    expect(validateWireEvent({ ...base, type: 'toString' })).toMatchObject({ ok: false, code: 'unknown_type' });
    expect(validateWireEvent([1])).toMatchObject({ ok: false, code: 'not_an_object' });
    expect(validateWireEvent(null)).toMatchObject({ ok: false, code: 'not_an_object' });
  });

  it('caps string lengths', () => {
    expect(validateWireEvent({ ...valid.search, search_keyword: 'x'.repeat(LIMITS.keywordChars + 1) })).toMatchObject({ ok: false });
    expect(validateWireEvent({ ...valid.page_view, page_url: 'x'.repeat(LIMITS.urlChars + 1) })).toMatchObject({ ok: false });
    expect(validateWireEvent({ ...valid.page_view, event_id: 'x'.repeat(LIMITS.eventIdChars + 1) })).toMatchObject({ ok: false });
  });

  it('keeps properties flat and size-capped', () => {
    expect(validateWireEvent({ ...valid.page_view, properties: { a: 1, b: 'x', c: true, d: null } }).ok).toBe(true);
    expect(validateWireEvent({ ...valid.page_view, properties: { nested: { a: 1 } } }).ok).toBe(false);
    expect(validateWireEvent({ ...valid.page_view, properties: { list: [1] } }).ok).toBe(false);
    const many = Object.fromEntries(Array.from({ length: LIMITS.propertyKeys + 1 }, (_, i) => [`k${i}`, i]));
    expect(validateWireEvent({ ...valid.page_view, properties: many })).toMatchObject({
      ok: false,
      reason: expect.stringContaining('at most'),
    });
    expect(validateWireEvent({ ...valid.page_view, properties: { a: 'x'.repeat(LIMITS.propertyValueChars + 1) } }).ok).toBe(false);
  });

  it('drops unknown fields instead of forwarding them', () => {
    const r = validateWireEvent({ ...valid.search, ip: '1.2.3.4', huge: 'x'.repeat(10_000) });
    expect(r.ok).toBe(true);
    if (r.ok) {
      expect(r.event).not.toHaveProperty('ip');
      expect(r.event).not.toHaveProperty('huge');
    }
  });

  it('never throws, whatever the input', () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.jsonValue(),
          fc.record({
            type: fc.constantFrom(...EVENT_TYPES),
            event_id: fc.jsonValue(),
            timestamp: fc.jsonValue(),
            anonymous_id: fc.jsonValue(),
          }),
        ),
        (v) => {
          const r = validateWireEvent(v);
          expect(typeof r.ok).toBe('boolean');
          if (!r.ok) expect(r.reason.length).toBeGreaterThan(0);
        },
      ),
      { numRuns: 500 },
    );
  });
});

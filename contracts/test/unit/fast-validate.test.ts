import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EVENT_SCHEMAS,
  EVENT_TYPES,
  FAST_VALIDATED_TYPES,
  LIMITS,
  fastValidateWireEvent,
  validateWireEvent,
  type EventType,
} from '../../src/index.ts';

/**
 * The fast path of validateWireEvent against the zod schemas (the reference):
 * on generated events, valid and broken in every field, both must accept the
 * same events with the same output (same keys, same order, same values), and
 * validateWireEvent must answer exactly what zod alone answers.
 */

function zodOnly(raw: unknown): { ok: true; json: string } | { ok: false } {
  const type = (raw as { type?: unknown }).type;
  const r = EVENT_SCHEMAS[type as EventType].safeParse(raw);
  return r.success ? { ok: true, json: JSON.stringify(r.data) } : { ok: false };
}

// Strings around every length limit, with spaces (the keyword is trimmed) and astral characters (UTF-16 length).
const LENGTHS = [0, 1, 2, 3, 4, 31, 32, 33, 34, 35, 36, 63, 64, 65, 127, 128, 129, 255, 256, 257, 258, 511, 512, 513, 2047, 2048, 2049];
const sizedString = fc
  .tuple(fc.constantFrom(...LENGTHS), fc.constantFrom('x', ' ', 'pad', '😀', 'A'))
  .map(([n, kind]) =>
    kind === 'pad'
      ? ` ${'y'.repeat(Math.max(0, n - 2))} `.slice(0, n)
      : kind === '😀'
        ? '😀'.repeat(Math.floor(n / 2)) + (n % 2 ? 'z' : '')
        : kind.repeat(n),
  );
const currencyLike = fc.constantFrom('EUR', 'USD', 'eur', 'EURO', 'EU', '', 'E1R', 'ÉUR');
const number = fc.oneof(
  fc.constantFrom(
    -1,
    0,
    -0,
    1,
    1.5,
    50,
    99.999,
    100,
    100.001,
    2 ** 53 - 1,
    2 ** 53,
    7_258_118_400_000,
    7_258_118_400_001,
    1_763_800_000_101,
    Infinity,
    -Infinity,
    Number.NaN,
  ),
  fc.integer(),
  fc.double(),
);
const scalar = fc.oneof(sizedString, fc.string({ maxLength: 20 }), number, fc.boolean(), fc.constant(null), currencyLike);
const flatRecord = fc.oneof(
  fc.dictionary(fc.oneof(fc.string({ maxLength: 8 }), sizedString), scalar, { maxKeys: 6 }),
  // around the 50-key cap
  fc.integer({ min: 48, max: 52 }).map((n) => Object.fromEntries(Array.from({ length: n }, (_, i) => [`k${i}`, i % 3 === 0 ? 'v' : i]))),
  fc.dictionary(fc.string({ maxLength: 4 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);
const elementLike = fc.dictionary(
  fc.constantFrom('tag', 'id', 'classes', 'text', 'href', 'selector', 'product_id', 'promotion_id', 'category', 'other'),
  fc.oneof(sizedString, scalar),
  { maxKeys: 5 },
);
const formLike = fc.record(
  {
    id: fc.oneof(sizedString, scalar),
    name: sizedString,
    action: sizedString,
    fields: fc.oneof(fc.array(sizedString, { maxLength: 3 }), fc.array(fc.constant('f'), { minLength: 49, maxLength: 52 }), scalar),
    values: fc.oneof(flatRecord, scalar),
    extra: scalar,
  },
  { requiredKeys: [] },
);
const idList = fc.oneof(
  fc.array(fc.oneof(sizedString, fc.constantFrom('p1', 'p2')), { maxLength: 4 }),
  fc.array(fc.constant('p'), { minLength: 49, maxLength: 52 }),
  scalar,
);
const anyValue = fc.oneof(scalar, flatRecord, elementLike, formLike, idList, fc.jsonValue({ maxDepth: 3 }));

// Valid-looking value per field, then mutations: a field removed, or set to any value.
const goodValue: Record<string, fc.Arbitrary<unknown>> = {
  event_id: fc.constantFrom('e-1', '01936b9e-5f2a-7cc1-9d3e-2f4b1a6c8e10'),
  timestamp: fc.integer({ min: 0, max: 7_258_118_400_000 }),
  anonymous_id: fc.constantFrom('a-1', 'a-7f3c'),
  user_id: fc.constantFrom(null, '', 'u@example.com'),
  session_id: fc.constantFrom('s-1', ''),
  page_url: fc.constantFrom('/deals/', 'https://shop.example/p/1?x=1'),
  page_title: fc.constant('Humidifiers'),
  referrer: fc.constant('https://shop.example/'),
  product_id: fc.constantFrom('p-1', ''),
  category: fc.constant('kitchen'),
  promotion_id: fc.constant('promo-1'),
  properties: fc.dictionary(
    fc.string({ maxLength: 8 }),
    fc.oneof(fc.string({ maxLength: 8 }), fc.integer(), fc.boolean(), fc.constant(null)),
    { maxKeys: 4 },
  ),
  locale: fc.constant('de-DE'),
  screen: fc.constant('1920x1080'),
  search_keyword: fc.constantFrom('humidifier', '  padded  ', 'x'),
  results_count: fc.nat(),
  element: fc.record({ tag: fc.constant('a'), text: fc.constant('Buy'), product_id: fc.constant('p1') }, { requiredKeys: [] }),
  depth_pct: fc.double({ min: 0, max: 100, noNaN: true }),
  form: fc.record({ id: fc.constant('f'), fields: fc.constant(['email']), values: fc.constant({ email: 'x' }) }, { requiredKeys: [] }),
  traits: fc.constant({ plan: 'gold' }),
  promotion_ids: fc.constant(['p1', 'p2']),
  personalized: fc.boolean(),
  value: fc.double({ noNaN: true, noDefaultInfinity: true }),
  currency: fc.constantFrom('EUR', 'USD'),
};
// Values at and just past each field's limits, mixed in now and then.
const edgeValue: Record<string, fc.Arbitrary<unknown>> = {
  timestamp: fc.constantFrom(-1, -0, 0, 1.5, 7_258_118_400_000, 7_258_118_400_001, 2 ** 53, '1'),
  results_count: fc.constantFrom(-1, -0, 0, 1.5, 2 ** 53 - 1, 2 ** 53, '3'),
  depth_pct: fc.constantFrom(-0.001, -0, 0, 100, 100.001, 100.5, 101, '50'),
  value: fc.oneof(number, fc.constant('9.5')),
  currency: currencyLike,
  personalized: fc.constantFrom(0, 1, 'true', null),
  user_id: fc.oneof(sizedString, fc.constant(null)),
  promotion_ids: idList,
  properties: flatRecord,
  traits: flatRecord,
  element: elementLike,
  form: formLike,
};
const FIELDS = Object.keys(goodValue);
const TYPE_FIELDS: Record<EventType, string[]> = {
  search: ['search_keyword', 'results_count'],
  click: ['element'],
  scroll: ['depth_pct'],
  page_view: ['page_url', 'properties'],
  form_submit: ['form'],
  identify: ['user_id', 'traits'],
  promotion_view: ['promotion_ids', 'personalized'],
  add_to_cart: ['product_id', 'value', 'currency'],
  purchase: ['value', 'currency'],
};
const edgeFor = (k: string): fc.Arbitrary<unknown> => edgeValue[k] ?? fc.oneof(sizedString, scalar);

// A valid-looking event of one type (its own fields present more often), then
// one field set to an edge value (mostly one of the type's own), then up to two
// arbitrary changes: a field removed, or set to any value.
const event = fc
  .constantFrom(...EVENT_TYPES)
  .chain((type) =>
    fc.record({
      type: fc.constant(type),
      present: fc.subarray(FIELDS),
      own: fc.subarray(TYPE_FIELDS[type]),
      values: fc.record(goodValue),
      edge: fc.option(
        fc
          .oneof({ weight: 3, arbitrary: fc.constantFrom(...TYPE_FIELDS[type]) }, { weight: 1, arbitrary: fc.constantFrom(...FIELDS) })
          .chain((k) => fc.tuple(fc.constant(k), edgeFor(k))),
        { freq: 2 },
      ),
      mutations: fc.array(
        fc.tuple(fc.constantFrom(...FIELDS, 'extra', 'ip', 'constructor', 'toString'), fc.option(anyValue, { nil: undefined })),
        { maxLength: 2 },
      ),
    }),
  )
  .map(({ type, present, own, values, edge, mutations }) => {
    const e: Record<string, unknown> = { event_id: values.event_id, timestamp: values.timestamp, anonymous_id: values.anonymous_id, type };
    for (const k of [...present, ...own]) e[k] = values[k];
    if (edge) e[edge[0]] = edge[1];
    for (const [k, v] of mutations) {
      if (v === undefined) delete e[k];
      else e[k] = v;
    }
    // Through JSON, as every event arrives (no undefined, no NaN, no Infinity; 1e999 is tested below).
    return JSON.parse(JSON.stringify(e)) as Record<string, unknown>;
  });

describe('fast validation path (reference: the zod schemas)', () => {
  it('covers every event type', () => {
    expect([...FAST_VALIDATED_TYPES].sort()).toEqual([...EVENT_TYPES].sort());
  });

  it('accepts exactly what zod accepts, with the same output, and validateWireEvent answers as zod does', () => {
    let accepted = 0;
    let rejected = 0;
    fc.assert(
      fc.property(event, (raw) => {
        const ref = zodOnly(raw);
        const fast = fastValidateWireEvent(raw);
        const full = validateWireEvent(raw);
        if (ref.ok) {
          accepted++;
          expect(fast).toBeDefined();
          expect(JSON.stringify(fast)).toBe(ref.json);
          expect(full.ok && JSON.stringify(full.event)).toBe(ref.json);
        } else {
          rejected++;
          expect(fast).toBeUndefined();
          expect(full.ok).toBe(false);
        }
      }),
      { numRuns: 6000 },
    );
    // Both sides of the property were exercised, not just one.
    expect(accepted).toBeGreaterThan(600);
    expect(rejected).toBeGreaterThan(600);
  }, 60_000);

  it('agrees on values at the limits that JSON.parse can produce', () => {
    const base = { event_id: 'e', timestamp: 1, anonymous_id: 'a' };
    const cases: Record<string, unknown>[] = [
      { ...base, type: 'scroll', depth_pct: JSON.parse('1e999') },
      { ...base, type: 'purchase', value: JSON.parse('1e999') },
      { ...base, type: 'page_view', properties: { x: JSON.parse('-1e999') } },
      { ...base, type: 'search', search_keyword: ` ${'k'.repeat(LIMITS.keywordChars)} ` },
      { ...base, type: 'search', search_keyword: '\u00a0\ufeff' },
      { ...base, type: 'page_view', properties: JSON.parse('{"__proto__": 1}') },
      { ...base, type: 'page_view', properties: Object.fromEntries(Array.from({ length: LIMITS.propertyKeys }, (_, i) => [String(i), i])) },
      { ...base, type: 'page_view', timestamp: -0 },
      { ...base, type: 'identify', user_id: null },
      { ...base, type: 'add_to_cart', product_id: 'p', currency: 'EUR\n' },
    ];
    for (const raw of cases) {
      const ref = zodOnly(raw);
      const full = validateWireEvent(raw);
      expect(full.ok ? { ok: true, json: JSON.stringify(full.event) } : { ok: false }).toEqual(ref);
      // An own __proto__ key (safe-json removes it before) is left to zod; everything else is decided fast.
      const fast = fastValidateWireEvent(raw);
      if (!Object.hasOwn((raw.properties ?? {}) as object, '__proto__'))
        expect(fast === undefined ? { ok: false } : { ok: true, json: JSON.stringify(fast) }).toEqual(ref);
    }
  });
});

import fc from 'fast-check';
import { EVENT_TYPES } from '@storepulse/contracts';
import { describe, expect, it } from 'vitest';
import { eventSchema, isValidEvent, parseEvent } from '../../src/signals.ts';

/**
 * isValidEvent (the consumer's hot path) against eventSchema (zod, the reference): on generated
 * events, valid and broken in every field, both accept exactly the same ones, and parseEvent gives
 * what zod gives.
 */
const LENGTHS = [0, 1, 2, 255, 256, 257, 2047, 2048, 2049];
const sized = fc
  .tuple(fc.constantFrom(...LENGTHS), fc.constantFrom('x', '😀'))
  .map(([n, c]) => (c === 'x' ? 'x'.repeat(n) : '😀'.repeat(Math.floor(n / 2)) + (n % 2 ? 'z' : '')));
const number = fc.oneof(fc.constantFrom(-1, -0, 0, 1.5, 1_763_800_000_101, Infinity, -Infinity, Number.NaN), fc.double());
const junk = fc.oneof(sized, number, fc.boolean(), fc.constant(null), fc.constant([]), fc.constant({}), fc.string({ maxLength: 5 }));
const maybe = <T>(arb: fc.Arbitrary<T>) => fc.option(fc.oneof(arb, arb, arb, junk), { nil: undefined, freq: 3 });
const element = fc.oneof(
  fc.record({ text: sized, href: sized, product_id: sized, promotion_id: sized, category: sized, tag: fc.string() }, { requiredKeys: [] }),
  junk,
);
const event = fc.record(
  {
    event_id: fc.oneof(sized, sized, junk),
    type: fc.oneof(fc.constantFrom(...EVENT_TYPES), junk),
    date: fc.oneof(fc.constant(1_763_800_000_000), fc.constant(1_763_800_000_000), number, junk),
    received_at: maybe(fc.constant(1_763_800_000_000)),
    anonymous_id: fc.oneof(sized, sized, junk),
    user_id: maybe(fc.oneof(sized, fc.constant(null))),
    user_verified: maybe(fc.boolean()),
    page_url: maybe(sized),
    page_path: maybe(sized),
    search_keyword: maybe(sized),
    product_id: maybe(sized),
    category: maybe(sized),
    promotion_id: maybe(sized),
    element: fc.option(element, { nil: undefined }),
    context: fc.option(fc.oneof(fc.record({ is_bot: fc.boolean(), ua: fc.string() }), fc.record({ is_bot: junk }), junk), {
      nil: undefined,
    }),
    extra: fc.option(junk, { nil: undefined }),
  },
  { requiredKeys: [] },
);

describe('isValidEvent', () => {
  it('accepts exactly what the zod schema accepts', () => {
    fc.assert(
      fc.property(fc.oneof(event, junk), (raw) => {
        expect(isValidEvent(raw)).toBe(eventSchema.safeParse(raw).success);
      }),
      { numRuns: 10_000 },
    );
  }, 60_000);

  it('makes parseEvent answer what zod answers, as a JSON message', () => {
    fc.assert(
      fc.property(event, (raw) => {
        const text = JSON.stringify(raw);
        const ref = eventSchema.safeParse(JSON.parse(text));
        if (ref.success) expect(parseEvent(text)).toEqual(ref.data);
        else expect(() => parseEvent(text)).toThrow(/not an enriched event/);
      }),
      { numRuns: 3_000 },
    );
  }, 60_000);
});

import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { JsonLimitError, parseJsonSafely } from '../../src/safe-json.ts';

describe('parseJsonSafely', () => {
  it('parses ordinary JSON like JSON.parse', () => {
    expect(parseJsonSafely('{"a":[1,{"b":"c"}],"d":null}')).toEqual({ a: [1, { b: 'c' }], d: null });
  });

  it('drops __proto__, constructor and prototype keys at every depth', () => {
    const v = parseJsonSafely(
      '{"__proto__":{"x":1},"a":{"constructor":{"prototype":{"x":2}},"ok":1},"list":[{"__proto__":{"x":3}}]}',
    ) as Record<string, unknown>;
    expect(Object.hasOwn(v, '__proto__')).toBe(false);
    expect(v.a).toEqual({ ok: 1 });
    expect(v.list).toEqual([{}]);
    const merged = Object.assign({}, v, v.a);
    expect((merged as Record<string, unknown>).x).toBeUndefined();
    expect(({} as Record<string, unknown>).x).toBeUndefined();
  });

  it('rejects nesting deeper than the limit', () => {
    expect(() => parseJsonSafely('[[[[1]]]]', { maxDepth: 3, maxKeysPerObject: 10, maxTotalKeys: 100 })).toThrow(JsonLimitError);
    expect(parseJsonSafely('[[[1]]]', { maxDepth: 3, maxKeysPerObject: 10, maxTotalKeys: 100 })).toEqual([[[1]]]);
  });

  it('survives very deep input without a stack overflow', () => {
    const deep = '['.repeat(100_000) + ']'.repeat(100_000);
    expect(() => parseJsonSafely(deep)).toThrow(JsonLimitError);
  });

  it('rejects objects with too many keys and bodies with too many values', () => {
    const wide = JSON.stringify(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i])));
    expect(() => parseJsonSafely(wide, { maxDepth: 5, maxKeysPerObject: 10, maxTotalKeys: 1000 })).toThrow(/more than 10 keys/);
    expect(() =>
      parseJsonSafely(JSON.stringify(Array.from({ length: 50 }, () => [1, 2])), { maxDepth: 5, maxKeysPerObject: 10, maxTotalKeys: 100 }),
    ).toThrow(/more than 100 values/);
  });

  it('throws SyntaxError for invalid JSON', () => {
    expect(() => parseJsonSafely('{"a":')).toThrow(SyntaxError);
  });

  it('never pollutes Object.prototype, whatever the input', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.constantFrom('__proto__', 'constructor', 'prototype'), (v, evil) => {
        const text = JSON.stringify({ [`${evil}`]: { polluted: true }, v, nested: [{ k: v }] }).replace('"k"', `"${evil}"`);
        try {
          const out = parseJsonSafely(text) as Record<string, unknown>;
          Object.assign({}, out, ...(Array.isArray(out.nested) ? out.nested : []));
        } catch (err) {
          expect(err).toBeInstanceOf(Error);
        }
        expect(({} as Record<string, unknown>).polluted).toBeUndefined();
      }),
      { numRuns: 300 },
    );
  });
});

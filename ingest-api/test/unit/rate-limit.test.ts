import { describe, expect, it } from 'vitest';
import { TokenBuckets, takeVisitors } from '../../src/rate-limit.ts';

describe('TokenBuckets', () => {
  it('allows a burst, then refills at the rate', () => {
    let now = 0;
    const b = new TokenBuckets(10, 20, () => now);
    for (let i = 0; i < 20; i++) expect(b.take('ip').ok).toBe(true);
    const denied = b.take('ip');
    expect(denied).toEqual({ ok: false, retryAfterS: 1 });
    now += 100; // one token back
    expect(b.take('ip').ok).toBe(true);
    expect(b.take('ip').ok).toBe(false);
  });

  it('charges a cost and says how long until it fits', () => {
    let now = 0;
    const b = new TokenBuckets(5, 5, () => now);
    expect(b.take('key', 5).ok).toBe(true);
    expect(b.take('key', 5)).toEqual({ ok: false, retryAfterS: 1 });
    now += 400;
    expect(b.take('key', 5)).toEqual({ ok: false, retryAfterS: 1 });
    now += 600;
    expect(b.take('key', 5).ok).toBe(true);
  });

  it('lets a request larger than the bucket through on a full bucket only', () => {
    let now = 0;
    const b = new TokenBuckets(5, 5, () => now);
    expect(b.take('key', 50).ok).toBe(true);
    expect(b.take('key', 50)).toEqual({ ok: false, retryAfterS: 1 });
    now += 1000;
    expect(b.take('key', 50).ok).toBe(true);
  });

  it('keeps separate buckets per id and is off at rate 0', () => {
    const b = new TokenBuckets(1, 1, () => 0);
    expect(b.take('a').ok).toBe(true);
    expect(b.take('b').ok).toBe(true);
    expect(b.take('a').ok).toBe(false);
    const off = new TokenBuckets(0, 0);
    for (let i = 0; i < 100; i++) expect(off.take('x', 1000).ok).toBe(true);
  });

  it('stays bounded in memory however many clients it sees', () => {
    let now = 0;
    const b = new TokenBuckets(1, 2, () => now, 1000);
    for (let i = 0; i < 10_000; i++) {
      now += 1;
      b.take(`ip-${i}`);
    }
    expect(b.size).toBeLessThanOrEqual(1000);
  });
});

describe('takeVisitors', () => {
  const ev = (anonymous_id: unknown) => ({ anonymous_id });

  it('charges each visitor of a batch its own events and reports the longest wait', () => {
    let now = 0;
    const b = new TokenBuckets(1, 4, () => now);
    expect(takeVisitors(b, 'demo', [ev('a'), ev('a'), ev('b')])).toBe(0);
    expect(takeVisitors(b, 'demo', [ev('a'), ev('a')])).toBe(0); // a: 4 - 2 - 2 = 0
    expect(takeVisitors(b, 'demo', [ev('b'), ev('a'), ev('a'), ev('a')])).toBe(3); // a needs 3 tokens at 1/s
    now += 3000;
    expect(takeVisitors(b, 'demo', [ev('a'), ev('a'), ev('a')])).toBe(0);
  });

  it('keeps sites apart and ignores events without a usable anonymous_id', () => {
    const b = new TokenBuckets(1, 2, () => 0);
    expect(takeVisitors(b, 's1', [ev('a'), ev('a')])).toBe(0);
    expect(takeVisitors(b, 's2', [ev('a'), ev('a')])).toBe(0);
    expect(takeVisitors(b, 's1', [ev(undefined), ev(42), ev(''), null, 'x'])).toBe(0);
    expect(takeVisitors(b, 's1', [ev('a')])).toBeGreaterThan(0);
  });

  it('is free when switched off', () => {
    const b = new TokenBuckets(0, 0, () => 0);
    expect(
      takeVisitors(
        b,
        's',
        Array.from({ length: 1000 }, () => ev('a')),
      ),
    ).toBe(0);
    expect(b.size).toBe(0);
  });
});

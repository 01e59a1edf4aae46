import { describe, expect, it } from 'vitest';
import { keywordFromUrl, normalizeKeyword, seenSearch } from '../../src/core/search.ts';
import { isSensitiveField, privacySignal } from '../../src/core/privacy.ts';
import { backoffMs, isRetriable, parseRetryAfter } from '../../src/core/retry.ts';
import { memoryKV } from '../../src/core/storage.ts';

describe('search keywords', () => {
  it('trims and collapses whitespace, and caps the length', () => {
    expect(normalizeKeyword('  cool   mist\nhumidifier  ')).toBe('cool mist humidifier');
    expect(normalizeKeyword('   ')).toBe('');
    expect(normalizeKeyword(42)).toBe('');
    expect(normalizeKeyword('x'.repeat(500))).toHaveLength(200);
  });

  it('reads the keyword from the configured results URL parameters', () => {
    const params = ['q', 'query', 's'];
    expect(keywordFromUrl('https://shop.test/search?q=humidifier', params)).toBe('humidifier');
    expect(keywordFromUrl('https://shop.test/?s=air+purifier', params)).toBe('air purifier');
    expect(keywordFromUrl('https://shop.test/find?query=%20fan%20', params)).toBe('fan');
    expect(keywordFromUrl('https://shop.test/find?term=fan', params)).toBe('');
    expect(keywordFromUrl('https://shop.test/find?term=fan', ['term'])).toBe('fan');
    expect(keywordFromUrl('not a url', params)).toBe('');
  });

  it('counts one search once, whatever its case, within the dedupe window', () => {
    const kv = memoryKV();
    expect(seenSearch(kv, 'ls', 'Humidifier', 1000, 30_000)).toBe(false);
    expect(seenSearch(kv, 'ls', 'humidifier', 2000, 30_000)).toBe(true);
    expect(seenSearch(kv, 'ls', 'fan', 3000, 30_000)).toBe(false);
    expect(seenSearch(kv, 'ls', 'humidifier', 4000, 30_000)).toBe(false);
    expect(seenSearch(kv, 'ls', 'humidifier', 40_000, 30_000)).toBe(false);
  });
});

describe('privacy', () => {
  it('treats password, credit card and one-time-code fields as sensitive', () => {
    for (const f of [
      { type: 'password', name: 'x' },
      { name: 'card_number' },
      { name: 'cc-number' },
      { name: 'cvv' },
      { id: 'cardCvc' },
      { autocomplete: 'cc-exp' },
      { autocomplete: 'section-billing cc-csc' },
      { autocomplete: 'one-time-code' },
      { name: 'new_password_confirm' },
      { name: 'iban' },
    ]) {
      expect(isSensitiveField(f), JSON.stringify(f)).toBe(true);
    }
    for (const f of [{ name: 'email', type: 'email' }, { name: 'q', type: 'search' }, { name: 'shipping_address' }, { name: 'topic' }]) {
      expect(isSensitiveField(f), JSON.stringify(f)).toBe(false);
    }
  });

  it('sees Global Privacy Control and Do Not Track', () => {
    expect(privacySignal({ globalPrivacyControl: true })).toBe(true);
    expect(privacySignal({ doNotTrack: '1' })).toBe(true);
    expect(privacySignal({}, { doNotTrack: '1' })).toBe(true);
    expect(privacySignal({ globalPrivacyControl: false, doNotTrack: 'unspecified' })).toBe(false);
    expect(privacySignal(undefined)).toBe(false);
  });
});

describe('retry policy', () => {
  it('retries network errors, timeouts, 429 and 5xx only', () => {
    expect([0, 408, 429, 500, 503].map(isRetriable)).toEqual([true, true, true, true, true]);
    expect([400, 401, 413, 415].map(isRetriable)).toEqual([false, false, false, false]);
  });

  it('doubles the delay per attempt, with jitter between half and all of it, up to the cap', () => {
    expect(backoffMs(1, 1000, 60_000, () => 0)).toBe(500);
    expect(backoffMs(3, 1000, 60_000, () => 0)).toBe(2000);
    expect(backoffMs(3, 1000, 60_000, () => 0.999999)).toBe(4000);
    expect(backoffMs(20, 1000, 60_000, () => 0.999999)).toBe(60_000);
  });

  it('reads Retry-After as seconds or as an HTTP date', () => {
    const now = Date.parse('2026-11-22T10:00:00Z');
    expect(parseRetryAfter('7', now)).toBe(7000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 10:00:30 GMT', now)).toBe(30_000);
    expect(parseRetryAfter('Sun, 22 Nov 2026 09:00:00 GMT', now)).toBe(0);
    expect(parseRetryAfter('soon', now)).toBeUndefined();
    expect(parseRetryAfter(null, now)).toBeUndefined();
  });
});

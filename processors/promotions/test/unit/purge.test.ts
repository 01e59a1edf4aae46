import { describe, expect, it } from 'vitest';
import { parseVisitorKey, visitorKeys } from '../../src/purge.ts';
import { prefixOf, tombstoneKey } from '../../src/store.ts';

describe('visitor keys for a consent purge', () => {
  it('accepts u:<user_id> and a:<anonymous_id> and refuses anything else', () => {
    expect(parseVisitorKey('u:abcde@gmail.com')).toEqual({ kind: 'user', id: 'abcde@gmail.com', key: 'u:abcde@gmail.com' });
    expect(parseVisitorKey('a:a-7f3c')).toMatchObject({ kind: 'anonymous', id: 'a-7f3c' });
    expect(parseVisitorKey('a:with:colons')).toMatchObject({ id: 'with:colons' });
    for (const bad of ['', 'u:', 'a:', 'x:1', 'abcde@gmail.com', 'U:1', `a:${'z'.repeat(257)}`, 'a:tab\there', 'u:nl\n']) {
      expect(parseVisitorKey(bad), JSON.stringify(bad)).toBeUndefined();
    }
    expect(parseVisitorKey(`a:${'z'.repeat(256)}`)).toBeDefined();
  });

  it('puts the tombstone outside any generation, on the visitor hash tag', () => {
    expect(tombstoneKey('shop1_', 'u:x')).toBe('shop1_purged:{u:x}');
    expect(tombstoneKey('', 'a:{odd}')).toBe('purged:{a:_odd_}');
    expect(visitorKeys('shop1_g1abc:', 'u:x')).toEqual([
      'shop1_g1abc:interests:{u:x}',
      'shop1_g1abc:applied:{u:x}',
      'shop1_g1abc:user_promotions:{u:x}',
      'shop1_g1abc:alias:{u:x}',
    ]);
  });

  it('finds the TOPIC_PREFIX of a key space with or without a generation', () => {
    expect(prefixOf('')).toBe('');
    expect(prefixOf('shop1_')).toBe('shop1_');
    expect(prefixOf('shop1_g1abc:')).toBe('shop1_');
    expect(prefixOf('g1abc:')).toBe('');
    expect(prefixOf('shopg1_')).toBe('shopg1_');
  });
});

import { describe, expect, it } from 'vitest';
import { originAllowed, parseWriteKeys } from '../../src/write-keys.ts';

describe('parseWriteKeys', () => {
  it('maps each key to a site and its allowed origins', () => {
    const keys = parseWriteKeys('wk_demo=demo:*; wk_shop=shop:https://shop.example,https://www.shop.example/');
    expect(keys.get('wk_demo')).toMatchObject({ site: 'demo', anyOrigin: true });
    const shop = keys.get('wk_shop')!;
    expect(shop.site).toBe('shop');
    expect(originAllowed(shop, 'https://shop.example')).toBe(true);
    expect(originAllowed(shop, 'https://WWW.shop.example')).toBe(true);
    expect(originAllowed(shop, 'https://evil.example')).toBe(false);
    expect(originAllowed(keys.get('wk_demo')!, 'https://anything.example')).toBe(true);
  });

  it('accepts a bare key as a site of the same name open to every origin', () => {
    expect(parseWriteKeys('wk_demo').get('wk_demo')).toMatchObject({ site: 'demo', anyOrigin: true });
  });

  it('rejects malformed entries with a message that names them', () => {
    expect(() => parseWriteKeys('')).toThrow(/no write key/);
    expect(() => parseWriteKeys('bad key=site:*')).toThrow(/bad key/);
    expect(() => parseWriteKeys('wk=site:shop.example')).toThrow(/shop\.example/);
    expect(() => parseWriteKeys('wk=a:*;wk=b:*')).toThrow(/twice/);
  });
});

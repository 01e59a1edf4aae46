import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { defaultPromotions, isActive, isSafeUrl, parseCatalog } from '../../src/catalog.ts';
import { DEFAULT_CATALOG_PATH } from '../../src/config.ts';
import { CatalogError } from '../../src/errors.ts';

const SLUGS = ['humidifiers', 'air-purifiers', 'fans', 'heaters', 'coffee', 'kitchen', 'vacuums', 'bedding', 'lighting', 'audio'];
const promo = (over: Record<string, unknown> = {}) => ({
  id: 'p1',
  title: 'Deal',
  url: '/deals/x',
  keywords: ['fan'],
  categories: ['fans'],
  priority: 1,
  ...over,
});
const problemsOf = (json: unknown): string[] => {
  try {
    parseCatalog(JSON.stringify(json), 'test.json');
  } catch (err) {
    expect(err).toBeInstanceOf(CatalogError);
    return (err as CatalogError).problems;
  }
  throw new Error('expected the catalog to be rejected');
};

describe('the sample catalog', () => {
  const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'));

  it('has dozens of promotions over the demo storefront categories', () => {
    expect(catalog.promotions.length).toBeGreaterThanOrEqual(36);
    const used = new Set(catalog.promotions.flatMap((p) => p.categories));
    for (const slug of SLUGS) expect(used.has(slug)).toBe(true);
    for (const slug of used) expect(SLUGS).toContain(slug);
  });

  it('includes several humidifier deals', () => {
    expect(catalog.promotions.filter((p) => p.categories.includes('humidifiers')).length).toBeGreaterThanOrEqual(4);
  });

  it('uses only relative or https urls', () => {
    for (const p of catalog.promotions) expect(isSafeUrl(p.url)).toBe(true);
  });

  it('has default promotions for unknown visitors, best priority first', () => {
    const d = defaultPromotions(catalog, Date.parse('2026-11-22T00:00:00Z'));
    expect(d[0]?.id).toBe('home-free-shipping');
    expect(d.slice(0, 4).every((p) => p.isDefault)).toBe(true);
  });
});

describe('catalog validation', () => {
  it('accepts a bare array', () => {
    expect(parseCatalog(JSON.stringify([promo()])).promotions).toHaveLength(1);
  });

  it('names the bad entry by index and id', () => {
    const problems = problemsOf({ promotions: [promo(), promo({ id: 'bad-one', url: 'javascript:alert(1)' })] });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toContain('promotions[1] id="bad-one"');
    expect(problems[0]).toContain('url');
  });

  it.each([
    ['a missing title', { title: undefined }, 'title'],
    ['an http url', { url: 'http://evil.example/' }, 'url'],
    ['a protocol-relative url', { url: '//evil.example/' }, 'url'],
    ['a data url', { url: 'data:text/html,hi' }, 'url'],
    ['a bad category slug', { categories: ['Air Purifiers'] }, 'categories'],
    ['a non-numeric priority', { priority: 'high' }, 'priority'],
    ['an unparseable date', { starts_at: 'tomorrow' }, 'starts_at'],
    ['ends before it starts', { starts_at: '2026-02-01', ends_at: '2026-01-01' }, 'ends_at'],
    ['nothing to match', { keywords: [], categories: [] }, 'keywords'],
  ])('rejects %s', (_name, over, word) => {
    const problems = problemsOf([promo(over)]);
    expect(problems.join('\n')).toContain(word);
    expect(problems.join('\n')).toContain('promotions[0]');
  });

  it('rejects duplicate ids', () => {
    expect(problemsOf([promo(), promo()]).join()).toContain('duplicate id');
  });

  it('rejects text that is not JSON, and an empty catalog', () => {
    expect(() => parseCatalog('{nope')).toThrow(/not valid JSON/);
    expect(problemsOf([])).toEqual(['the catalog has no promotions']);
  });

  it('allows https urls and default promotions without keywords', () => {
    const c = parseCatalog(
      JSON.stringify([promo({ id: 'd', url: 'https://shop.example/x', keywords: [], categories: [], default: true })]),
    );
    expect(c.promotions[0]?.isDefault).toBe(true);
  });
});

describe('activity window', () => {
  const c = parseCatalog(JSON.stringify([promo({ starts_at: '2026-01-01T00:00:00Z', ends_at: 1767312000000 })]));
  const p = c.promotions[0]!;
  it('is active only between starts_at and ends_at', () => {
    expect(isActive(p, Date.parse('2025-12-31T23:59:59Z'))).toBe(false);
    expect(isActive(p, Date.parse('2026-01-01T00:00:00Z'))).toBe(true);
    expect(isActive(p, 1767312000000)).toBe(false);
  });
});

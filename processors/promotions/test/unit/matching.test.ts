import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/catalog.ts';
import { DEFAULT_CATALOG_PATH } from '../../src/config.ts';
import { MATCH_MEMO_SIZE, matchCategory, matchPage, matchProduct, matchPromotion, matchText, TYPO_STRENGTH } from '../../src/matching.ts';
import { editDistance, stem, stemTokens, termKey } from '../../src/text.ts';

const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'), 'sample');
const index = catalog.index;
const terms = (text: string) => matchText(index, text).map((m) => m.term);

describe('stemming', () => {
  it.each([
    ['humidifiers', 'humidifier'],
    ['humidifier', 'humidifier'],
    ['purifiers', 'purifier'],
    ['batteries', 'battery'],
    ['mattresses', 'mattress'],
    ['boxes', 'box'],
    ['heating', 'heat'],
    ['bedding', 'bed'],
    ['lighting', 'light'],
    ['glass', 'glass'],
    ['fans', 'fan'],
    ['fan', 'fan'],
    ['heated', 'heat'],
    ['speakers', 'speaker'],
  ])('stems %s to %s', (word, expected) => {
    expect(stem(word)).toBe(expected);
  });

  it('drops stopwords and punctuation and folds accents', () => {
    expect(stemTokens('The BEST Café-Humidifiers, for my bedroom!')).toEqual(['cafe', 'humidifier', 'bedroom']);
  });

  it('makes category slugs and phrases the same term', () => {
    expect(termKey('air-purifiers')).toBe('air purifier');
    expect(termKey('Air Purifier')).toBe('air purifier');
  });
});

describe('edit distance', () => {
  it.each([
    ['humidifer', 'humidifier', 1],
    ['humidifier', 'humidifier', 0],
    ['hmuidifier', 'humidifier', 1],
    ['purifer', 'purifier', 1],
    ['abc', 'xyz', 3],
  ])('between %s and %s is %i', (a, b, d) => {
    expect(editDistance(a, b, 3)).toBe(d);
  });

  it('gives up past the limit', () => {
    expect(editDistance('dehumidifier', 'television', 2)).toBe(3);
  });
});

describe('matching a search to catalog terms', () => {
  it.each([
    ['humidifier', 'humidifier'],
    ['Humidifiers', 'humidifier'],
    ['HUMIDIFIER', 'humidifier'],
    ['humidifer', 'humidifier'],
    ['humidifiers!!', 'humidifier'],
    ['cool mist humidifier for bedroom', 'humidifier'],
    ['cool mist humidifier', 'cool mist'],
    ['cool mist humidifier', 'cool mist humidifier'],
    ['air purifiers', 'air purifier'],
    ['purifier', 'purifier'],
    ['air purifer', 'air purifier'],
    ['HEPA', 'hepa'],
    ['robot vacuums', 'robot vacuum'],
    ['espresso machines', 'espresso machine'],
    ['space heaters', 'space heater'],
    ['ceiling fans with light', 'ceiling fan'],
    ['noise cancelling headphones', 'headphone'],
    ['bluetooth speakers', 'bluetooth speaker'],
    ['smart bulbs', 'smart bulb'],
    ['bed sheets queen', 'bed sheet'],
    ['air fryer', 'air fryer'],
    ['vaporiser', 'humidifier'],
    ['mist maker for baby room', 'humidifier'],
    ['hoover', 'vacuum'],
    ['ionizer', 'air purifier'],
  ])('maps "%s" to %s', (query, term) => {
    expect(terms(query)).toContain(termKey(term));
  });

  it('marks a typo match weaker than an exact one', () => {
    const exact = matchText(index, 'humidifier').find((m) => m.term === 'humidifier');
    const typo = matchText(index, 'humidifer').find((m) => m.term === 'humidifier');
    expect(exact?.strength).toBe(1);
    expect(typo?.strength).toBe(TYPO_STRENGTH);
  });

  it.each([['dehumidifier'], ['television'], ['xyz'], [''], ['   '], ['for the'], ['fun']])('finds nothing for "%s"', (query) => {
    expect(terms(query)).toEqual([]);
  });

  it('needs every word of a multi-word term', () => {
    expect(terms('air')).not.toContain('air purifier');
    expect(terms('mist')).toContain('mist');
    expect(terms('cool')).not.toContain('cool mist');
  });

  it('does not match short words with a typo', () => {
    expect(terms('fam')).toEqual([]);
    expect(terms('fan')).toContain('fan');
  });

  it('handles very long input without blowing up', () => {
    expect(terms(`${'humidifier '.repeat(10_000)}`)).toContain('humidifier');
  });
});

describe('matching products, categories, promotions and pages', () => {
  it('maps a product id to its category by prefix', () => {
    expect(matchProduct(index, 'p-hum-001').map((m) => m.term)).toContain('humidifier');
    expect(matchProduct(index, 'p-pur-017').map((m) => m.term)).toContain('air purifier');
    expect(matchProduct(index, 'p-zzz-001')).toEqual([]);
    expect(matchProduct(index, 'not-a-product')).toEqual([]);
  });

  it('maps products listed by a promotion to its terms', () => {
    expect(matchProduct(index, 'p-hum-001').map((m) => m.term)).toContain('cool mist');
  });

  it('maps category slugs and names', () => {
    expect(matchCategory(index, 'air-purifiers')[0]?.term).toBe('air purifier');
    expect(matchCategory(index, 'Humidifiers')[0]?.term).toBe('humidifier');
    expect(matchCategory(index, 'garden')).toEqual([]);
  });

  it('maps a clicked promotion to its terms', () => {
    expect(matchPromotion(index, 'hum-winter-25').map((m) => m.term)).toContain('humidifier');
    expect(matchPromotion(index, 'nope')).toEqual([]);
  });

  it.each([
    ['/category/humidifiers', 'humidifier'],
    ['/deals/air-purifiers', 'air purifier'],
    ['/products/p-vac-003', 'vacuum'],
    ['/search?q=cool+mist+humidifier', 'humidifier'],
    ['https://shop.example/c/coffee?page=2', 'coffee'],
    ['/blog/why-your-home-needs-a-humidifier', 'humidifier'],
  ])('maps the page %s to %s', (page, term) => {
    expect(matchPage(index, page).map((m) => m.term)).toContain(term);
  });

  it('finds nothing on pages about nothing in the catalog', () => {
    expect(matchPage(index, '/')).toEqual([]);
    expect(matchPage(index, '/account/orders')).toEqual([]);
    expect(matchPage(index, '%E0%A4%A')).toEqual([]);
  });
});

describe('remembered matches', () => {
  it('answers a repeated text from memory, frozen, and per catalog index', () => {
    const first = matchText(index, 'cool mist humidifer for bedroom');
    const again = matchText(index, 'cool mist humidifer for bedroom');
    expect(again).toBe(first);
    expect(first.map((m) => m.term)).toContain('humidifier');
    expect(Object.isFrozen(first) && first.every((m) => Object.isFrozen(m))).toBe(true);
    // A reloaded catalog builds a new index: its answers are its own, never the old index's.
    const edited = parseCatalog(readFileSync(DEFAULT_CATALOG_PATH, 'utf8').replace(/"humidifier"/g, '"mist maker"'), 'edited').index;
    expect(matchText(edited, 'cool mist humidifer for bedroom')).not.toBe(first);
  });

  it('forgets everything once MATCH_MEMO_SIZE texts are remembered, and still answers the same', () => {
    const reference = matchText(index, 'espresso machine');
    for (let i = 0; i < MATCH_MEMO_SIZE; i++) matchText(index, `unknown words ${i}`);
    const after = matchText(index, 'espresso machine');
    expect(after).not.toBe(reference);
    expect(after).toEqual(reference);
  });
});

import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/catalog.ts';
import { DEFAULT_CATALOG_PATH } from '../../src/config.ts';
import {
  applyContributions,
  type Contribution,
  decodeReason,
  describeReason,
  emptyProfile,
  encodeReason,
  mergeProfiles,
  type Profile,
  profileFromHash,
  rankPromotions,
  atRef,
  scoresAtRef,
} from '../../src/profile.ts';

const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'));
const H = 24 * 3_600_000;
const opts = { halfLifeMs: H, topTerms: 1000 };
const T0 = Date.parse('2026-11-20T00:00:00Z');
const NOW = Date.parse('2026-11-22T00:00:00Z');
const TERMS = ['humidifier', 'air purifier', 'fan', 'heater', 'espresso', 'robot vacuum', 'headphone', 'cool mist'];

interface Ev {
  id: string;
  date: number;
  contributions: Contribution[];
}

const evArb = (i: number) =>
  fc
    .record({
      date: fc.integer({ min: T0, max: T0 + 3 * H }),
      picks: fc.uniqueArray(fc.constantFrom(...TERMS), { minLength: 1, maxLength: 3 }),
      weight: fc.constantFrom(10, 6, 4, 2, 0.5, 8, 3.2),
      kind: fc.constantFrom('search' as const, 'click' as const, 'page_view' as const),
    })
    .map(({ date, picks, weight, kind }) => ({
      id: `e${i}`,
      date,
      contributions: picks.map((term) => ({ term, weight, reason: encodeReason(date, kind, term) })),
    }));

const eventsArb = fc.integer({ min: 1, max: 25 }).chain((n) => fc.tuple(...Array.from({ length: n }, (_, i) => evArb(i))));

function deliver(events: Ev[], order: number[]): Profile {
  const applied = new Set<string>();
  let p = emptyProfile();
  for (const i of order) {
    const e = events[i]!;
    if (applied.has(e.id)) continue;
    applied.add(e.id);
    p = applyContributions(p, e.date, e.contributions, opts);
  }
  return p;
}

const ids = (p: Profile) => rankPromotions(atRef(p, H), catalog, NOW, 12).map((r) => r.id);
const at = (p: Profile) => scoresAtRef(p, H);

describe('the interest fold', () => {
  it("gives the same ranking for any interleaving and duplication of a visitor's events", () => {
    fc.assert(
      fc.property(
        eventsArb.chain((events) =>
          fc.tuple(
            fc.constant(events as Ev[]),
            fc.shuffledSubarray([...Array(events.length).keys(), ...Array(events.length).keys(), ...Array(events.length).keys()], {
              minLength: 3 * events.length,
            }),
            fc.array(fc.nat(events.length - 1), { maxLength: 20 }),
          ),
        ),
        ([events, shuffled, extra]) => {
          const inOrder = deliver(
            events,
            events.map((_, i) => i),
          );
          const messy = deliver(events, [...shuffled, ...extra]);
          expect(ids(messy)).toEqual(ids(inOrder));
          expect(messy.ref).toBe(inOrder.ref);
          expect([...messy.scores.keys()].sort()).toEqual([...inOrder.scores.keys()].sort());
          for (const [t, s] of at(inOrder)) expect(at(messy).get(t)).toBeCloseTo(s, 9);
          expect(messy.reasons).toEqual(inOrder.reasons);
        },
      ),
      { numRuns: 300 },
    );
  });

  it('lets a fresh weaker interest beat an old strong one', () => {
    const search = [{ term: 'humidifier', weight: 10, reason: encodeReason(T0, 'search', 'humidifier') }];
    const click = [{ term: 'fan', weight: 4, reason: encodeReason(T0 + 3 * H, 'click', 'fan') }];
    let p = applyContributions(emptyProfile(), T0, search, opts);
    p = applyContributions(p, T0 + 3 * H, click, opts);
    // 10 * 2^-3 = 1.25 < 4
    expect(at(p).get('humidifier')).toBeCloseTo(1.25, 12);
    expect(at(p).get('fan')).toBeCloseTo(4, 12);
    expect(rankPromotions(atRef(p, H), catalog, NOW, 1)[0]?.id.startsWith('fan-')).toBe(true);
  });

  it('keeps a strong interest ahead when the weaker one is just as old', () => {
    let p = applyContributions(
      emptyProfile(),
      T0,
      [{ term: 'humidifier', weight: 10, reason: encodeReason(T0, 'search', 'humidifier') }],
      opts,
    );
    p = applyContributions(p, T0, [{ term: 'fan', weight: 4, reason: encodeReason(T0, 'click', 'fan') }], opts);
    expect(rankPromotions(atRef(p, H), catalog, NOW, 1)[0]?.id.startsWith('hum-')).toBe(true);
  });

  it('does not let one product click outrank a search through a promotion with many matching terms', () => {
    const audio = catalog.promotions.find((p) => p.id === 'aud-headphones')!;
    let p = applyContributions(
      emptyProfile(),
      T0,
      audio.terms.map((term) => ({ term, weight: 4, reason: encodeReason(T0, 'click', term) })),
      opts,
    );
    p = applyContributions(p, T0, [{ term: 'humidifier', weight: 10, reason: encodeReason(T0, 'search', 'humidifier') }], opts);
    expect(rankPromotions(p, catalog, NOW, 1)[0]?.id.startsWith('hum-')).toBe(true);
  });

  it('prefers the more specific promotion when the best interests tie', () => {
    const terms = ['humidifier', 'cool mist', 'cool mist humidifier', 'mist'];
    const p = applyContributions(
      emptyProfile(),
      T0,
      terms.map((term) => ({ term, weight: 10, reason: encodeReason(T0, 'search', 'cool mist humidifier') })),
      opts,
    );
    expect(rankPromotions(p, catalog, NOW, 1)[0]?.id).toBe('hum-coolmist-bundle');
  });

  it('halves a score after one half-life', () => {
    let p = applyContributions(emptyProfile(), T0, [{ term: 'fan', weight: 8, reason: encodeReason(T0, 'click', 'fan') }], opts);
    p = applyContributions(p, T0 + H, [{ term: 'heater', weight: 1, reason: encodeReason(T0 + H, 'click', 'heater') }], opts);
    expect(at(p).get('fan')).toBeCloseTo(4, 12);
    expect(p.ref).toBe(T0 + H);
  });

  it('trims to the strongest N terms once a profile holds more than 2N', () => {
    let p = emptyProfile();
    const sizes: number[] = [];
    TERMS.forEach((term, i) => {
      p = applyContributions(p, T0, [{ term, weight: i + 1, reason: encodeReason(T0, 'search', term) }], { halfLifeMs: H, topTerms: 3 });
      sizes.push(p.scores.size);
    });
    expect(sizes).toEqual([1, 2, 3, 4, 5, 6, 3, 4]);
    expect([...p.scores.keys()].sort()).toEqual(TERMS.slice(-4).sort());
    expect(p.reasons.size).toBe(4);
  });

  it('re-expresses scores against a newer base after many half-lives, without changing them', () => {
    const short = { halfLifeMs: 1000, topTerms: 20 };
    let p = applyContributions(emptyProfile(), T0, [{ term: 'fan', weight: 4, reason: encodeReason(T0, 'click', 'fan') }], short);
    p = applyContributions(p, T0 + 600_000, [{ term: 'heater', weight: 4, reason: encodeReason(T0 + 600_000, 'click', 'heater') }], short);
    expect(p.base).toBe(T0 + 600_000);
    expect(Number.isFinite(p.scores.get('heater'))).toBe(true);
    expect(at(p).get('heater')).toBe(4);
    expect(at(p).get('fan')).toBeCloseTo(4 * 2 ** -600, 190);
  });

  it('counts every applied update in the version', () => {
    let p = emptyProfile();
    p = applyContributions(p, T0, [], opts);
    p = applyContributions(p, T0, [], opts);
    expect(p.version).toBe(2);
  });
});

describe('merging an anonymous profile into a user', () => {
  it("gives the same scores as if every event had been the user's", () => {
    fc.assert(
      fc.property(eventsArb, eventsArb, (userEvents, anonEvents) => {
        const all = [...(userEvents as Ev[]), ...(anonEvents as Ev[]).map((e) => ({ ...e, id: `a${e.id}` }))];
        const together = deliver(
          all,
          all.map((_, i) => i),
        );
        const user = deliver(
          userEvents as Ev[],
          userEvents.map((_, i) => i),
        );
        const anon = deliver(
          anonEvents as Ev[],
          anonEvents.map((_, i) => i),
        );
        const merged = mergeProfiles(user, anon, opts);
        expect(ids(merged)).toEqual(ids(together));
        for (const [t, s] of at(together)) expect(at(merged).get(t)).toBeCloseTo(s, 9);
      }),
      { numRuns: 200 },
    );
  });

  it('leaves the user unchanged when the anonymous profile is empty', () => {
    const user = applyContributions(emptyProfile(), T0, [{ term: 'fan', weight: 4, reason: encodeReason(T0, 'click', 'fan') }], opts);
    const merged = mergeProfiles(user, emptyProfile(), opts);
    expect(at(merged)).toEqual(at(user));
    expect(merged.version).toBe(user.version + 1);
  });
});

describe('reasons', () => {
  it('round-trips and reads like a sentence', () => {
    const r = encodeReason(T0, 'search', 'cool | mist\nhumidifier');
    expect(decodeReason(r)).toEqual({ date: T0, kind: 'search', text: 'cool mist humidifier' });
    expect(describeReason(r)).toBe('you searched "cool mist humidifier"');
    expect(describeReason(encodeReason(T0, 'page_view', 'humidifiers'))).toBe('you viewed humidifiers');
    expect(describeReason(encodeReason(T0, 'click', 'fans'))).toBe('you clicked fans');
  });

  it('keeps the newest reason for a term', () => {
    let p = applyContributions(emptyProfile(), T0 + H, [{ term: 'fan', weight: 1, reason: encodeReason(T0 + H, 'click', 'new') }], opts);
    p = applyContributions(p, T0, [{ term: 'fan', weight: 1, reason: encodeReason(T0, 'search', 'old') }], opts);
    expect(decodeReason(p.reasons.get('fan')!).text).toBe('new');
  });
});

describe('the Redis hash layout', () => {
  it('reads both flat arrays and objects', () => {
    const flat = ['_ref', String(T0), '_v', '3', 's:fan', '1.5', 'r:fan', encodeReason(T0, 'click', 'fan')];
    const a = profileFromHash(flat);
    const b = profileFromHash({ _ref: String(T0), _v: '3', 's:fan': '1.5', 'r:fan': encodeReason(T0, 'click', 'fan') });
    expect(a).toEqual(b);
    expect(a.version).toBe(3);
    expect(a.scores.get('fan')).toBe(1.5);
  });
});

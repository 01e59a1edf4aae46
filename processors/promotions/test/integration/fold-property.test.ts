import { readFileSync } from 'node:fs';
import fc from 'fast-check';
import type { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseCatalog } from '../../src/catalog.ts';
import { DEFAULT_CATALOG_PATH } from '../../src/config.ts';
import {
  applyContributions,
  atRef,
  type Contribution,
  emptyProfile,
  encodeReason,
  mergeProfiles,
  type Profile,
  rankPromotions,
  scoresAtRef,
} from '../../src/profile.ts';
import { PromotionsStore } from '../../src/store.ts';
import { cleanup, connectRedis, randomPrefix } from './harness.ts';

const prefix = randomPrefix();
const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'));
const H = 24 * 3_600_000;
const T0 = Date.parse('2026-11-20T00:00:00Z');
const NOW = Date.parse('2026-11-22T00:00:00Z');
const TERMS = ['humidifier', 'air purifier', 'fan', 'heater', 'espresso', 'robot vacuum', 'headphone', 'cool mist'];
const settings = { halfLifeMs: H, topTerms: 100, idleTtlMs: 600_000, appliedMax: 1000 };
let redis: Redis;
let store: PromotionsStore;
let run = 0;

interface Ev {
  id: string;
  date: number;
  contributions: Contribution[];
}

const eventsArb = fc.integer({ min: 1, max: 12 }).chain((n) =>
  fc.tuple(
    ...Array.from({ length: n }, (_, i) =>
      fc
        .record({
          date: fc.integer({ min: T0, max: T0 + 3 * H }),
          picks: fc.uniqueArray(fc.constantFrom(...TERMS), { minLength: 1, maxLength: 3 }),
          weight: fc.constantFrom(10, 6, 4, 2, 0.5),
          kind: fc.constantFrom('search' as const, 'click' as const, 'page_view' as const, 'scroll' as const),
        })
        .map(({ date, picks, weight, kind }): Ev => ({
          id: `e${i}`,
          date,
          contributions: picks.map((term) => ({ term, weight, reason: encodeReason(date, kind, `${term} ${i}`) })),
        })),
    ),
  ),
);

function model(events: readonly Ev[]): Profile {
  return events.reduce((p, e) => applyContributions(p, e.date, e.contributions, settings), emptyProfile());
}

function expectSame(actual: Profile, expected: Profile): void {
  const rank = (p: Profile) => rankPromotions(atRef(p, H), catalog, NOW, 12).map((r) => [r.id, r.reason]);
  expect(rank(actual)).toEqual(rank(expected));
  expect(actual.ref).toBe(expected.ref);
  expect([...actual.scores.keys()].sort()).toEqual([...expected.scores.keys()].sort());
  const got = scoresAtRef(actual, H);
  for (const [t, s] of scoresAtRef(expected, H)) expect(got.get(t)).toBeCloseTo(s, 9);
  expect(actual.reasons).toEqual(expected.reasons);
}

beforeAll(async () => {
  redis = await connectRedis();
  store = new PromotionsStore(redis, prefix, settings);
});

afterAll(async () => {
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('the Lua fold in Redis', () => {
  it('gives the same ranking for any interleaving and duplication as applying each event once in order', async () => {
    await fc.assert(
      fc.asyncProperty(
        eventsArb.chain((events) =>
          fc.tuple(
            fc.constant(events as Ev[]),
            fc.shuffledSubarray([...events.keys(), ...events.keys()], { minLength: 2 * events.length }),
          ),
        ),
        async ([events, order]) => {
          const visitor = `a:prop-${++run}`;
          let last: Profile | undefined;
          for (const i of order) {
            const e = events[i]!;
            const r = await store.apply(visitor, e.id, e.date, e.contributions, NOW);
            if (r.status === 'redirect' || r.status === 'purged') throw new Error(`unexpected ${r.status}`);
            last = r.profile;
          }
          expect(last!.version).toBe(events.length);
          expectSame(await store.readProfile(visitor), model(events));
        },
      ),
      { numRuns: 60 },
    );
  });

  it('merges an anonymous visitor into a user like the model, once, however often the identify arrives', async () => {
    await fc.assert(
      fc.asyncProperty(eventsArb, eventsArb, fc.integer({ min: 1, max: 3 }), async (userEvents, anonEvents, times) => {
        const n = ++run;
        const user = `u:prop-user-${n}`;
        const anon = `a:prop-anon-${n}`;
        for (const e of userEvents) await store.apply(user, `u${e.id}`, e.date, e.contributions, NOW);
        for (const e of anonEvents) await store.apply(anon, `a${e.id}`, e.date, e.contributions, NOW);
        for (let i = 0; i < times; i++) await store.merge(anon, user, `merge:${n}`, NOW);
        // An anonymous event redelivered after the merge goes to the user and is recognised.
        const again = anonEvents[0]!;
        const r = await store.apply(anon, `a${again.id}`, again.date, again.contributions, NOW);
        expect(r.status).toBe('redirect');
        if (r.status === 'redirect')
          expect((await store.apply(r.target, `a${again.id}`, again.date, again.contributions, NOW)).status).toBe('duplicate');
        expectSame(await store.readProfile(user), mergeProfiles(model(userEvents), model(anonEvents), settings));
        expect(await redis.exists(`${prefix}interests:{${anon}}`)).toBe(0);
      }),
      { numRuns: 30 },
    );
  });
});

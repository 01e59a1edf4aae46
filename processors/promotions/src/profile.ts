/**
 * The interest fold, as a pure reference model of what the Lua scripts do in
 * Redis (src/lua.ts). Each term's score is stored relative to a fixed
 * per-visitor base time `base`: an event at `date` adds
 * weight * 2^((date - base) / H). Its value as of a time t is that stored
 * score * 2^((base - t) / H), i.e. every event decays with half-life H from
 * its own date. The fold is a plain sum, so the same set of events gives the
 * same scores in any order (redelivery and replay are safe), and an event
 * only touches its own terms (the Lua script stays small). When
 * (date - base) / H passes REBASE_AFTER_HALF_LIVES the scores are re-expressed
 * against a newer base, long before a double could overflow.
 * Reasons are kept per term as the byte-wise greatest encoded reason (newest
 * date first), which is order-independent too.
 */
import { type Catalog, isActive, type Promotion } from './catalog.ts';
import { stripControlChars } from './text.ts';

export type ActivityKind = 'search' | 'click' | 'page_view' | 'scroll' | 'add_to_cart';

export interface Contribution {
  term: string;
  weight: number;
  /** encodeReason(...) */
  reason: string;
}

export interface Profile {
  /** Newest event date seen (epoch ms); 0 for an empty profile. */
  ref: number;
  /** Time the stored scores are relative to (epoch ms); 0 until the first event. */
  base: number;
  /** Number of applied updates; guards user_promotions writes against stale rankings. */
  version: number;
  scores: Map<string, number>;
  reasons: Map<string, string>;
}

export interface FoldOptions {
  halfLifeMs: number;
  topTerms: number;
}

/** Scores (as of `ref`) below this are noise; trimming drops them. */
export const MIN_SCORE = 1e-9;
export const REBASE_AFTER_HALF_LIVES = 512;
/** The profile may hold up to TRIM_FACTOR * topTerms terms before it is trimmed to topTerms (trims are rare). */
export const TRIM_FACTOR = 2;

export function emptyProfile(): Profile {
  return { ref: 0, base: 0, version: 0, scores: new Map(), reasons: new Map() };
}

export function encodeReason(date: number, kind: ActivityKind, text: string): string {
  const clean = stripControlChars(text).replace(/\|/g, ' ').replace(/\s+/g, ' ').trim().slice(0, 80);
  return `${String(Math.max(0, Math.floor(date))).padStart(15, '0')}|${kind}|${clean}`;
}

export function decodeReason(encoded: string): { date: number; kind: ActivityKind; text: string } {
  const [d = '0', kind = 'page_view', ...rest] = encoded.split('|');
  return { date: Number(d), kind: kind as ActivityKind, text: rest.join('|') };
}

export function describeReason(encoded: string | undefined): string {
  if (!encoded) return 'matches your interests';
  const { kind, text } = decodeReason(encoded);
  switch (kind) {
    case 'search':
      return `you searched "${text}"`;
    case 'click':
      return `you clicked ${text}`;
    case 'add_to_cart':
      return `you added ${text} to your cart`;
    case 'scroll':
      return `you browsed ${text}`;
    default:
      return `you viewed ${text}`;
  }
}

/** Byte order, as the Lua script compares (Redis's Lua `<` would follow the locale). */
export function reasonAfter(a: string, b: string): boolean {
  return Buffer.compare(Buffer.from(a), Buffer.from(b)) > 0;
}

export function decay(halfLifeMs: number, dtMs: number): number {
  return 2 ** (-dtMs / halfLifeMs);
}

/** The scores as of the profile's `ref` (what rankings and the API show). */
export function scoresAtRef(p: Profile, halfLifeMs: number): Map<string, number> {
  const k = decay(halfLifeMs, p.ref - p.base);
  const out = new Map<string, number>();
  for (const [t, s] of p.scores) out.set(t, s * k);
  return out;
}

/** The same profile with scores as of `ref` and `base = ref`. */
export function atRef(p: Profile, halfLifeMs: number): Profile {
  return { ...p, base: p.ref, scores: scoresAtRef(p, halfLifeMs), reasons: new Map(p.reasons) };
}

function byScoreThenTerm(a: [string, number], b: [string, number]): number {
  return b[1] - a[1] || (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0);
}

function trim(p: Profile, topTerms: number, halfLifeMs: number): void {
  if (p.scores.size <= TRIM_FACTOR * topTerms) return;
  const floor = MIN_SCORE / decay(halfLifeMs, p.ref - p.base);
  const ordered = [...p.scores].sort(byScoreThenTerm);
  ordered.forEach(([t, s], i) => {
    if (i >= topTerms || !(s > floor)) {
      p.scores.delete(t);
      p.reasons.delete(t);
    }
  });
}

function clone(p: Profile): Profile {
  return { ref: p.ref, base: p.base, version: p.version, scores: new Map(p.scores), reasons: new Map(p.reasons) };
}

function rebase(p: Profile, to: number, halfLifeMs: number): void {
  const k = 2 ** ((p.base - to) / halfLifeMs);
  for (const [t, s] of p.scores) p.scores.set(t, s * k);
  p.base = to;
}

/** Applies one event's contributions (pure; the Lua script mirrors it). */
export function applyContributions(profile: Profile, date: number, contributions: readonly Contribution[], opts: FoldOptions): Profile {
  const p = clone(profile);
  if (p.base === 0) p.base = date;
  if ((date - p.base) / opts.halfLifeMs > REBASE_AFTER_HALF_LIVES) rebase(p, date, opts.halfLifeMs);
  const c = 2 ** ((date - p.base) / opts.halfLifeMs);
  for (const { term, weight, reason } of contributions) {
    p.scores.set(term, (p.scores.get(term) ?? 0) + weight * c);
    const old = p.reasons.get(term);
    if (old === undefined || reasonAfter(reason, old)) p.reasons.set(term, reason);
  }
  if (date > p.ref) p.ref = date;
  p.version += 1;
  trim(p, opts.topTerms, opts.halfLifeMs);
  return p;
}

/** Folds `from` (an anonymous visitor's profile) into `into` (the user's), both re-expressed against the later base. */
export function mergeProfiles(into: Profile, from: Profile, opts: FoldOptions): Profile {
  const p = clone(into);
  p.version += 1;
  if (from.scores.size === 0) return p;
  const to = Math.max(p.base, from.base);
  if (p.base !== to) rebase(p, to, opts.halfLifeMs);
  const c = 2 ** ((from.base - to) / opts.halfLifeMs);
  for (const [term, s] of from.scores) {
    p.scores.set(term, (p.scores.get(term) ?? 0) + s * c);
    const r = from.reasons.get(term);
    const old = p.reasons.get(term);
    if (r !== undefined && (old === undefined || reasonAfter(r, old))) p.reasons.set(term, r);
  }
  if (from.ref > p.ref) p.ref = from.ref;
  trim(p, opts.topTerms, opts.halfLifeMs);
  return p;
}

/** Reads the Redis hash layout: `_ref`, `_base`, `_v`, `s:<term>` score (relative to _base), `r:<term>` reason. */
export function profileFromHash(flat: readonly string[] | Record<string, string>): Profile {
  const p = emptyProfile();
  const entries: Array<[string, string]> = Array.isArray(flat)
    ? Array.from({ length: Math.floor(flat.length / 2) }, (_, i) => [String(flat[2 * i]), String(flat[2 * i + 1])])
    : Object.entries(flat);
  for (const [f, v] of entries) {
    if (f === '_ref') p.ref = Number(v);
    else if (f === '_base') p.base = Number(v);
    else if (f === '_v') p.version = Number(v);
    else if (f.startsWith('s:')) p.scores.set(f.slice(2), Number(v));
    else if (f.startsWith('r:')) p.reasons.set(f.slice(2), v);
  }
  // A hash written before _base existed kept its scores as of _ref.
  if (p.base === 0 && p.ref > 0 && !entries.some(([f]) => f === '_base')) p.base = p.ref;
  return p;
}

export interface RankedPromotion {
  id: string;
  reason: string;
  /** Interest score as of the profile's ref time. */
  score: number;
}

/** Compares scores at 9 significant digits, so float noise from fold order never flips a ranking. */
function quantize(x: number): number {
  return Number(x.toPrecision(9));
}

/**
 * How much a promotion's other matching terms add to its best one. One event
 * often touches several terms of one promotion (a product click matches all
 * its keywords); summing them would let a click outweigh a search. A small
 * share keeps the strongest interest in charge while the more specific
 * promotion still wins a tie ("cool mist humidifier" -> the cool-mist deal).
 */
export const EXTRA_TERMS_SHARE = 0.1;

/**
 * Ranks the catalog for a profile (pass `atRef(profile, H)` to get scores as
 * of the newest event): each active promotion scores its best
 * term's interest plus EXTRA_TERMS_SHARE of its other terms'; ties go to
 * priority, then id.
 */
export function rankPromotions(profile: Profile, catalog: Catalog, now: number, limit: number): RankedPromotion[] {
  const acc = new Map<Promotion, { sum: number; bestTerm: string; bestScore: number }>();
  const reasons = new Map<string, string>();
  for (const [term, s] of profile.scores) {
    for (const promo of catalog.byTerm.get(term) ?? []) {
      if (!isActive(promo, now)) continue;
      const a = acc.get(promo);
      if (!a) acc.set(promo, { sum: s, bestTerm: term, bestScore: s });
      else {
        a.sum += s;
        if (s > a.bestScore || (s === a.bestScore && term < a.bestTerm)) {
          a.bestScore = s;
          a.bestTerm = term;
        }
      }
    }
  }
  return [...acc]
    .map(([p, a]) => {
      const score = a.bestScore + EXTRA_TERMS_SHARE * (a.sum - a.bestScore);
      return { p, a, score, q: quantize(score) };
    })
    .sort((x, y) => y.q - x.q || y.p.priority - x.p.priority || (x.p.id < y.p.id ? -1 : x.p.id > y.p.id ? 1 : 0))
    .slice(0, limit)
    .map(({ p, a, score }) => {
      let reason = reasons.get(a.bestTerm);
      if (reason === undefined) {
        reason = describeReason(profile.reasons.get(a.bestTerm));
        reasons.set(a.bestTerm, reason);
      }
      return { id: p.id, reason, score };
    });
}

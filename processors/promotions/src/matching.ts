/**
 * Pure matching: maps what a shopper typed, clicked or viewed to catalog terms.
 * A term is a catalog keyword, category or synonym target in canonical form
 * (stemmed tokens joined by a space, e.g. "humidifier", "air purifier").
 * Tolerates case, plurals/inflections, extra words and small typos.
 */
import { allowedTypos, editDistance, stemTokens, termKey, tokenize } from './text.ts';

export interface TermMatch {
  term: string;
  /** 1 for an exact (stemmed) match, lower when typos were forgiven. */
  strength: number;
}

interface Phrase {
  tokens: string[];
  term: string;
}

export interface MatchIndex {
  /** Every term some promotion carries. */
  readonly terms: ReadonlySet<string>;
  readonly phrases: readonly Phrase[];
  /** token -> phrases containing it, so a query only checks phrases it can match */
  readonly phrasesByToken: ReadonlyMap<string, readonly Phrase[]>;
  /** Distinct phrase tokens, for typo lookup, grouped by first letter. */
  readonly vocabulary: ReadonlyMap<string, readonly string[]>;
  readonly vocabularySet: ReadonlySet<string>;
  /** category slug (as written in the catalog, lower-case) -> term */
  readonly categories: ReadonlyMap<string, string>;
  /** product id prefix code ("hum") -> term of its category */
  readonly productPrefixes: ReadonlyMap<string, string>;
  /** product id -> terms of the promotions that list it */
  readonly products: ReadonlyMap<string, readonly string[]>;
  /** promotion id -> its terms */
  readonly promotionTerms: ReadonlyMap<string, readonly string[]>;
}

export interface IndexInput {
  promotions: ReadonlyArray<{
    id: string;
    keywords: readonly string[];
    categories: readonly string[];
    product_ids?: readonly string[] | undefined;
  }>;
  /** canonical phrase -> alternative phrases that mean the same */
  synonyms?: Readonly<Record<string, readonly string[]>>;
  /** product id prefix code -> category slug */
  productPrefixes?: Readonly<Record<string, string>>;
}

export const TYPO_STRENGTH = 0.8;

export function buildMatchIndex(input: IndexInput): MatchIndex {
  const terms = new Set<string>();
  const phrases = new Map<string, Phrase>();
  const categories = new Map<string, string>();
  const products = new Map<string, string[]>();
  const promotionTerms = new Map<string, string[]>();
  const addPhrase = (text: string, term: string) => {
    const tokens = stemTokens(text);
    if (tokens.length === 0) return;
    const key = `${tokens.join(' ')}=>${term}`;
    if (!phrases.has(key)) phrases.set(key, { tokens, term });
  };
  for (const p of input.promotions) {
    const own = new Set<string>();
    for (const k of p.keywords) {
      const t = termKey(k);
      if (t) own.add(t);
    }
    for (const c of p.categories) {
      const t = termKey(c);
      if (!t) continue;
      own.add(t);
      categories.set(c.toLowerCase(), t);
    }
    for (const t of own) {
      terms.add(t);
      addPhrase(t, t);
    }
    promotionTerms.set(p.id, [...own]);
    for (const pid of p.product_ids ?? []) {
      const list = products.get(pid) ?? [];
      for (const t of own) if (!list.includes(t)) list.push(t);
      products.set(pid, list);
    }
  }
  for (const [canonical, alternatives] of Object.entries(input.synonyms ?? {})) {
    const target = termKey(canonical);
    if (!target) continue;
    // A synonym only helps when some promotion carries its target.
    if (!terms.has(target)) continue;
    for (const alt of alternatives) addPhrase(alt, target);
  }
  const productPrefixes = new Map<string, string>();
  for (const [code, slug] of Object.entries(input.productPrefixes ?? {})) {
    const t = termKey(slug);
    if (t) productPrefixes.set(code.toLowerCase(), t);
  }
  const vocabularySet = new Set<string>();
  for (const ph of phrases.values()) for (const tok of ph.tokens) vocabularySet.add(tok);
  const vocabulary = new Map<string, string[]>();
  for (const tok of vocabularySet) {
    const first = tok[0] ?? '';
    const list = vocabulary.get(first) ?? [];
    list.push(tok);
    vocabulary.set(first, list);
  }
  const phrasesByToken = new Map<string, Phrase[]>();
  for (const ph of phrases.values()) {
    for (const tok of new Set(ph.tokens)) {
      const list = phrasesByToken.get(tok) ?? [];
      list.push(ph);
      phrasesByToken.set(tok, list);
    }
  }
  return {
    terms,
    phrases: [...phrases.values()],
    phrasesByToken,
    vocabulary,
    vocabularySet,
    categories,
    productPrefixes,
    products,
    promotionTerms,
  };
}

/** For one query token: the vocabulary tokens it stands for, with strength. */
function resolveToken(index: MatchIndex, token: string): Map<string, number> {
  const out = new Map<string, number>();
  if (index.vocabularySet.has(token)) {
    out.set(token, 1);
    return out;
  }
  const max = allowedTypos(token.length);
  if (max === 0) return out;
  // Typos are rarely in the first letter; requiring it keeps "dehumidifier" away from "humidifier".
  for (const cand of index.vocabulary.get(token[0] ?? '') ?? []) {
    const limit = Math.min(max, allowedTypos(cand.length));
    if (limit === 0) continue;
    if (editDistance(token, cand, limit) <= limit) out.set(cand, TYPO_STRENGTH);
  }
  return out;
}

/** Texts remembered per catalog index: shoppers repeat searches and pages, so most lookups hit. */
export const MATCH_MEMO_SIZE = 10_000;
const memo = new WeakMap<MatchIndex, Map<string, readonly TermMatch[]>>();

/**
 * Terms a free text (a search, a link text, a page path) is about. A phrase
 * matches when each of its tokens is present in the text (any order, extra
 * words allowed, each possibly with a small typo).
 *
 * Remembered per index (a reloaded catalog has a new index and starts empty)
 * for up to MATCH_MEMO_SIZE texts, then forgotten all at once: the answer
 * is frozen, as every caller shares it.
 */
export function matchText(index: MatchIndex, text: string): readonly TermMatch[] {
  let known = memo.get(index);
  if (!known) memo.set(index, (known = new Map()));
  const hit = known.get(text);
  if (hit) return hit;
  const found = Object.freeze(matchTextUncached(index, text).map((m) => Object.freeze(m)));
  if (known.size >= MATCH_MEMO_SIZE) known.clear();
  known.set(text, found);
  return found;
}

function matchTextUncached(index: MatchIndex, text: string): TermMatch[] {
  const queryTokens = stemTokens(text.slice(0, 500)).slice(0, 32);
  if (queryTokens.length === 0) return [];
  const available = new Map<string, number>();
  for (const qt of queryTokens) {
    for (const [tok, s] of resolveToken(index, qt)) available.set(tok, Math.max(available.get(tok) ?? 0, s));
  }
  if (available.size === 0) return [];
  const candidates = new Set<Phrase>();
  for (const tok of available.keys()) for (const ph of index.phrasesByToken.get(tok) ?? []) candidates.add(ph);
  const best = new Map<string, number>();
  for (const ph of candidates) {
    let strength = 1;
    for (const tok of ph.tokens) {
      const s = available.get(tok);
      if (s === undefined) {
        strength = 0;
        break;
      }
      strength = Math.min(strength, s);
    }
    if (strength > 0 && strength > (best.get(ph.term) ?? 0)) best.set(ph.term, strength);
  }
  return [...best].map(([term, strength]) => ({ term, strength })).sort((a, b) => a.term.localeCompare(b.term));
}

/** The term of a category slug or name ("air-purifiers", "Air purifiers"), if the catalog knows it. */
export function matchCategory(index: MatchIndex, category: string): TermMatch[] {
  const direct = index.categories.get(category.toLowerCase().trim());
  if (direct) return [{ term: direct, strength: 1 }];
  const t = termKey(category);
  if (t && index.terms.has(t)) return [{ term: t, strength: 1 }];
  return [];
}

const PRODUCT_ID = /^p-([a-z]{2,5})-[a-z0-9-]+$/;

/** Terms of a product: the promotions that list it, else the category its id prefix names (p-hum-001). */
export function matchProduct(index: MatchIndex, productId: string): TermMatch[] {
  const id = productId.toLowerCase().trim();
  const listed = index.products.get(productId) ?? index.products.get(id);
  const out = new Map<string, number>();
  for (const t of listed ?? []) out.set(t, 1);
  const m = PRODUCT_ID.exec(id);
  const byPrefix = m ? index.productPrefixes.get(m[1] ?? '') : undefined;
  if (byPrefix) out.set(byPrefix, 1);
  return [...out].map(([term, strength]) => ({ term, strength }));
}

/** Terms of a promotion the shopper clicked. */
export function matchPromotion(index: MatchIndex, promotionId: string): TermMatch[] {
  return (index.promotionTerms.get(promotionId) ?? []).map((term) => ({ term, strength: 1 }));
}

const QUERY_PARAMS = ['q', 'query', 'search', 's', 'keyword', 'k'];

/**
 * Terms of a page: product ids and category slugs in its path, a search query
 * in its query string, and the remaining path words.
 */
export function matchPage(index: MatchIndex, pageUrl: string): TermMatch[] {
  let path = pageUrl;
  let query = '';
  try {
    const u = new URL(pageUrl, 'http://x.invalid');
    path = u.pathname;
    for (const name of QUERY_PARAMS) {
      const v = u.searchParams.get(name);
      if (v) {
        query = v;
        break;
      }
    }
  } catch {
    // Not a URL: match its words.
  }
  const out = new Map<string, number>();
  const add = (ms: readonly TermMatch[]) => {
    for (const m of ms) out.set(m.term, Math.max(out.get(m.term) ?? 0, m.strength));
  };
  const words: string[] = [];
  let segments: string[];
  try {
    segments = decodeURIComponent(path).split('/');
  } catch {
    segments = path.split('/');
  }
  for (const seg of segments.slice(0, 12)) {
    if (!seg) continue;
    const product = matchProduct(index, seg);
    if (product.length > 0) {
      add(product);
      continue;
    }
    const cat = index.categories.get(seg.toLowerCase());
    if (cat) {
      add([{ term: cat, strength: 1 }]);
      continue;
    }
    words.push(...tokenize(seg));
  }
  if (words.length > 0) add(matchText(index, words.join(' ')));
  if (query) add(matchText(index, query));
  return [...out].map(([term, strength]) => ({ term, strength })).sort((a, b) => a.term.localeCompare(b.term));
}

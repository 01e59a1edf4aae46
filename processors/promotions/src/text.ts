/**
 * Text normalisation shared by the catalog compiler and the matcher: the
 * catalog's keywords and a shopper's search go through the same steps, so a
 * term matches whatever inflection either side used.
 */

const STOPWORDS = new Set([
  'a',
  'an',
  'and',
  'the',
  'for',
  'with',
  'in',
  'on',
  'of',
  'to',
  'my',
  'me',
  'best',
  'cheap',
  'buy',
  'new',
  'sale',
  'deal',
  'deals',
  'shop',
  'online',
  'near',
  'top',
  'good',
  'or',
  'by',
  'at',
  'from',
  'is',
  'it',
  'que',
  'de',
]);

/** Lower-case, strip accents, split on anything that is not a letter or digit. */
export function tokenize(text: string): string[] {
  return text
    .normalize('NFKD')
    .replace(/[\u0300-\u036f]/g, '')
    .toLowerCase()
    .split(/[^a-z0-9]+/)
    .filter((t) => t.length > 0);
}

const VOWELS = /[aeiouy]/;

function undouble(stem: string): string {
  // "bedd" (from bedding) -> "bed", "shopp" -> "shop"; keep ll/ss/zz ("grill", "glass").
  const n = stem.length;
  if (n >= 3 && stem[n - 1] === stem[n - 2] && !'lsz'.includes(stem[n - 1] ?? '') && !VOWELS.test(stem[n - 1] ?? '')) {
    return stem.slice(0, -1);
  }
  return stem;
}

/**
 * A light English stemmer: plurals and -ing/-ed. Deliberately keeps "-er"
 * (humidifier, heater, speaker are the product words shoppers type).
 */
export function stem(token: string): string {
  let t = token;
  if (t.length <= 3 || /^\d+$/.test(t)) return t;
  if (t.endsWith('ies') && t.length > 4) t = `${t.slice(0, -3)}y`;
  else if (t.endsWith('sses')) t = t.slice(0, -2);
  else if (/(xes|ches|shes|zes)$/.test(t)) t = t.slice(0, -2);
  else if (t.endsWith('s') && !/(ss|us|is)$/.test(t)) t = t.slice(0, -1);
  if (t.endsWith('ing') && t.length >= 6 && VOWELS.test(t.slice(0, -3))) t = undouble(t.slice(0, -3));
  else if (t.endsWith('ed') && t.length >= 5 && VOWELS.test(t.slice(0, -2))) t = undouble(t.slice(0, -2));
  return t;
}

/** Tokens of a phrase, stemmed, without stopwords. */
export function stemTokens(text: string): string[] {
  return tokenize(text)
    .filter((t) => !STOPWORDS.has(t))
    .map(stem);
}

/** The canonical term key of a catalog phrase or category slug: stemmed tokens joined by one space. */
export function termKey(phrase: string): string {
  return stemTokens(phrase).join(' ');
}

/**
 * Optimal string alignment distance (Levenshtein + adjacent transposition),
 * giving up early once it exceeds `max` (returns max + 1).
 */
export function editDistance(a: string, b: string, max: number): number {
  if (Math.abs(a.length - b.length) > max) return max + 1;
  if (a === b) return 0;
  const n = a.length;
  const m = b.length;
  let prev2 = new Array<number>(m + 1).fill(0);
  let prev = Array.from({ length: m + 1 }, (_, j) => j);
  let cur = new Array<number>(m + 1).fill(0);
  for (let i = 1; i <= n; i++) {
    cur[0] = i;
    let rowMin = i;
    for (let j = 1; j <= m; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      let v = Math.min((prev[j] ?? 0) + 1, (cur[j - 1] ?? 0) + 1, (prev[j - 1] ?? 0) + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) v = Math.min(v, (prev2[j - 2] ?? 0) + 1);
      cur[j] = v;
      if (v < rowMin) rowMin = v;
    }
    if (rowMin > max) return max + 1;
    [prev2, prev, cur] = [prev, cur, prev2];
  }
  const d = prev[m] ?? max + 1;
  return d > max ? max + 1 : d;
}

/** How many typos a token of this length may carry and still match. */
export function allowedTypos(length: number): number {
  if (length >= 9) return 2;
  if (length >= 5) return 1;
  return 0;
}

/** True when the text holds ASCII control characters (C0 or DEL). */
export function hasControlChars(text: string): boolean {
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c < 32 || c === 127) return true;
  }
  return false;
}

/** Replaces ASCII control characters with spaces. */
export function stripControlChars(text: string): string {
  return hasControlChars(text) ? Array.from(text, (ch) => (hasControlChars(ch) ? ' ' : ch)).join('') : text;
}

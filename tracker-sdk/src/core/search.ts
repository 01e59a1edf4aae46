import type { KV } from './storage.ts';

export const MAX_KEYWORD = 200;

/** Trimmed, inner whitespace collapsed, capped; '' when nothing is left. */
export function normalizeKeyword(raw: unknown): string {
  if (typeof raw !== 'string') return '';
  return raw.replace(/\s+/g, ' ').trim().slice(0, MAX_KEYWORD);
}

/** The search keyword a results URL carries in one of `params` (first non-empty wins). */
export function keywordFromUrl(href: string, params: readonly string[]): string {
  try {
    const q = new URL(href).searchParams;
    for (const p of params) {
      const k = normalizeKeyword(q.get(p));
      if (k) return k;
    }
  } catch {
    /* not a URL */
  }
  return '';
}

/**
 * One search is one event, whichever ways it is seen (typing, form submit,
 * results URL, explicit call): the same keyword (case-insensitive) within
 * `windowMs` of the last one is a duplicate. The last search is stored so the
 * results page loaded after a form submit recognises it.
 */
export function seenSearch(kv: KV, key: string, keyword: string, now: number, windowMs: number): boolean {
  const k = keyword.toLowerCase();
  const raw = kv.get(key);
  const i = raw ? raw.indexOf('|') : -1;
  const dup = i > 0 && raw!.slice(i + 1) === k && now - Number(raw!.slice(0, i)) < windowMs;
  kv.set(key, `${now}|${k}`);
  return dup;
}

/**
 * The shop's promotions catalog: parsing and validation (pure), and a store
 * that reloads the file when it changes and keeps the previous catalog when
 * the new one is invalid.
 */
import { createHash } from 'node:crypto';
import { readFile, stat } from 'node:fs/promises';
import type { Logger } from 'pino';
import { z } from 'zod';
import { CatalogError } from './errors.ts';
import { buildMatchIndex, type MatchIndex } from './matching.ts';
import { hasControlChars } from './text.ts';

/** Relative to the shop (`/deals/x`) or absolute https; never `//host`, `javascript:`, `data:` or plain http. */
export function isSafeUrl(url: string): boolean {
  if (hasControlChars(url) || /\s/.test(url)) return false;
  if (url.startsWith('/')) return !url.startsWith('//') && !url.startsWith('/\\');
  try {
    const u = new URL(url);
    return u.protocol === 'https:' && u.hostname.length > 0;
  } catch {
    return false;
  }
}

const time = z.union([z.number().int().nonnegative(), z.iso.datetime({ offset: true }), z.iso.date()]);

const promotionSchema = z
  .object({
    id: z.string().regex(/^[A-Za-z0-9._:-]{1,64}$/, 'id: 1-64 letters, digits, ".", "_", ":" or "-"'),
    title: z.string().trim().min(1, 'title must not be empty').max(200, 'title: at most 200 characters'),
    url: z.string().max(2048).refine(isSafeUrl, 'url must be relative ("/deals/x") or https://'),
    keywords: z.array(z.string().trim().min(1).max(100)).max(100).default([]),
    categories: z
      .array(z.string().regex(/^[a-z0-9][a-z0-9-]{0,63}$/, 'category slugs are lower-case letters, digits and "-"'))
      .max(50)
      .default([]),
    product_ids: z.array(z.string().min(1).max(64)).max(500).optional(),
    priority: z.number().finite().default(0),
    default: z.boolean().default(false),
    starts_at: time.optional(),
    ends_at: time.optional(),
  })
  .loose();

const fileSchema = z.union([
  z.array(z.unknown()),
  z
    .object({
      version: z.number().optional(),
      synonyms: z.record(z.string(), z.array(z.string().min(1).max(100))).optional(),
      product_prefixes: z.record(z.string().regex(/^[a-z]{2,5}$/), z.string()).optional(),
      promotions: z.array(z.unknown()),
    })
    .loose(),
]);

export interface Promotion {
  id: string;
  title: string;
  url: string;
  keywords: string[];
  categories: string[];
  productIds: string[];
  priority: number;
  isDefault: boolean;
  startsAt: number | null;
  endsAt: number | null;
  /** Canonical terms the promotion answers to. */
  terms: readonly string[];
}

export interface Catalog {
  readonly promotions: readonly Promotion[];
  readonly byId: ReadonlyMap<string, Promotion>;
  /** term -> promotions carrying it */
  readonly byTerm: ReadonlyMap<string, readonly Promotion[]>;
  readonly index: MatchIndex;
  /** sha256 of the source text: tells which catalog computed a ranking. */
  readonly hash: string;
}

function toMs(v: number | string | undefined): number | null {
  if (v === undefined) return null;
  if (typeof v === 'number') return v;
  return Date.parse(v.length === 10 ? `${v}T00:00:00Z` : v);
}

function describe(raw: unknown, i: number): string {
  const id = raw && typeof raw === 'object' && 'id' in raw ? JSON.stringify((raw as { id: unknown }).id) : '(no id)';
  return `promotions[${i}] id=${id}`;
}

/** Parses and validates catalog text. Throws CatalogError naming every bad entry. */
export function parseCatalog(text: string, source = 'catalog'): Catalog {
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (err) {
    throw new CatalogError(source, [`not valid JSON: ${(err as Error).message}`], err);
  }
  const file = fileSchema.safeParse(json);
  if (!file.success) {
    throw new CatalogError(source, [
      'expected an array of promotions or {"promotions": [...], "synonyms"?: {...}, "product_prefixes"?: {...}}',
    ]);
  }
  const rawList = Array.isArray(file.data) ? file.data : file.data.promotions;
  const synonyms = Array.isArray(file.data) ? undefined : file.data.synonyms;
  const productPrefixes = Array.isArray(file.data) ? undefined : file.data.product_prefixes;
  const problems: string[] = [];
  const promotions: Promotion[] = [];
  const seen = new Set<string>();
  rawList.forEach((raw, i) => {
    const r = promotionSchema.safeParse(raw);
    if (!r.success) {
      for (const issue of r.error.issues) problems.push(`${describe(raw, i)}: ${issue.path.join('.') || '(entry)'}: ${issue.message}`);
      return;
    }
    const p = r.data;
    if (seen.has(p.id)) problems.push(`${describe(raw, i)}: duplicate id (ids must be unique)`);
    seen.add(p.id);
    const startsAt = toMs(p.starts_at);
    const endsAt = toMs(p.ends_at);
    if (startsAt !== null && endsAt !== null && endsAt <= startsAt) problems.push(`${describe(raw, i)}: ends_at must be after starts_at`);
    if (!p.default && p.keywords.length === 0 && p.categories.length === 0 && !p.product_ids?.length) {
      problems.push(`${describe(raw, i)}: needs keywords, categories or product_ids (or "default": true)`);
    }
    promotions.push({
      id: p.id,
      title: p.title,
      url: p.url,
      keywords: p.keywords,
      categories: p.categories,
      productIds: p.product_ids ?? [],
      priority: p.priority,
      isDefault: p.default,
      startsAt,
      endsAt,
      terms: [],
    });
  });
  if (promotions.length === 0 && problems.length === 0) problems.push('the catalog has no promotions');
  if (problems.length > 0) throw new CatalogError(source, problems);
  const index = buildMatchIndex({
    promotions: promotions.map((p) => ({ id: p.id, keywords: p.keywords, categories: p.categories, product_ids: p.productIds })),
    synonyms,
    productPrefixes,
  });
  const byTerm = new Map<string, Promotion[]>();
  for (const p of promotions) {
    p.terms = index.promotionTerms.get(p.id) ?? [];
    for (const t of p.terms) {
      const list = byTerm.get(t) ?? [];
      list.push(p);
      byTerm.set(t, list);
    }
  }
  return {
    promotions,
    byId: new Map(promotions.map((p) => [p.id, p])),
    byTerm,
    index,
    hash: createHash('sha256').update(text).digest('hex').slice(0, 16),
  };
}

export function isActive(p: Promotion, now: number): boolean {
  return (p.startsAt === null || now >= p.startsAt) && (p.endsAt === null || now < p.endsAt);
}

/**
 * The shop's default promotions at `now`: those marked `"default": true`,
 * best priority first; when none is marked (or all are inactive), the
 * highest-priority active promotions stand in.
 */
export function defaultPromotions(catalog: Catalog, now: number): Promotion[] {
  const active = catalog.promotions.filter((p) => isActive(p, now));
  const byPriority = (a: Promotion, b: Promotion) => b.priority - a.priority || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);
  const marked = active.filter((p) => p.isDefault).sort(byPriority);
  const rest = active.filter((p) => !p.isDefault).sort(byPriority);
  return [...marked, ...rest];
}

export interface CatalogStoreOptions {
  path: string;
  pollMs: number;
  logger: Logger;
  onReload?: (catalog: Catalog) => void;
  onReloadFailed?: (err: CatalogError) => void;
}

/** Holds the current catalog; polls the file's mtime/size and swaps in a valid new version. */
export class CatalogStore {
  #current: Catalog | undefined;
  #timer: NodeJS.Timeout | undefined;
  #lastStamp = '';
  #checking = false;
  readonly #opts: CatalogStoreOptions;

  constructor(opts: CatalogStoreOptions) {
    this.#opts = opts;
  }

  get current(): Catalog {
    if (!this.#current) throw new Error('catalog not loaded: call CatalogStore.load() first');
    return this.#current;
  }

  /** First load: an invalid catalog here is fatal (there is nothing to keep). */
  async load(): Promise<Catalog> {
    const { catalog, stamp } = await this.#read();
    this.#current = catalog;
    this.#lastStamp = stamp;
    this.#opts.logger.info(
      { path: this.#opts.path, promotions: catalog.promotions.length, hash: catalog.hash },
      'promotions catalog loaded',
    );
    return catalog;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => void this.check(), this.#opts.pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }

  /** Reloads when the file changed. Returns true when a new catalog is in use. */
  async check(): Promise<boolean> {
    if (this.#checking) return false;
    this.#checking = true;
    try {
      let stamp: string;
      try {
        stamp = await this.#stamp();
      } catch (err) {
        this.#opts.logger.warn({ path: this.#opts.path, err }, 'promotions catalog file unreadable; keeping the previous catalog');
        return false;
      }
      if (stamp === this.#lastStamp) return false;
      try {
        const { catalog, stamp: readStamp } = await this.#read();
        this.#lastStamp = readStamp;
        if (this.#current && catalog.hash === this.#current.hash) return false;
        this.#current = catalog;
        this.#opts.logger.info(
          { path: this.#opts.path, promotions: catalog.promotions.length, hash: catalog.hash },
          'promotions catalog reloaded',
        );
        this.#opts.onReload?.(catalog);
        return true;
      } catch (err) {
        this.#lastStamp = stamp;
        const e = err instanceof CatalogError ? err : new CatalogError(this.#opts.path, [(err as Error).message], err);
        this.#opts.logger.error(
          { path: this.#opts.path, problems: e.problems },
          `promotions catalog rejected; keeping the previous one: ${e.problems.join('; ')}`,
        );
        this.#opts.onReloadFailed?.(e);
        return false;
      }
    } finally {
      this.#checking = false;
    }
  }

  async #stamp(): Promise<string> {
    const s = await stat(this.#opts.path);
    return `${s.mtimeMs}:${s.size}:${s.ino}`;
  }

  async #read(): Promise<{ catalog: Catalog; stamp: string }> {
    const stamp = await this.#stamp().catch((err: NodeJS.ErrnoException) => {
      throw new CatalogError(
        this.#opts.path,
        [`cannot read the file (${err.code ?? err.message}); set PROMOTIONS_CATALOG to a readable JSON file`],
        err,
      );
    });
    const text = await readFile(this.#opts.path, 'utf8');
    return { catalog: parseCatalog(text, this.#opts.path), stamp };
  }
}

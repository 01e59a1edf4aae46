/**
 * Token buckets keyed by write key or client IP, in memory (per instance: with
 * N instances behind a balancer the effective limit is N times the setting).
 * The map is bounded: when it grows past maxEntries, idle full buckets are
 * swept, then the oldest are dropped (a dropped bucket refills to full, which
 * errs towards letting traffic through).
 */
export interface TakeResult {
  ok: boolean;
  /** Seconds until `cost` tokens are available (when !ok). */
  retryAfterS: number;
}

interface Bucket {
  tokens: number;
  at: number;
}

export class TokenBuckets {
  private readonly buckets = new Map<string, Bucket>();
  constructor(
    private readonly ratePerS: number,
    private readonly burst: number,
    private readonly now: () => number = Date.now,
    private readonly maxEntries = 100_000,
  ) {}

  get enabled(): boolean {
    return this.ratePerS > 0;
  }

  get size(): number {
    return this.buckets.size;
  }

  take(id: string, requested = 1): TakeResult {
    if (this.ratePerS <= 0) return { ok: true, retryAfterS: 0 };
    // A request bigger than the bucket could never pass; it passes on a full bucket instead.
    const cost = Math.min(requested, this.burst);
    const now = this.now();
    let b = this.buckets.get(id);
    if (!b) {
      if (this.buckets.size >= this.maxEntries) this.sweep(now);
      b = { tokens: this.burst, at: now };
      this.buckets.set(id, b);
    } else {
      b.tokens = Math.min(this.burst, b.tokens + ((now - b.at) / 1000) * this.ratePerS);
      b.at = now;
    }
    if (b.tokens >= cost) {
      b.tokens -= cost;
      return { ok: true, retryAfterS: 0 };
    }
    const missing = cost - b.tokens;
    return { ok: false, retryAfterS: Math.max(1, Math.ceil(missing / this.ratePerS)) };
  }

  private sweep(now: number): void {
    for (const [id, b] of this.buckets) {
      if (b.tokens + ((now - b.at) / 1000) * this.ratePerS >= this.burst) this.buckets.delete(id);
    }
    // Still full of busy buckets: drop the oldest quarter (Map keeps insertion order).
    if (this.buckets.size >= this.maxEntries) {
      let drop = Math.ceil(this.maxEntries / 4);
      for (const id of this.buckets.keys()) {
        if (drop-- <= 0) break;
        this.buckets.delete(id);
      }
    }
  }
}

/**
 * Per-visitor limit (hot visitor isolation): one bucket per site and
 * anonymous_id. Keyed by anonymous_id, never by a claimed user_id, so a flood
 * that names somebody else's user_id cannot get that user's own events
 * limited. A visitor that rotates anonymous ids is a new visitor each time and
 * meets the per-IP and per-key limits instead. Takes each visitor's share of
 * the batch; returns 0 when all passed, else the longest Retry-After (tokens
 * already taken for the other visitors of a mixed batch stay taken: it errs
 * towards limiting, and SDK batches hold one visitor).
 */
export function takeVisitors(buckets: TokenBuckets, site: string, events: readonly unknown[]): number {
  if (!buckets.enabled) return 0;
  let first: string | undefined;
  let firstCount = 0;
  let others: Map<string, number> | undefined;
  for (const e of events) {
    const id = typeof e === 'object' && e !== null ? (e as { anonymous_id?: unknown }).anonymous_id : undefined;
    // Events without an anonymous_id are rejected by validation; the per-key and per-IP limits bound them.
    if (typeof id !== 'string' || id.length === 0) continue;
    if (first === undefined || id === first) {
      first = id;
      firstCount++;
    } else {
      others ??= new Map();
      others.set(id, (others.get(id) ?? 0) + 1);
    }
  }
  let retryAfterS = 0;
  const take = (id: string, n: number) => {
    const r = buckets.take(`${site}\u0000${id.slice(0, 256)}`, n);
    if (!r.ok) retryAfterS = Math.max(retryAfterS, r.retryAfterS);
  };
  if (first !== undefined) take(first, firstCount);
  if (others) for (const [id, n] of others) take(id, n);
  return retryAfterS;
}

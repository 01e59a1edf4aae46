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

/**
 * Reads Prometheus histograms from /metrics text, for the benches that
 * report where the time went (quantiles are interpolated inside a bucket,
 * as Prometheus' histogram_quantile does, so they are as coarse as the
 * buckets).
 */

export interface Histogram {
  /** Cumulative counts by upper bound, ascending, +Inf last. */
  buckets: Array<[number, number]>;
  count: number;
}

/** One histogram series: `name`, or its series whose labels include every `labels` pair. */
export function parseHistogram(text: string, name: string, labels: Record<string, string> = {}): Histogram {
  const want = Object.entries(labels).map(([k, v]) => `${k}="${v}"`);
  const buckets: Array<[number, number]> = [];
  for (const m of text.matchAll(new RegExp(`^${name}_bucket\\{([^}]*)\\} (\\d+)$`, 'gm'))) {
    const got = m[1] ?? '';
    if (!want.every((w) => got.includes(w))) continue;
    const le = /le="([^"]+)"/.exec(got)?.[1];
    buckets.push([le === '+Inf' ? Infinity : Number(le), Number(m[2])]);
  }
  buckets.sort((a, b) => a[0] - b[0]);
  return { buckets, count: buckets.at(-1)?.[1] ?? 0 };
}

/** What was observed between two scrapes of the same series (missing series count as empty). */
export function histogramDelta(after: Histogram, before: Histogram): Histogram {
  const old = new Map(before.buckets);
  const buckets = after.buckets.map(([le, c]): [number, number] => [le, c - (old.get(le) ?? 0)]);
  return { buckets, count: buckets.at(-1)?.[1] ?? 0 };
}

/** The q-quantile in seconds (linear inside its bucket); Infinity when it falls in +Inf, NaN when empty. */
export function histogramQuantile(h: Histogram, q: number): number {
  if (h.count === 0) return NaN;
  const target = q * h.count;
  let prev: [number, number] = [0, 0];
  for (const [le, c] of h.buckets) {
    if (c >= target) {
      if (le === Infinity) return Infinity;
      const frac = c === prev[1] ? 1 : (target - prev[1]) / (c - prev[1]);
      return prev[0] + frac * (le - prev[0]);
    }
    prev = [le, c];
  }
  return NaN;
}

/** Share of observations at or below `le` (which must be a bucket bound). */
export function histogramShareAtOrBelow(h: Histogram, le: number): number {
  return (h.buckets.find(([b]) => b === le)?.[1] ?? 0) / Math.max(1, h.count);
}

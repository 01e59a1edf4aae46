import { describe, expect, it } from 'vitest';
import { histogramDelta, histogramQuantile, histogramShareAtOrBelow, parseHistogram } from '../../src/prom-histogram.ts';

// As prom-client writes it: le first, then the other labels; one unlabeled and one labeled histogram.
const scrape = (a: number[], b: number[]) => `# HELP x_seconds x
# TYPE x_seconds histogram
x_seconds_bucket{le="0.1"} ${a[0]}
x_seconds_bucket{le="1"} ${a[1]}
x_seconds_bucket{le="+Inf"} ${a[2]}
x_seconds_sum 1
x_seconds_count ${a[2]}
y_seconds_bucket{le="0.1",stage="fetch"} ${b[0]}
y_seconds_bucket{le="1",stage="fetch"} ${b[1]}
y_seconds_bucket{le="+Inf",stage="fetch"} ${b[2]}
y_seconds_bucket{le="0.1",stage="apply"} 7
y_seconds_bucket{le="1",stage="apply"} 7
y_seconds_bucket{le="+Inf",stage="apply"} 7
`;

describe('prometheus histogram reading', () => {
  it('parses one series by name and labels, whatever the label order', () => {
    const text = scrape([10, 30, 40], [1, 2, 3]);
    expect(parseHistogram(text, 'x_seconds')).toEqual({
      buckets: [
        [0.1, 10],
        [1, 30],
        [Infinity, 40],
      ],
      count: 40,
    });
    expect(parseHistogram(text, 'y_seconds', { stage: 'fetch' }).count).toBe(3);
    expect(parseHistogram(text, 'y_seconds', { stage: 'apply' }).count).toBe(7);
    expect(parseHistogram(text, 'y_seconds', { stage: 'none' })).toEqual({ buckets: [], count: 0 });
  });

  it('subtracts an earlier scrape, a missing earlier series counting as empty', () => {
    const after = parseHistogram(scrape([10, 30, 40], [0, 0, 0]), 'x_seconds');
    const before = parseHistogram(scrape([5, 5, 6], [0, 0, 0]), 'x_seconds');
    expect(histogramDelta(after, before)).toEqual({
      buckets: [
        [0.1, 5],
        [1, 25],
        [Infinity, 34],
      ],
      count: 34,
    });
    expect(histogramDelta(after, { buckets: [], count: 0 })).toEqual(after);
  });

  it('interpolates quantiles inside the bucket and flags the overflow bucket', () => {
    const h = parseHistogram(scrape([10, 30, 40], [0, 0, 0]), 'x_seconds');
    expect(histogramQuantile(h, 0.25)).toBeCloseTo(0.1); // the 10th of 40 is the top of the first bucket
    expect(histogramQuantile(h, 0.5)).toBeCloseTo(0.1 + 0.5 * 0.9); // 20th: half way through (0.1, 1]
    expect(histogramQuantile(h, 0.99)).toBe(Infinity);
    expect(histogramQuantile({ buckets: [], count: 0 }, 0.5)).toBeNaN();
    expect(histogramShareAtOrBelow(h, 1)).toBe(0.75);
  });
});

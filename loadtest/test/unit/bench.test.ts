import { describe, expect, it } from 'vitest';
import { freshnessStages, ladderRow, peakEventsPerS, stagesOf, sustained } from '../../src/bench.ts';
import { renderChart } from '../../src/chart.ts';

const summary = {
  metrics: {
    'http_reqs{stage:5000}': { values: { count: 10_000 } },
    'http_req_duration{stage:5000}': { values: { 'p(99)': 8 } },
    'http_req_failed{stage:5000}': { values: { rate: 0 } },
    'dropped_iterations{scenario:rps_500}': { values: { count: 0 } },
    'http_reqs{stage:10000}': { values: { count: 20_000 } },
    'http_req_duration{stage:10000}': { values: { 'p(99)': 19 } },
    'http_req_failed{stage:10000}': { values: { rate: 0.0005 } },
    'dropped_iterations{scenario:rps_1000}': { values: { count: 0 } },
    'http_reqs{stage:20000}': { values: { count: 38_000 } },
    'http_req_duration{stage:20000}': { values: { 'p(99)': 31 } },
    'http_req_failed{stage:20000}': { values: { rate: 0 } },
    'dropped_iterations{scenario:rps_2000}': { values: { count: 12 } },
  },
};

describe('reading a k6 ramp', () => {
  it('turns per-stage submetrics into offered vs achieved events/s with p99, errors and drops', () => {
    const stages = stagesOf(summary, [500, 1000, 2000], 20);
    expect(stages).toEqual([
      { eventsPerS: 5000, achievedEventsPerS: 5000, p99: 8, failedRate: 0, dropped: 0 },
      { eventsPerS: 10000, achievedEventsPerS: 10000, p99: 19, failedRate: 0.0005, dropped: 0 },
      { eventsPerS: 20000, achievedEventsPerS: 19000, p99: 31, failedRate: 0, dropped: 12 },
    ]);
  });

  it('calls sustained the last stage before p99, errors or dropped iterations break the target', () => {
    const stages = stagesOf(summary, [500, 1000, 2000], 20);
    expect(sustained(stages)?.eventsPerS).toBe(10000);
    expect(sustained([{ ...stages[0]!, p99: 30 }, stages[1]!])).toBeUndefined();
    expect(sustained([stages[0]!, { ...stages[1]!, failedRate: 0.002 }])?.eventsPerS).toBe(5000);
  });

  it('draws each series as a polyline with the target line, escaping names', () => {
    const svg = renderChart(
      [
        {
          name: 'a<b',
          points: [
            [1000, 5],
            [2000, 30],
          ],
        },
      ],
      { title: 't', yMax: 100, targetY: 25 },
    );
    expect(svg).toContain('<polyline');
    expect(svg).toContain('a&#60;b');
    expect(svg).toContain('p99 target 25 ms');
    expect(svg.match(/<circle/g)).toHaveLength(2);
  });
});

describe('peakEventsPerS', () => {
  it('takes the highest achieved rate of any stage, and 0 without stages', () => {
    expect(peakEventsPerS([{ achievedEventsPerS: 3987 }, { achievedEventsPerS: 4910 }, { achievedEventsPerS: 2215 }])).toBe(4910);
    expect(peakEventsPerS([])).toBe(0);
  });
});

describe('freshnessStages', () => {
  const text = (total: number[], toConsumer: number[]) =>
    [
      ...[0.1, 1, '+Inf'].map((le, i) => `promotions_freshness_seconds_bucket{le="${le}"} ${total[i]}`),
      ...[0.1, 1, '+Inf'].map((le, i) => `promotions_freshness_stage_seconds_bucket{le="${le}",stage="to_consumer"} ${toConsumer[i]}`),
    ].join('\n');

  it('reports what the run added, per stage, with its quantiles', () => {
    const table = freshnessStages(text([5, 5, 5], [5, 5, 5]), text([5, 105, 105], [105, 105, 105])).split('\n');
    // 100 new events, all in (0.1, 1] s: the median interpolates to 550 ms; to_consumer's all ≤ 100 ms.
    expect(table.find((r) => r.includes('(total)'))).toBe('| event date → confirmed Redis write (total) | 100 | 550 | 955 | 991 |');
    expect(table.find((r) => r.startsWith('| to_consumer'))).toMatch(/\| 100 \| 50\.0 \| 95\.0 \| 99\.0 \|$/);
    // A stage with nothing observed says so instead of inventing a figure.
    expect(table.find((r) => r.startsWith('| apply'))).toMatch(/\| 0 \| - \| - \| - \|$/);
  });
});

describe('ladderRow', () => {
  it("puts the probe's figures beside the processor's p99s over the same run", () => {
    const scrape = (n: number) =>
      [
        ...[0.1, 1, '+Inf'].map((le, i) => `promotions_freshness_seconds_bucket{le="${le}"} ${[n, n, n][i]}`),
        ...[0.1, 1, '+Inf'].map((le) => `promotions_freshness_stage_seconds_bucket{le="${le}",stage="to_consumer"} ${n}`),
      ].join('\n');
    const summary = {
      metrics: { freshness_ms: { values: { med: 12, 'p(95)': 40, 'p(99)': 90, count: 400 } }, events_sent: { values: { count: 40_000 } } },
    };
    const row = ladderRow(2000, 20, summary, 0, scrape(10), scrape(110));
    // 100 new observations all ≤ 100 ms: p99 interpolates to 99 ms; apply saw nothing: '-'.
    expect(row).toBe('| 2,000 / 2,000 | 12 / 40 / 90 (400) | 99 | 99 | - | 0 |');
  });
});

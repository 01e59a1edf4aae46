import { describe, expect, it } from 'vitest';
import { insertConcurrency, loadAnalyticsConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

describe('analytics settings', () => {
  it('has production defaults near 50,000 rows / 1 s', () => {
    const c = loadAnalyticsConfig({});
    expect(c.batch).toEqual({ maxRows: 50_000, maxBytes: 32 * 1024 * 1024, flushIntervalMs: 1000 });
    expect(c.kafkaBrokers).toEqual(['localhost:9092']);
    expect(c.topicPrefix).toBe('');
    expect(c.clickhouseUrl).toBeUndefined();
    expect(c.dataDir).toBe('.data/');
    expect(c.eventsTtlDays).toBe(395);
    expect(c.insertDedupToken).toBe(true);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('runs 2 inserts at once on the embedded engine and 4 on a server unless ANALYTICS_INSERT_CONCURRENCY says otherwise', () => {
    expect(insertConcurrency(loadAnalyticsConfig({}))).toBe(2);
    expect(insertConcurrency(loadAnalyticsConfig({ CLICKHOUSE_URL: 'http://default:@localhost:8123' }))).toBe(4);
    expect(insertConcurrency(loadAnalyticsConfig({ ANALYTICS_INSERT_CONCURRENCY: '1' }))).toBe(1);
    expect(insertConcurrency(loadAnalyticsConfig({ ANALYTICS_INSERT_CONCURRENCY: '3', CLICKHOUSE_URL: 'http://localhost:8123' }))).toBe(3);
    expect(() => loadAnalyticsConfig({ ANALYTICS_INSERT_CONCURRENCY: '0' })).toThrow(/ANALYTICS_INSERT_CONCURRENCY/);
  });

  it('reports every bad setting with its name and expected form', () => {
    try {
      loadAnalyticsConfig({
        ANALYTICS_BATCH_MAX_ROWS: 'many',
        KAFKA_BROKERS: 'nope',
        CLICKHOUSE_URL: 'not a url',
        ANALYTICS_INSERT_DEDUP_TOKEN: 'maybe',
      });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const problems = (err as ConfigError).problems.join('\n');
      expect(problems).toMatch(/ANALYTICS_BATCH_MAX_ROWS/);
      expect(problems).toMatch(/KAFKA_BROKERS: host:port/);
      expect(problems).toMatch(/CLICKHOUSE_URL/);
      expect(problems).toMatch(/ANALYTICS_INSERT_DEDUP_TOKEN: true or false/);
    }
  });
});

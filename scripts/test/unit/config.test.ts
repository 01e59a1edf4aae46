import { describe, expect, it } from 'vitest';
import { loadServicesConfig } from '../../src/config.ts';
import { loadHostConfig } from '../../src/host-config.ts';

describe('settings', () => {
  it('runs the test suite itself on Node 24 or newer', () => {
    expect(Number(process.versions.node.split('.')[0])).toBeGreaterThanOrEqual(24);
  });

  it('uses the documented defaults when nothing is set', () => {
    const s = loadServicesConfig({});
    expect(s.kafkaBrokers).toEqual(['localhost:9092']);
    expect(s.kafkaBrokersSetting).toBeUndefined();
    expect(s.redisUrl).toBe('redis://localhost:6379');
    expect(s.topicPrefix).toBe('');
    expect(s.partitions).toBe(6);
    const h = loadHostConfig({});
    expect(h.problems).toEqual([]);
    expect(h.config?.port).toBe(3000);
    expect(h.config?.dataDir).toMatch(/\/\.data$/);
    expect(h.config?.clickhouseUrl).toBeUndefined();
  });

  it('reports every bad setting at once, each with its name and what it got', () => {
    expect(() =>
      loadServicesConfig({ KAFKA_BROKERS: 'nohost', REDIS_URL: 'not a url', TOPIC_PREFIX: 'a b', KAFKA_PARTITIONS: '0' }),
    ).toThrow(/KAFKA_BROKERS: host:port\[,host:port\.\.\.\] \(got "nohost"\)[\s\S]*REDIS_URL[\s\S]*TOPIC_PREFIX[\s\S]*KAFKA_PARTITIONS/);
    const h = loadHostConfig({ PORT: '70000', CLICKHOUSE_URL: 'nope', SHUTDOWN_TIMEOUT_MS: 'soon' });
    expect(h.config).toBeUndefined();
    expect(h.problems.map((p) => p.split(':')[0])).toEqual(['PORT', 'CLICKHOUSE_URL', 'SHUTDOWN_TIMEOUT_MS']);
  });

  it('returns frozen settings', () => {
    const s = loadServicesConfig({ KAFKA_BROKERS: 'a:1,b:2', TOPIC_PREFIX: 'shop1_' });
    expect(Object.isFrozen(s)).toBe(true);
    expect(s.kafkaBrokers).toEqual(['a:1', 'b:2']);
  });
});

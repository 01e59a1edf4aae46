import { describe, expect, it } from 'vitest';
import { ConfigError } from '../../src/errors.ts';
import { DEFAULT_SDK_BUNDLE_PATH, loadIngestConfig } from '../../src/config.ts';

describe('loadIngestConfig', () => {
  it('has working defaults', () => {
    const c = loadIngestConfig({});
    expect(c).toMatchObject({
      port: 3000,
      kafkaBrokers: ['localhost:9092'],
      topicPrefix: '',
      maxBatchEvents: 500,
      maxBatchBytes: 524_288,
      produceTimeoutMs: 2000,
      trustProxyHops: 0,
      identitySecretIsDefault: true,
      kafkaIdempotent: false,
      kafkaMaxInFlight: 1,
      sdkBundlePath: DEFAULT_SDK_BUNDLE_PATH,
    });
    expect(c.writeKeys.get('wk_demo')).toMatchObject({ site: 'demo', anyOrigin: true });
    expect(DEFAULT_SDK_BUNDLE_PATH).toMatch(/tracker-sdk\/dist\/sdk\.iife\.js$/);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reports every bad setting at once with its name and the expected form', () => {
    try {
      loadIngestConfig({ PORT: 'abc', KAFKA_BROKERS: 'nohost', MAX_BATCH_EVENTS: '0', WRITE_KEYS: 'wk=site:not-an-origin' });
      expect.unreachable();
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as Error).message;
      for (const name of ['PORT', 'KAFKA_BROKERS', 'MAX_BATCH_EVENTS', 'WRITE_KEYS']) expect(msg).toContain(name);
      expect(msg).toContain('host:port');
    }
  });

  it('refuses more than one produce call in flight with the idempotent producer', () => {
    expect(() => loadIngestConfig({ KAFKA_MAX_IN_FLIGHT: '4', KAFKA_IDEMPOTENT: 'true' })).toThrow(/KAFKA_MAX_IN_FLIGHT/);
    expect(loadIngestConfig({ KAFKA_MAX_IN_FLIGHT: '4', KAFKA_IDEMPOTENT: 'false' }).kafkaMaxInFlight).toBe(4);
  });
});

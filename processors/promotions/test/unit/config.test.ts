import { describe, expect, it } from 'vitest';
import { inHoldout } from '../../src/api.ts';
import { DEFAULT_CATALOG_PATH, loadPromotionsConfig } from '../../src/config.ts';
import { ConfigError } from '../../src/errors.ts';

describe('promotions settings', () => {
  it('has defaults that run the demo', () => {
    const c = loadPromotionsConfig({});
    expect(c.redisUrl).toBe('redis://localhost:6379');
    expect(c.kafkaBrokers).toEqual(['localhost:9092']);
    expect(c.topicPrefix).toBe('');
    expect(c.identitySecret).toBe('dev-identity-secret');
    expect(c.identitySecretIsDefault).toBe(true);
    expect(c.serverKey).toBeUndefined();
    expect(c.upstash).toBeUndefined();
    expect(c.holdoutPct).toBe(0);
    expect(c.catalogPath).toBe(DEFAULT_CATALOG_PATH);
    expect(c.halfLifeMs).toBe(24 * 3_600_000);
    expect(c.weights.search).toBeGreaterThan(c.weights.click);
    expect(c.weights.click).toBeGreaterThan(c.weights.page_view);
    expect(c.weights.page_view).toBeGreaterThan(c.weights.scroll);
    expect(Object.isFrozen(c)).toBe(true);
  });

  it('reads units from the names', () => {
    const c = loadPromotionsConfig({ PROMOTIONS_HALF_LIFE_HOURS: '0.5', PROMOTIONS_IDLE_TTL_HOURS: '2' });
    expect(c.halfLifeMs).toBe(1_800_000);
    expect(c.idleTtlMs).toBe(7_200_000);
  });

  it('reports every bad setting at once, by name and expected form', () => {
    try {
      loadPromotionsConfig({
        PROMOTIONS_HOLDOUT_PCT: '120',
        REDIS_URL: 'localhost',
        KAFKA_BROKERS: 'nope',
        PROMOTIONS_SERVER_KEY: 'short',
      });
      throw new Error('expected a ConfigError');
    } catch (err) {
      expect(err).toBeInstanceOf(ConfigError);
      const msg = (err as ConfigError).message;
      for (const name of ['PROMOTIONS_HOLDOUT_PCT', 'REDIS_URL', 'KAFKA_BROKERS', 'PROMOTIONS_SERVER_KEY']) expect(msg).toContain(name);
      expect(msg).toContain('host:port');
    }
  });

  it('restarts a crashed consumer in-process and reads with a short timeout by default, and checks the backoff bounds', () => {
    const c = loadPromotionsConfig({});
    expect(c.onConsumerCrash).toBe('restart');
    expect(c.readTimeoutMs).toBe(100);
    expect(c.restartMinBackoffMs).toBeLessThanOrEqual(c.restartMaxBackoffMs);
    expect(c.stateCheckMs).toBe(1000);
    expect(loadPromotionsConfig({ PROMOTIONS_ON_CONSUMER_CRASH: 'exit' }).onConsumerCrash).toBe('exit');
    expect(() => loadPromotionsConfig({ PROMOTIONS_ON_CONSUMER_CRASH: 'ignore' })).toThrow(
      /PROMOTIONS_ON_CONSUMER_CRASH="ignore": restart or exit/,
    );
    expect(() => loadPromotionsConfig({ PROMOTIONS_RESTART_MIN_BACKOFF_MS: '5000', PROMOTIONS_RESTART_MAX_BACKOFF_MS: '1000' })).toThrow(
      /must not exceed PROMOTIONS_RESTART_MAX_BACKOFF_MS/,
    );
    expect(() => loadPromotionsConfig({ PROMOTIONS_READ_TIMEOUT_MS: '0' })).toThrow(/PROMOTIONS_READ_TIMEOUT_MS/);
  });

  it('needs both Upstash settings or neither', () => {
    expect(() => loadPromotionsConfig({ UPSTASH_REDIS_REST_URL: 'https://x.example' })).toThrow(/set both or neither/);
    const c = loadPromotionsConfig({ UPSTASH_REDIS_REST_URL: 'https://x.example', UPSTASH_REDIS_REST_TOKEN: 't' });
    expect(c.upstash).toEqual({ url: 'https://x.example', token: 't' });
  });
});

describe('holdout', () => {
  const visitors = Array.from({ length: 20_000 }, (_, i) => `a:visitor-${i}`);

  it('is off by default and total at 100%', () => {
    expect(visitors.some((v) => inHoldout(v, 0))).toBe(false);
    expect(visitors.every((v) => inHoldout(v, 100))).toBe(true);
  });

  it('puts about the configured share of visitors in, always the same ones', () => {
    const share = visitors.filter((v) => inHoldout(v, 10)).length / visitors.length;
    expect(share).toBeGreaterThan(0.09);
    expect(share).toBeLessThan(0.11);
    for (const v of visitors.slice(0, 500)) expect(inHoldout(v, 10)).toBe(inHoldout(v, 10));
  });

  it('keeps a smaller holdout inside a larger one', () => {
    for (const v of visitors.slice(0, 2000)) if (inHoldout(v, 5)) expect(inHoldout(v, 10)).toBe(true);
  });
});

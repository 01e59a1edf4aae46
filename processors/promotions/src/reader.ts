/**
 * Read path of the homepage API: ioredis (TCP) by default, @upstash/redis
 * (REST) when UPSTASH_REDIS_REST_URL/TOKEN are set. Only GET and PING are
 * used, so the REST path needs nothing beyond the basic command endpoint.
 */
import { Redis as UpstashRedis } from '@upstash/redis';
import type { Redis } from 'ioredis';
import { StoreError } from './errors.ts';

export interface PromotionsReader {
  readonly kind: 'ioredis' | 'upstash';
  get(key: string): Promise<string | null>;
  ping(): Promise<void>;
}

export function ioredisReader(redis: Redis): PromotionsReader {
  return {
    kind: 'ioredis',
    async get(key) {
      try {
        return await redis.get(key);
      } catch (err) {
        throw new StoreError('get', err);
      }
    },
    async ping() {
      await redis.ping();
    },
  };
}

export function upstashReader(url: string, token: string): PromotionsReader {
  // automaticDeserialization off: values are our JSON text, parsed and validated by the API itself.
  // responseEncoding off: our values are valid UTF-8 JSON, so base64 buys nothing, and the local
  // Upstash-compatible server used in tests answers plain results only.
  // Auto-pipelining off: one GET per request is what the API needs, and it keeps every read on the
  // single-command endpoint (the local server does not check the token on /pipeline).
  const client = new UpstashRedis({
    url,
    token,
    automaticDeserialization: false,
    responseEncoding: false,
    enableAutoPipelining: false,
    enableTelemetry: false,
    retry: { retries: 2 },
  });
  return {
    kind: 'upstash',
    async get(key) {
      try {
        const v = await client.get<string>(key);
        return v === null || v === undefined ? null : String(v);
      } catch (err) {
        throw new StoreError('get (REST)', err, 'Check UPSTASH_REDIS_REST_URL / UPSTASH_REDIS_REST_TOKEN and that the REST server is up.');
      }
    },
    async ping() {
      const r = await client.ping();
      if (r !== 'PONG') throw new Error(`REST PING answered ${String(r)}`);
    },
  };
}

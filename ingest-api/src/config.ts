import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from './errors.ts';
import { parseWriteKeys, type WriteKeyInfo } from './write-keys.ts';

export const DEFAULT_IDENTITY_SECRET = 'dev-identity-secret';

const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_SDK_BUNDLE_PATH = resolve(packageRoot, '..', 'tracker-sdk', 'dist', 'sdk.iife.js');

const int = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'true or false' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  PORT: int(0, 65535, 3000),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'host:port[,host:port...]')
    .default('localhost:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('storepulse-ingest'),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-"')
    .default(''),
  WRITE_KEYS: z.string().min(1).default('wk_demo=demo:*'),
  IDENTITY_SECRET: z.string().min(8, 'at least 8 characters').default(DEFAULT_IDENTITY_SECRET),
  MAX_BATCH_EVENTS: int(1, 10_000, 500),
  MAX_BATCH_BYTES: int(1024, 16 * 1024 * 1024, 524_288),
  PRODUCE_TIMEOUT_MS: int(100, 60_000, 2000),
  MAX_IN_FLIGHT_EVENTS: int(100, 1_000_000, 20_000),
  KAFKA_IDEMPOTENT: bool(false),
  KAFKA_MAX_IN_FLIGHT: int(1, 16, 1),
  KAFKA_LINGER_MS: int(0, 1000, 0),
  KAFKA_COMPRESSION: z.enum(['none', 'gzip']).default('none'),
  KAFKA_FAST_ENCODER: bool(true),
  KAFKA_MAX_BATCH_EVENTS: int(1, 100_000, 5000),
  KAFKA_MAX_BATCH_BYTES: int(65_536, 64 * 1024 * 1024, 800_000),
  RATE_LIMIT_KEY_EVENTS_PER_S: int(0, 10_000_000, 100_000),
  RATE_LIMIT_KEY_BURST: int(0, 100_000_000, 200_000),
  RATE_LIMIT_IP_REQUESTS_PER_S: int(0, 1_000_000, 200),
  RATE_LIMIT_IP_BURST: int(0, 10_000_000, 400),
  RATE_LIMIT_VISITOR_EVENTS_PER_S: int(0, 1_000_000, 20),
  RATE_LIMIT_VISITOR_BURST: int(0, 10_000_000, 200),
  TRUST_PROXY_HOPS: int(0, 10, 0),
  COUNTRY_HEADER: z
    .string()
    .regex(/^[A-Za-z0-9-]*$/, 'an HTTP header name')
    .default(''),
  EVENT_MAX_AGE_MS: int(60_000, 90 * 86_400_000, 7 * 86_400_000),
  EVENT_MAX_FUTURE_MS: int(0, 86_400_000, 60_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000, 10_000),
  INGEST_WORKERS: int(1, 64, 1),
  SDK_BUNDLE_PATH: z.string().min(1).default(DEFAULT_SDK_BUNDLE_PATH),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface IngestConfig {
  port: number;
  kafkaBrokers: string[];
  kafkaClientId: string;
  topicPrefix: string;
  writeKeys: ReadonlyMap<string, WriteKeyInfo>;
  identitySecret: string;
  identitySecretIsDefault: boolean;
  maxBatchEvents: number;
  maxBatchBytes: number;
  produceTimeoutMs: number;
  maxInFlightEvents: number;
  kafkaIdempotent: boolean;
  kafkaMaxInFlight: number;
  kafkaLingerMs: number;
  kafkaCompression: 'none' | 'gzip';
  /** Replace kafkajs' zero-filling encoder growth with pooled allocations (src/kafkajs-encoder.ts). */
  kafkaFastEncoder: boolean;
  /** Processes `npm run start -w ingest-api` runs (node:cluster); the host ignores it. */
  ingestWorkers: number;
  kafkaMaxBatchEvents: number;
  kafkaMaxBatchBytes: number;
  rateLimit: {
    keyEventsPerS: number;
    keyBurst: number;
    ipRequestsPerS: number;
    ipBurst: number;
    /** Events per second per visitor (site + anonymous_id); 0 = off. */
    visitorEventsPerS: number;
    visitorBurst: number;
  };
  trustProxyHops: number;
  countryHeader: string;
  eventMaxAgeMs: number;
  eventMaxFutureMs: number;
  shutdownTimeoutMs: number;
  sdkBundlePath: string;
  logLevel: string;
}

/** Parses the ingest settings once; reports every bad one at once. */
export function loadIngestConfig(env: NodeJS.ProcessEnv): Readonly<IngestConfig> {
  const parsed = schema.safeParse(env);
  const problems: string[] = [];
  if (!parsed.success) {
    for (const i of parsed.error.issues) {
      const name = String(i.path[0]);
      problems.push(`  ${name}: ${i.message} (got ${JSON.stringify(env[name])})`);
    }
  }
  let writeKeys: Map<string, WriteKeyInfo> | undefined;
  try {
    writeKeys = parseWriteKeys(env.WRITE_KEYS ?? 'wk_demo=demo:*');
  } catch (err) {
    problems.push(`  WRITE_KEYS: ${(err as Error).message}`);
  }
  if (problems.length > 0 || !parsed.success || !writeKeys) {
    throw new ConfigError(`bad ingest settings:\n${problems.join('\n')}`, problems);
  }
  const s = parsed.data;
  if (s.KAFKA_IDEMPOTENT && s.KAFKA_MAX_IN_FLIGHT !== 1) {
    throw new ConfigError(
      'bad ingest settings:\n  KAFKA_MAX_IN_FLIGHT: must be 1 while KAFKA_IDEMPOTENT=true (kafkajs idempotence allows one request in flight)',
      ['KAFKA_MAX_IN_FLIGHT'],
    );
  }
  return Object.freeze({
    port: s.PORT,
    kafkaBrokers: s.KAFKA_BROKERS.split(','),
    kafkaClientId: s.KAFKA_CLIENT_ID,
    topicPrefix: s.TOPIC_PREFIX,
    writeKeys,
    identitySecret: s.IDENTITY_SECRET,
    identitySecretIsDefault: s.IDENTITY_SECRET === DEFAULT_IDENTITY_SECRET,
    maxBatchEvents: s.MAX_BATCH_EVENTS,
    maxBatchBytes: s.MAX_BATCH_BYTES,
    produceTimeoutMs: s.PRODUCE_TIMEOUT_MS,
    maxInFlightEvents: s.MAX_IN_FLIGHT_EVENTS,
    kafkaIdempotent: s.KAFKA_IDEMPOTENT,
    kafkaMaxInFlight: s.KAFKA_MAX_IN_FLIGHT,
    kafkaLingerMs: s.KAFKA_LINGER_MS,
    kafkaCompression: s.KAFKA_COMPRESSION,
    kafkaFastEncoder: s.KAFKA_FAST_ENCODER,
    ingestWorkers: s.INGEST_WORKERS,
    kafkaMaxBatchEvents: s.KAFKA_MAX_BATCH_EVENTS,
    kafkaMaxBatchBytes: s.KAFKA_MAX_BATCH_BYTES,
    rateLimit: Object.freeze({
      keyEventsPerS: s.RATE_LIMIT_KEY_EVENTS_PER_S,
      keyBurst: Math.max(s.RATE_LIMIT_KEY_BURST, s.RATE_LIMIT_KEY_EVENTS_PER_S),
      ipRequestsPerS: s.RATE_LIMIT_IP_REQUESTS_PER_S,
      ipBurst: Math.max(s.RATE_LIMIT_IP_BURST, s.RATE_LIMIT_IP_REQUESTS_PER_S),
      visitorEventsPerS: s.RATE_LIMIT_VISITOR_EVENTS_PER_S,
      visitorBurst: Math.max(s.RATE_LIMIT_VISITOR_BURST, s.RATE_LIMIT_VISITOR_EVENTS_PER_S),
    }),
    trustProxyHops: s.TRUST_PROXY_HOPS,
    countryHeader: s.COUNTRY_HEADER.toLowerCase(),
    eventMaxAgeMs: s.EVENT_MAX_AGE_MS,
    eventMaxFutureMs: s.EVENT_MAX_FUTURE_MS,
    shutdownTimeoutMs: s.SHUTDOWN_TIMEOUT_MS,
    sdkBundlePath: s.SDK_BUNDLE_PATH,
    logLevel: s.LOG_LEVEL,
  });
}

import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { z } from 'zod';
import { ConfigError } from './errors.ts';

export const DEFAULT_IDENTITY_SECRET = 'dev-identity-secret';
const packageRoot = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const DEFAULT_CATALOG_PATH = resolve(packageRoot, 'catalog', 'sample-catalog.json');

const int = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);
const num = (min: number, max: number, def: number) => z.coerce.number().min(min).max(max).default(def);
const optionalString = z
  .string()
  .optional()
  .transform((v) => (v === undefined || v === '' ? undefined : v));

const schema = z.object({
  PROMOTIONS_PORT: int(0, 65535, 3002),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'host:port[,host:port...]')
    .default('localhost:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('storepulse-promotions'),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-"')
    .default(''),
  REDIS_URL: z
    .string()
    .regex(/^rediss?:\/\//, 'redis://[user:pass@]host:port[/db]')
    .default('redis://localhost:6379'),
  UPSTASH_REDIS_REST_URL: optionalString.pipe(z.url('an http(s) URL').optional()),
  UPSTASH_REDIS_REST_TOKEN: optionalString,
  IDENTITY_SECRET: z.string().min(8, 'at least 8 characters').default(DEFAULT_IDENTITY_SECRET),
  PROMOTIONS_SERVER_KEY: optionalString.pipe(z.string().min(16, 'at least 16 characters').optional()),
  PROMOTIONS_HOLDOUT_PCT: num(0, 100, 0),
  PROMOTIONS_CATALOG: z.string().min(1).default(DEFAULT_CATALOG_PATH),
  PROMOTIONS_CATALOG_POLL_MS: int(50, 3_600_000, 1000),
  PROMOTIONS_HALF_LIFE_HOURS: num(0.001, 24 * 365, 24),
  PROMOTIONS_WEIGHT_SEARCH: num(0, 1000, 10),
  PROMOTIONS_WEIGHT_ADD_TO_CART: num(0, 1000, 6),
  PROMOTIONS_WEIGHT_CLICK: num(0, 1000, 4),
  PROMOTIONS_WEIGHT_PAGE_VIEW: num(0, 1000, 2),
  PROMOTIONS_WEIGHT_SCROLL: num(0, 1000, 0.5),
  PROMOTIONS_TOP_TERMS: int(1, 200, 20),
  PROMOTIONS_STORED: int(1, 100, 12),
  PROMOTIONS_DEFAULT_LIMIT: int(1, 100, 6),
  PROMOTIONS_MAX_LIMIT: int(1, 100, 24),
  PROMOTIONS_IDLE_TTL_HOURS: num(0.001, 24 * 3650, 24 * 30),
  PROMOTIONS_APPLIED_MAX: int(10, 1_000_000, 2000),
  PROMOTIONS_MAX_IN_FLIGHT: int(1, 10_000, 500),
  PROMOTIONS_CHUNK_SIZE: int(1, 100_000, 500),
  PROMOTIONS_PARTITIONS_CONCURRENCY: int(1, 1000, 16),
  PROMOTIONS_MAX_FUTURE_MS: int(0, 86_400_000, 60_000),
  PROMOTIONS_GENERATION_POLL_MS: int(50, 60_000, 1000),
  PROMOTIONS_READ_TIMEOUT_MS: int(5, 10_000, 100),
  PROMOTIONS_ON_CONSUMER_CRASH: z.enum(['restart', 'exit'], 'restart or exit').default('restart'),
  PROMOTIONS_RESTART_MIN_BACKOFF_MS: int(10, 600_000, 1000),
  PROMOTIONS_RESTART_MAX_BACKOFF_MS: int(10, 3_600_000, 30_000),
  PROMOTIONS_STATE_CHECK_MS: int(0, 3_600_000, 1000),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000, 10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface ActivityWeights {
  search: number;
  add_to_cart: number;
  click: number;
  page_view: number;
  scroll: number;
}

export interface PromotionsConfig {
  port: number;
  kafkaBrokers: string[];
  kafkaClientId: string;
  topicPrefix: string;
  redisUrl: string;
  upstash: { url: string; token: string } | undefined;
  identitySecret: string;
  identitySecretIsDefault: boolean;
  serverKey: string | undefined;
  holdoutPct: number;
  catalogPath: string;
  catalogPollMs: number;
  halfLifeMs: number;
  weights: Readonly<ActivityWeights>;
  topTerms: number;
  storedPromotions: number;
  defaultLimit: number;
  maxLimit: number;
  idleTtlMs: number;
  appliedMax: number;
  maxInFlight: number;
  chunkSize: number;
  partitionsConcurrency: number;
  maxFutureMs: number;
  generationPollMs: number;
  /** Command timeout of the homepage API's own Redis client; past it the API answers the defaults. */
  readTimeoutMs: number;
  /** What a crashed consumer does: restart in-process with backoff, or exit the process (orchestrator restarts it). */
  onConsumerCrash: 'restart' | 'exit';
  restartMinBackoffMs: number;
  restartMaxBackoffMs: number;
  /** How often the processor checks that its Redis state is still there (0 = never). */
  stateCheckMs: number;
  shutdownTimeoutMs: number;
  logLevel: string;
}

/** Parses the promotions settings once; reports every bad setting at once. */
export function loadPromotionsConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined> = {}): Readonly<PromotionsConfig> {
  const picked: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    if (v !== undefined && !(v === '' && key !== 'TOPIC_PREFIX')) picked[key] = v;
  }
  const parsed = schema.safeParse(picked);
  if (!parsed.success) {
    throw new ConfigError(
      parsed.error.issues.map((i) => `${String(i.path[0] ?? '?')}=${JSON.stringify(picked[String(i.path[0])] ?? '')}: ${i.message}`),
    );
  }
  const e = parsed.data;
  const problems: string[] = [];
  if ((e.UPSTASH_REDIS_REST_URL === undefined) !== (e.UPSTASH_REDIS_REST_TOKEN === undefined)) {
    problems.push('UPSTASH_REDIS_REST_URL and UPSTASH_REDIS_REST_TOKEN: set both or neither');
  }
  if (e.PROMOTIONS_DEFAULT_LIMIT > e.PROMOTIONS_MAX_LIMIT) {
    problems.push(`PROMOTIONS_DEFAULT_LIMIT=${e.PROMOTIONS_DEFAULT_LIMIT}: must not exceed PROMOTIONS_MAX_LIMIT=${e.PROMOTIONS_MAX_LIMIT}`);
  }
  if (e.PROMOTIONS_RESTART_MIN_BACKOFF_MS > e.PROMOTIONS_RESTART_MAX_BACKOFF_MS) {
    problems.push(
      `PROMOTIONS_RESTART_MIN_BACKOFF_MS=${e.PROMOTIONS_RESTART_MIN_BACKOFF_MS}: must not exceed PROMOTIONS_RESTART_MAX_BACKOFF_MS=${e.PROMOTIONS_RESTART_MAX_BACKOFF_MS}`,
    );
  }
  if (problems.length > 0) throw new ConfigError(problems);
  return Object.freeze({
    port: e.PROMOTIONS_PORT,
    kafkaBrokers: e.KAFKA_BROKERS.split(','),
    kafkaClientId: e.KAFKA_CLIENT_ID,
    topicPrefix: e.TOPIC_PREFIX,
    redisUrl: e.REDIS_URL,
    upstash:
      e.UPSTASH_REDIS_REST_URL && e.UPSTASH_REDIS_REST_TOKEN
        ? Object.freeze({ url: e.UPSTASH_REDIS_REST_URL, token: e.UPSTASH_REDIS_REST_TOKEN })
        : undefined,
    identitySecret: e.IDENTITY_SECRET,
    identitySecretIsDefault: e.IDENTITY_SECRET === DEFAULT_IDENTITY_SECRET,
    serverKey: e.PROMOTIONS_SERVER_KEY,
    holdoutPct: e.PROMOTIONS_HOLDOUT_PCT,
    catalogPath: resolve(e.PROMOTIONS_CATALOG),
    catalogPollMs: e.PROMOTIONS_CATALOG_POLL_MS,
    halfLifeMs: Math.round(e.PROMOTIONS_HALF_LIFE_HOURS * 3_600_000),
    weights: Object.freeze({
      search: e.PROMOTIONS_WEIGHT_SEARCH,
      add_to_cart: e.PROMOTIONS_WEIGHT_ADD_TO_CART,
      click: e.PROMOTIONS_WEIGHT_CLICK,
      page_view: e.PROMOTIONS_WEIGHT_PAGE_VIEW,
      scroll: e.PROMOTIONS_WEIGHT_SCROLL,
    }),
    topTerms: e.PROMOTIONS_TOP_TERMS,
    storedPromotions: e.PROMOTIONS_STORED,
    defaultLimit: e.PROMOTIONS_DEFAULT_LIMIT,
    maxLimit: e.PROMOTIONS_MAX_LIMIT,
    idleTtlMs: Math.round(e.PROMOTIONS_IDLE_TTL_HOURS * 3_600_000),
    appliedMax: e.PROMOTIONS_APPLIED_MAX,
    maxInFlight: e.PROMOTIONS_MAX_IN_FLIGHT,
    chunkSize: e.PROMOTIONS_CHUNK_SIZE,
    partitionsConcurrency: e.PROMOTIONS_PARTITIONS_CONCURRENCY,
    maxFutureMs: e.PROMOTIONS_MAX_FUTURE_MS,
    generationPollMs: e.PROMOTIONS_GENERATION_POLL_MS,
    readTimeoutMs: e.PROMOTIONS_READ_TIMEOUT_MS,
    onConsumerCrash: e.PROMOTIONS_ON_CONSUMER_CRASH,
    restartMinBackoffMs: e.PROMOTIONS_RESTART_MIN_BACKOFF_MS,
    restartMaxBackoffMs: e.PROMOTIONS_RESTART_MAX_BACKOFF_MS,
    stateCheckMs: e.PROMOTIONS_STATE_CHECK_MS,
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
  });
}

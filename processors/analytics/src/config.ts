import { z } from 'zod';
import { ConfigError } from './errors.ts';

const int = (min: number, max: number, def: number) => z.coerce.number().int().min(min).max(max).default(def);
const bool = (def: boolean) =>
  z
    .enum(['true', 'false', '1', '0', 'yes', 'no'], { message: 'true or false' })
    .default(def ? 'true' : 'false')
    .transform((v) => v === 'true' || v === '1' || v === 'yes');

const schema = z.object({
  PORT: int(0, 65535, 3002),
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'host:port[,host:port...]')
    .default('localhost:9092'),
  KAFKA_CLIENT_ID: z.string().min(1).default('storepulse-analytics'),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-"')
    .default(''),
  CLICKHOUSE_URL: z.url({ message: 'an http(s) URL such as http://default:@localhost:8123' }).optional(),
  CLICKHOUSE_CLUSTER: z
    .string()
    .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'a cluster name')
    .optional(),
  DATA_DIR: z.string().min(1).default('.data/'),
  EVENTS_TTL_DAYS: int(1, 36_500, 395),
  ANALYTICS_BATCH_MAX_ROWS: int(1, 1_000_000, 50_000),
  ANALYTICS_BATCH_MAX_BYTES: int(1024, 1024 * 1024 * 1024, 32 * 1024 * 1024),
  ANALYTICS_FLUSH_INTERVAL_MS: int(10, 60_000, 1000),
  ANALYTICS_MAX_BUFFERED_BYTES: int(1024 * 1024, 8 * 1024 * 1024 * 1024, 256 * 1024 * 1024),
  ANALYTICS_RETRY_MIN_MS: int(10, 60_000, 200),
  ANALYTICS_RETRY_MAX_MS: int(100, 600_000, 10_000),
  ANALYTICS_DEDUP_CACHE_SIZE: int(0, 10_000_000, 200_000),
  ANALYTICS_INSERT_DEDUP_TOKEN: bool(true),
  ANALYTICS_PARTITIONS_CONCURRENTLY: int(1, 64, 4),
  ANALYTICS_INSERT_CONCURRENCY: z.coerce.number().int().min(1).max(16).optional(),
  ANALYTICS_PURGE_REFRESH_MS: int(100, 3_600_000, 10_000),
  SEARCH_OUTCOMES_INTERVAL_MS: int(0, 86_400_000, 60_000),
  SEARCH_OUTCOMES_ALLOWANCE_MS: int(0, 30 * 86_400_000, 3_600_000),
  SHUTDOWN_TIMEOUT_MS: int(100, 120_000, 10_000),
  LOG_LEVEL: z.enum(['fatal', 'error', 'warn', 'info', 'debug', 'trace', 'silent']).default('info'),
});

export interface AnalyticsConfig {
  port: number;
  kafkaBrokers: string[];
  kafkaClientId: string;
  topicPrefix: string;
  clickhouseUrl: string | undefined;
  clickhouseCluster: string | undefined;
  dataDir: string;
  eventsTtlDays: number;
  batch: { maxRows: number; maxBytes: number; flushIntervalMs: number };
  /** Pause fetching once this many bytes wait in memory across partitions. */
  maxBufferedBytes: number;
  retry: { minMs: number; maxMs: number };
  /** Recent event_ids remembered to drop client retries of one event; 0 disables. */
  dedupCacheSize: number;
  /** Send insert_deduplication_token (and keep ClickHouse dedup on). Off only to demonstrate the duplicates it prevents. */
  insertDedupToken: boolean;
  partitionsConsumedConcurrently: number;
  /** Inserts in flight at once (unset: 2 on the embedded engine, over as many chDB connections; 4 on a server). */
  insertConcurrency: number | undefined;
  /** How often the consent-purge tombstones are re-read from activity.purged_visitors (purges by other processes). */
  purgeRefreshMs: number;
  /** The search-outcomes closer (warehouse migration 0005): pause between runs (0 = off) and lateness allowance, ms. */
  searchOutcomes: { intervalMs: number; allowanceMs: number };
  shutdownTimeoutMs: number;
  logLevel: string;
}

/** Parses the environment once; reports every bad setting with its expected form. */
export function loadAnalyticsConfig(env: NodeJS.ProcessEnv | Record<string, string | undefined>): Readonly<AnalyticsConfig> {
  const input: Record<string, string | undefined> = {};
  for (const key of Object.keys(schema.shape)) {
    const v = env[key];
    input[key] = v === '' && key !== 'TOPIC_PREFIX' ? undefined : v;
  }
  const parsed = schema.safeParse(input);
  if (!parsed.success) {
    const problems = parsed.error.issues.map((i) => `${i.path.join('.')}: ${i.message} (got ${JSON.stringify(input[String(i.path[0])])})`);
    throw new ConfigError(`invalid analytics settings:\n  ${problems.join('\n  ')}`, problems);
  }
  const e = parsed.data;
  if (e.ANALYTICS_RETRY_MAX_MS < e.ANALYTICS_RETRY_MIN_MS) {
    const p = `ANALYTICS_RETRY_MAX_MS: must be >= ANALYTICS_RETRY_MIN_MS (${e.ANALYTICS_RETRY_MIN_MS})`;
    throw new ConfigError(`invalid analytics settings:\n  ${p}`, [p]);
  }
  return Object.freeze({
    port: e.PORT,
    kafkaBrokers: e.KAFKA_BROKERS.split(','),
    kafkaClientId: e.KAFKA_CLIENT_ID,
    topicPrefix: e.TOPIC_PREFIX,
    clickhouseUrl: e.CLICKHOUSE_URL,
    clickhouseCluster: e.CLICKHOUSE_CLUSTER,
    dataDir: e.DATA_DIR,
    eventsTtlDays: e.EVENTS_TTL_DAYS,
    batch: Object.freeze({
      maxRows: e.ANALYTICS_BATCH_MAX_ROWS,
      maxBytes: e.ANALYTICS_BATCH_MAX_BYTES,
      flushIntervalMs: e.ANALYTICS_FLUSH_INTERVAL_MS,
    }),
    maxBufferedBytes: e.ANALYTICS_MAX_BUFFERED_BYTES,
    retry: Object.freeze({ minMs: e.ANALYTICS_RETRY_MIN_MS, maxMs: e.ANALYTICS_RETRY_MAX_MS }),
    dedupCacheSize: e.ANALYTICS_DEDUP_CACHE_SIZE,
    insertDedupToken: e.ANALYTICS_INSERT_DEDUP_TOKEN,
    partitionsConsumedConcurrently: e.ANALYTICS_PARTITIONS_CONCURRENTLY,
    insertConcurrency: e.ANALYTICS_INSERT_CONCURRENCY,
    purgeRefreshMs: e.ANALYTICS_PURGE_REFRESH_MS,
    searchOutcomes: Object.freeze({ intervalMs: e.SEARCH_OUTCOMES_INTERVAL_MS, allowanceMs: e.SEARCH_OUTCOMES_ALLOWANCE_MS }),
    shutdownTimeoutMs: e.SHUTDOWN_TIMEOUT_MS,
    logLevel: e.LOG_LEVEL,
  });
}

/** Inserts in flight at once: the setting, or 2 on the embedded engine (bench/RESULTS.md) and 4 on a ClickHouse server. */
export function insertConcurrency(config: Pick<AnalyticsConfig, 'insertConcurrency' | 'clickhouseUrl'>): number {
  return config.insertConcurrency ?? (config.clickhouseUrl ? 4 : 2);
}

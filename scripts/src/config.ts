import { z } from 'zod';

/**
 * Settings of the service scripts (services:up, topics, the test runner).
 * Parsed once; every bad value is reported at once with its name.
 */
const schema = z.object({
  KAFKA_BROKERS: z
    .string()
    .regex(/^[^,\s]+:\d+(,[^,\s]+:\d+)*$/, 'host:port[,host:port...]')
    .optional(),
  REDIS_URL: z.string().url('a redis:// or rediss:// URL').optional(),
  TOPIC_PREFIX: z
    .string()
    .regex(/^[A-Za-z0-9._-]*$/, 'letters, digits, ".", "_" or "-"')
    .default(''),
  KAFKA_PARTITIONS: z.coerce.number().int().min(1).max(1000).default(6),
  KAFKA_REPLICATION_FACTOR: z.coerce.number().int().min(1).max(7).default(1),
  KAFKA_MIN_INSYNC_REPLICAS: z.coerce.number().int().min(1).max(7).optional(),
});

export interface ServicesConfig {
  /** As given; undefined means "the local default, started when nothing answers". */
  kafkaBrokersSetting: string | undefined;
  kafkaBrokers: string[];
  redisUrlSetting: string | undefined;
  redisUrl: string;
  topicPrefix: string;
  partitions: number;
  replicationFactor: number;
  minInsyncReplicas: number | undefined;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

export function loadServicesConfig(env: NodeJS.ProcessEnv): Readonly<ServicesConfig> {
  const parsed = schema.safeParse(env);
  if (!parsed.success) {
    const lines = parsed.error.issues.map((i) => `  ${i.path.join('.')}: ${i.message} (got ${JSON.stringify(env[String(i.path[0])])})`);
    throw new ConfigError(`bad settings:\n${lines.join('\n')}`);
  }
  const s = parsed.data;
  return Object.freeze({
    kafkaBrokersSetting: s.KAFKA_BROKERS,
    kafkaBrokers: (s.KAFKA_BROKERS ?? 'localhost:9092').split(','),
    redisUrlSetting: s.REDIS_URL,
    redisUrl: s.REDIS_URL ?? 'redis://localhost:6379',
    topicPrefix: s.TOPIC_PREFIX,
    partitions: s.KAFKA_PARTITIONS,
    replicationFactor: s.KAFKA_REPLICATION_FACTOR,
    minInsyncReplicas: s.KAFKA_MIN_INSYNC_REPLICAS,
  });
}

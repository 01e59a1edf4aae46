/**
 * @storepulse/promotions: Kafka activity -> per-visitor interests and
 * user_promotions in Redis, and the homepage API.
 */
import { CONSUMER_GROUPS, groupId } from '@storepulse/contracts';
import type { Express } from 'express';
import { Redis } from 'ioredis';
import { Kafka, logLevel, type PartitionAssigner } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { mountPromotionsApi } from './api.ts';
import { type Catalog, CatalogStore } from './catalog.ts';
import type { PromotionsConfig } from './config.ts';
import { type ConsumerHooks, PromotionsConsumer } from './consumer.ts';
import { GenerationWatcher } from './generation.ts';
import { kafkaLogCreator } from './kafka-log.ts';
import { createMetrics } from './metrics.ts';
import { ioredisReader, type PromotionsReader, upstashReader } from './reader.ts';
import { StateGuard } from './state-guard.ts';
import { generationKey, PromotionsStore } from './store.ts';
import { Updater } from './updater.ts';

export { loadPromotionsConfig, type PromotionsConfig } from './config.ts';
export { parseCatalog, type Catalog, type Promotion, defaultPromotions, isActive, isSafeUrl } from './catalog.ts';
export { inHoldout, sameSecret, type PromotionsResponse } from './api.ts';
export { generationKey } from './store.ts';
export { purgeVisitors, parseVisitorKey, tombstoneKey, type PurgeOptions, type RedisPurgeResult } from './purge.ts';
export { stateKey } from './state-guard.ts';
export type { ConsumerHooks, ChunkInfo } from './consumer.ts';

export interface PromotionsService {
  mount(app: Express): void;
  start(): Promise<void>;
  stop(): Promise<void>;
  checks: Record<string, () => Promise<void>>;
}

export interface PromotionsDeps {
  config: Readonly<PromotionsConfig>;
  logger: Logger;
  registry: Registry;
  /** Shared ioredis client; one is created (and closed on stop) when absent. */
  redis?: Redis;
  /** Shared kafkajs client; one is created when absent. */
  kafka?: Kafka;
  /** Clock (epoch ms): decay, TTL bookkeeping and as_of. Injected by tests. */
  now?: () => number;
  /** Run the consumer (default true); false serves only the API. */
  consume?: boolean;
  /** With PROMOTIONS_ON_CONSUMER_CRASH=exit: called when the consumer crashes. Default: log and exit(1), so an orchestrator restarts it. */
  onFatal?: (err: Error) => void;
  hooks?: ConsumerHooks;
  /** kafkajs partition assigners (default: kafkajs' round robin); tests use it to simulate a bad assignment. */
  partitionAssigners?: PartitionAssigner[];
  /** Runs before a lost-state rebuild replays Kafka (the host restores purge tombstones there); a failure postpones the rebuild. */
  beforeRebuild?: () => Promise<void>;
}

export function createPromotionsService(deps: PromotionsDeps): PromotionsService {
  const { config, registry } = deps;
  const logger = deps.logger.child({ service: 'promotions' });
  const now = deps.now ?? Date.now;
  const metrics = createMetrics(registry);
  const ownRedis = !deps.redis;
  const redis = deps.redis ?? new Redis(config.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 20 });
  if (ownRedis) {
    // ioredis reconnects by itself; say so now and then instead of an unhandled 'error' event per attempt.
    let lastLog = 0;
    redis.on('error', (err: Error) => {
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
      logger.warn({ err: err.message, url: config.redisUrl.replace(/\/\/[^@]*@/, '//***@') }, 'Redis connection problem; retrying');
    });
  }
  // The homepage API reads through its own client that never waits for Redis: no offline queue (a
  // command fails at once while disconnected), a short command timeout, no retries. The processor's
  // client above queues and retries instead, which is right for writes and wrong for a page load.
  const readerRedis = config.upstash
    ? undefined
    : new Redis(config.redisUrl, {
        lazyConnect: true,
        enableOfflineQueue: false,
        commandTimeout: config.readTimeoutMs,
        maxRetriesPerRequest: 0,
        connectTimeout: Math.max(1000, config.readTimeoutMs),
        connectionName: 'promotions-api-reader',
      });
  if (readerRedis) {
    let lastLog = 0;
    readerRedis.on('error', (err: Error) => {
      if (Date.now() - lastLog < 10_000) return;
      lastLog = Date.now();
      logger.warn({ err: err.message }, 'homepage API Redis reader cannot reach Redis; answering defaults until it can');
    });
  }
  const reader: PromotionsReader = config.upstash
    ? upstashReader(config.upstash.url, config.upstash.token)
    : ioredisReader(readerRedis as Redis);
  const kafka =
    deps.kafka ??
    new Kafka({
      clientId: config.kafkaClientId,
      brokers: config.kafkaBrokers,
      logLevel: logLevel.WARN,
      logCreator: kafkaLogCreator(logger),
    });
  const catalogs = new CatalogStore({
    path: config.catalogPath,
    pollMs: config.catalogPollMs,
    logger,
    onReload: () => metrics.catalogReloads.inc({ result: 'ok' }),
    onReloadFailed: () => metrics.catalogReloads.inc({ result: 'rejected' }),
  });
  let catalog: Catalog | undefined;
  const currentCatalog = () => {
    try {
      catalog = catalogs.current;
    } catch {
      // not loaded yet
    }
    return catalog;
  };
  // The processor writes over TCP and must follow the pointer exactly; an API-only instance
  // (possibly REST-only, e.g. serverless) reads it the way it reads everything else.
  const readPointer =
    deps.consume === false ? () => reader.get(generationKey(config.topicPrefix)) : () => redis.get(generationKey(config.topicPrefix));
  const generation = new GenerationWatcher(readPointer, config.generationPollMs, logger);
  const fold = { halfLifeMs: config.halfLifeMs, topTerms: config.topTerms, idleTtlMs: config.idleTtlMs, appliedMax: config.appliedMax };
  let updater: Updater | undefined;
  const currentUpdater = (): Updater => {
    const ks = `${config.topicPrefix}${generation.current}`;
    if (!updater || updater.store.keyspace !== ks) {
      updater = new Updater({ store: new PromotionsStore(redis, ks, fold), catalog: () => catalogs.current, config, now, metrics });
    }
    return updater;
  };
  const onFatal =
    deps.onFatal ??
    ((err: Error) => {
      logger.fatal({ err }, 'promotions consumer crashed; exiting so the process is restarted (PROMOTIONS_ON_CONSUMER_CRASH=exit)');
      setTimeout(() => process.exit(1), 100).unref();
    });
  const guard =
    deps.consume === false
      ? undefined
      : new StateGuard({
          config,
          logger,
          redis,
          kafka,
          groupId: groupId(config.topicPrefix, CONSUMER_GROUPS.promotions),
          metrics,
          ...(deps.beforeRebuild ? { beforeRebuild: deps.beforeRebuild } : {}),
        });
  const consumer =
    deps.consume === false
      ? undefined
      : new PromotionsConsumer({
          kafka,
          prefix: config.topicPrefix,
          chunkSize: config.chunkSize,
          partitionsConsumedConcurrently: config.partitionsConcurrency,
          logger,
          metrics,
          updater: currentUpdater,
          hooks: deps.hooks,
          partitionAssigners: deps.partitionAssigners,
          beforeChunk: () => guard?.whenDecided() ?? Promise.resolve(),
          onFatal,
          restart:
            config.onConsumerCrash === 'restart'
              ? { minBackoffMs: config.restartMinBackoffMs, maxBackoffMs: config.restartMaxBackoffMs }
              : undefined,
        });
  let started = false;
  const startOnce = async () => {
    await catalogs.load();
    catalogs.start();
    // The reader keeps reconnecting in the background; until it is up the API answers the defaults.
    if (readerRedis?.status === 'wait') readerRedis.connect().catch(() => {});
    // Only the first time: after a failed connect ioredis keeps reconnecting by itself.
    if (ownRedis && deps.consume !== false && redis.status === 'wait') await redis.connect();
    if (consumer) await generation.refresh();
    else {
      // Serving the API must not wait for the store: until it answers, visitors get the defaults.
      await generation
        .refresh()
        .catch((err: unknown) =>
          logger.warn({ err }, 'cannot read the promotions generation pointer yet; serving defaults until Redis answers'),
        );
    }
    generation.start();
    // Not waiting for the group join: after a crash it waits for the dead member's session timeout
    // (30 s), and with PROMOTIONS_ON_CONSUMER_CRASH=restart a failed start is retried in the background.
    await consumer?.start({ waitForJoin: config.onConsumerCrash === 'exit' });
    guard?.start();
    logger.info(
      { prefix: config.topicPrefix, reader: reader.kind, group: consumer?.groupId, onConsumerCrash: config.onConsumerCrash },
      'promotions service started',
    );
  };

  return {
    mount(app) {
      mountPromotionsApi(app, { config, reader, catalog: currentCatalog, generation: () => generation.current, now, logger, metrics });
    },
    async start() {
      if (started) return;
      try {
        await startOnce();
        started = true;
      } catch (err) {
        // Safe to call start() again (the host retries when Redis or Kafka is not there yet).
        generation.stop();
        throw err;
      }
    },
    async stop() {
      const work = (async () => {
        catalogs.stop();
        generation.stop();
        await guard?.stop();
        await consumer?.stop();
        if (ownRedis && redis.status !== 'wait') await redis.quit().catch(() => redis.disconnect());
        readerRedis?.disconnect();
      })();
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'promotions shutdown timed out');
          if (ownRedis) redis.disconnect();
          readerRedis?.disconnect();
          resolve();
        }, config.shutdownTimeoutMs);
        timer.unref();
      });
      await Promise.race([work, limit]);
      clearTimeout(timer);
      started = false;
    },
    checks: {
      async redis() {
        // Fast either way: the writer's status (its commands would queue while Redis is away) and a
        // PING through the reader (fails at once or within PROMOTIONS_READ_TIMEOUT_MS).
        if (deps.consume !== false && redis.status !== 'ready') throw new Error(`Redis (writer) is ${redis.status}`);
        await reader.ping();
      },
      async kafka() {
        if (!consumer) return;
        await consumer.check();
      },
      async catalog() {
        if (!currentCatalog()) throw new Error('the promotions catalog is not loaded');
      },
    },
  };
}

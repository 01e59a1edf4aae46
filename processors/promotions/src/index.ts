/**
 * @storepulse/promotions: Kafka activity -> per-visitor interests and
 * user_promotions in Redis, and the homepage API.
 */
import type { Express } from 'express';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
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
import { generationKey, PromotionsStore } from './store.ts';
import { Updater } from './updater.ts';

export { loadPromotionsConfig, type PromotionsConfig } from './config.ts';
export { parseCatalog, type Catalog, type Promotion, defaultPromotions, isActive, isSafeUrl } from './catalog.ts';
export { inHoldout, type PromotionsResponse } from './api.ts';
export { generationKey } from './store.ts';
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
  /** Called when the consumer crashes beyond repair. Default: log and exit(1), so the process does not idle. */
  onFatal?: (err: Error) => void;
  hooks?: ConsumerHooks;
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
  const reader: PromotionsReader = config.upstash ? upstashReader(config.upstash.url, config.upstash.token) : ioredisReader(redis);
  const kafka =
    deps.kafka ??
    new Kafka({ clientId: config.kafkaClientId, brokers: config.kafkaBrokers, logLevel: logLevel.WARN, logCreator: kafkaLogCreator(logger) });
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
  const readPointer = deps.consume === false ? () => reader.get(generationKey(config.topicPrefix)) : () => redis.get(generationKey(config.topicPrefix));
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
      logger.fatal({ err }, 'promotions consumer crashed; exiting so the process is restarted');
      setTimeout(() => process.exit(1), 100).unref();
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
          onFatal,
        });
  let started = false;

  return {
    mount(app) {
      mountPromotionsApi(app, { config, reader, catalog: currentCatalog, generation: () => generation.current, now, logger, metrics });
    },
    async start() {
      if (started) return;
      started = true;
      await catalogs.load();
      catalogs.start();
      if (ownRedis && (deps.consume !== false || !config.upstash)) await redis.connect();
      if (consumer) await generation.refresh();
      else {
        // Serving the API must not wait for the store: until it answers, visitors get the defaults.
        await generation.refresh().catch((err: unknown) => logger.warn({ err }, 'cannot read the promotions generation pointer yet; serving defaults until Redis answers'));
      }
      generation.start();
      await consumer?.start();
      logger.info({ prefix: config.topicPrefix, reader: reader.kind, group: consumer?.groupId }, 'promotions service started');
    },
    async stop() {
      const work = (async () => {
        catalogs.stop();
        generation.stop();
        await consumer?.stop();
        if (ownRedis && redis.status !== 'wait') await redis.quit().catch(() => redis.disconnect());
      })();
      let timer: NodeJS.Timeout | undefined;
      const limit = new Promise<void>((resolve) => {
        timer = setTimeout(() => {
          logger.warn({ timeoutMs: config.shutdownTimeoutMs }, 'promotions shutdown timed out');
          if (ownRedis) redis.disconnect();
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
        if (deps.consume !== false || !config.upstash) await redis.ping();
        if (reader.kind === 'upstash') await reader.ping();
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

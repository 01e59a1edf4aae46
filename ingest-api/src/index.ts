import type { Express } from 'express';
import type { Admin, ISocketFactory, Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import { createIngestRouter, type RouterDeps } from './app.ts';
import type { IngestConfig } from './config.ts';
import { createKafka } from './kafka.ts';
import { createIngestMetrics } from './metrics.ts';
import { ProducePipeline, withTimeout } from './producer.ts';
import { createSdkBundle } from './sdk-bundle.ts';

export { loadIngestConfig, type IngestConfig } from './config.ts';
export { HttpError, ConfigError, UnavailableError } from './errors.ts';
export { openApiDocument } from './openapi.ts';
export { parseWriteKeys, type WriteKeyInfo } from './write-keys.ts';

export interface IngestService {
  /** Adds POST /v1/batch, OPTIONS /v1/batch, GET /sdk.js and GET /openapi.json. */
  mount(app: Express): void;
  start(): Promise<void>;
  /** Stops intake (503 shutting_down), waits for in-flight batches, flushes and closes the producer; bounded by SHUTDOWN_TIMEOUT_MS. */
  stop(): Promise<void>;
  checks: Record<string, () => Promise<void>>;
}

export interface IngestDeps {
  config: Readonly<IngestConfig>;
  logger: Logger;
  registry: Registry;
  /** A kafkajs client to use instead of one built from the settings. */
  kafka?: Kafka;
  /** Routes broker connections (tests use it to cut Kafka off). */
  socketFactory?: ISocketFactory;
}

export function createIngestService(deps: IngestDeps): IngestService {
  const { config, registry } = deps;
  const logger = deps.logger.child({ service: 'ingest' });
  if (config.identitySecretIsDefault) {
    logger.warn(
      'IDENTITY_SECRET is the development default; set a real secret shared with the storefront backend, or anyone can forge user_token',
    );
  }
  const metrics = createIngestMetrics(registry);
  const kafka = deps.kafka ?? createKafka(config, logger, deps.socketFactory);
  const pipeline = new ProducePipeline({
    kafka,
    idempotent: config.kafkaIdempotent,
    maxInFlight: config.kafkaMaxInFlight,
    lingerMs: config.kafkaLingerMs,
    compression: config.kafkaCompression,
    maxBatchEvents: config.kafkaMaxBatchEvents,
    maxBatchBytes: config.kafkaMaxBatchBytes,
    maxInFlightEvents: config.maxInFlightEvents,
    produceTimeoutMs: config.produceTimeoutMs,
    logger,
    metrics,
  });
  const intake: RouterDeps['intake'] = { open: true, inFlightRequests: 0, onIdle: undefined };
  const sdk = createSdkBundle(config.sdkBundlePath, logger);
  const topics = ALL_TOPICS.map((t) => topicName(config.topicPrefix, t));
  let admin: Admin | undefined;
  let stopping: Promise<void> | undefined;

  async function checkKafka(): Promise<void> {
    const timeoutMs = Math.max(1000, config.produceTimeoutMs);
    try {
      admin ??= kafka.admin({ retry: { retries: 0 } });
      await withTimeout(admin.connect(), timeoutMs, `no Kafka broker answered at ${config.kafkaBrokers.join(',')} within ${timeoutMs} ms`);
      const existing = new Set(await withTimeout(admin.listTopics(), timeoutMs, `Kafka did not list topics within ${timeoutMs} ms`));
      const missing = topics.filter((t) => !existing.has(t));
      if (missing.length > 0) throw new Error(`topics missing: ${missing.join(', ')}; create them with \`npm run topics:create\``);
    } catch (err) {
      const a = admin;
      admin = undefined;
      if (a) void withTimeout(a.disconnect(), 1000).catch(() => {});
      throw err;
    }
  }

  return {
    mount(app) {
      app.use(createIngestRouter({ config, logger, metrics, pipeline, sdk, intake }));
    },
    async start() {
      sdk.get();
      try {
        await pipeline.start();
      } catch (err) {
        // Not fatal: requests answer 503 until Kafka answers, and /readyz says why.
        logger.warn({ err }, 'Kafka producer could not connect yet; POST /v1/batch answers 503 until it does');
      }
    },
    stop() {
      stopping ??= (async () => {
        intake.open = false;
        const deadline = Date.now() + config.shutdownTimeoutMs;
        if (intake.inFlightRequests > 0) {
          await new Promise<void>((resolve) => {
            const t = setTimeout(resolve, config.shutdownTimeoutMs);
            intake.onIdle = () => {
              clearTimeout(t);
              resolve();
            };
          });
        }
        await pipeline.close(Math.max(0, deadline - Date.now()));
        const a = admin;
        admin = undefined;
        if (a) await withTimeout(a.disconnect(), 1000).catch(() => {});
        logger.info('ingest stopped');
      })();
      return stopping;
    },
    checks: { kafka: checkKafka },
  };
}

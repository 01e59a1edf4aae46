import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface PromotionsMetrics {
  events: Counter<'result'>;
  freshness: Histogram;
  freshnessStage: Histogram<'stage'>;
  batchSize: Histogram;
  lag: Gauge<'topic' | 'partition'>;
  deadLetters: Counter<'code'>;
  apiRequests: Counter<'personalized' | 'holdout' | 'status'>;
  apiDuration: Histogram;
  catalogReloads: Counter<'result'>;
  apiFallbacks: Counter<'reason'>;
  consumerRestarts: Counter;
  stateRebuilds: Counter<'result'>;
}

/** Registers the package's metrics on the registry the host passes in. */
export function createMetrics(registry: Registry): PromotionsMetrics {
  const registers = [registry];
  const existing = (name: string) => registry.getSingleMetric(name);
  const make = <T>(name: string, build: () => T): T => (existing(name) as T | undefined) ?? build();
  return {
    events: make(
      'promotions_events_total',
      () =>
        new Counter({
          name: 'promotions_events_total',
          help: 'Events seen by the promotions processor, by result (applied, duplicate, redirected, merged, no_signal, bot, invalid)',
          labelNames: ['result'],
          registers,
        }),
    ),
    freshness: make(
      'promotions_freshness_seconds',
      () =>
        new Histogram({
          name: 'promotions_freshness_seconds',
          help: 'Event date to confirmed user_promotions write in Redis',
          buckets: [0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2.5, 5, 10, 30, 60],
          registers,
        }),
    ),
    freshnessStage: make(
      'promotions_freshness_stage_seconds',
      () =>
        new Histogram({
          name: 'promotions_freshness_stage_seconds',
          help:
            'Where freshness goes, per processed event: to_kafka = event date to the producer send (client and ingest), ' +
            'to_consumer = producer send to the batch reaching the consumer (broker, fetch round), ' +
            "in_batch = waiting behind earlier chunks of the same batch, apply = the chunk's Redis writes",
          labelNames: ['stage'],
          buckets: [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.075, 0.1, 0.15, 0.2, 0.25, 0.3, 0.5, 1, 2.5, 5, 10, 30],
          registers,
        }),
    ),
    batchSize: make(
      'promotions_batch_messages',
      () =>
        new Histogram({
          name: 'promotions_batch_messages',
          help: 'Messages per processed chunk',
          buckets: [1, 10, 50, 100, 250, 500, 1000, 5000],
          registers,
        }),
    ),
    lag: make(
      'promotions_consumer_lag',
      () =>
        new Gauge({
          name: 'promotions_consumer_lag',
          help: 'Messages behind the partition end after the last batch',
          labelNames: ['topic', 'partition'],
          registers,
        }),
    ),
    deadLetters: make(
      'promotions_dead_letters_total',
      () =>
        new Counter({
          name: 'promotions_dead_letters_total',
          help: 'Messages sent to invalid_events by reason code',
          labelNames: ['code'],
          registers,
        }),
    ),
    apiRequests: make(
      'promotions_api_requests_total',
      () =>
        new Counter({
          name: 'promotions_api_requests_total',
          help: 'Homepage API answers',
          labelNames: ['personalized', 'holdout', 'status'],
          registers,
        }),
    ),
    apiDuration: make(
      'promotions_api_duration_seconds',
      () =>
        new Histogram({
          name: 'promotions_api_duration_seconds',
          help: 'Homepage API handler time',
          buckets: [0.0005, 0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.5],
          registers,
        }),
    ),
    catalogReloads: make(
      'promotions_catalog_reloads_total',
      () =>
        new Counter({
          name: 'promotions_catalog_reloads_total',
          help: 'Catalog reloads by result (ok, rejected)',
          labelNames: ['result'],
          registers,
        }),
    ),
    apiFallbacks: make(
      'promotions_api_fallbacks_total',
      () =>
        new Counter({
          name: 'promotions_api_fallbacks_total',
          help: 'Homepage answers that fell back to the defaults because Redis could not be read, by reason (unavailable, timeout, error)',
          labelNames: ['reason'],
          registers,
        }),
    ),
    consumerRestarts: make(
      'promotions_consumer_restarts_total',
      () =>
        new Counter({
          name: 'promotions_consumer_restarts_total',
          help: 'In-process restarts of the crashed promotions consumer',
          registers,
        }),
    ),
    stateRebuilds: make(
      'promotions_state_rebuilds_total',
      () =>
        new Counter({
          name: 'promotions_state_rebuilds_total',
          help: 'Rebuilds of lost Redis state by replay from Kafka, by result (started, done, failed)',
          labelNames: ['result'],
          registers,
        }),
    ),
  };
}

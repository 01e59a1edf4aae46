import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

export interface AnalyticsMetrics {
  lag: Gauge<'topic' | 'partition'>;
  batchRows: Histogram;
  batchBytes: Histogram;
  insertSeconds: Histogram;
  queryableSeconds: Histogram;
  events: Counter<'result'>;
  insertFailures: Counter<'kind'>;
  bufferedBytes: Gauge;
  pausedPartitions: Gauge;
  sinkUp: Gauge;
}

export function createMetrics(registry: Registry): AnalyticsMetrics {
  const registers = [registry];
  return {
    lag: new Gauge({
      name: 'analytics_consumer_lag_messages',
      help: 'Messages behind the partition high watermark',
      labelNames: ['topic', 'partition'],
      registers,
    }),
    batchRows: new Histogram({
      name: 'analytics_batch_rows',
      help: 'Rows per ClickHouse insert',
      buckets: [1, 10, 100, 1000, 5000, 10_000, 50_000, 100_000],
      registers,
    }),
    batchBytes: new Histogram({
      name: 'analytics_batch_bytes',
      help: 'Bytes per ClickHouse insert',
      buckets: [1e3, 1e4, 1e5, 1e6, 1e7, 3e7, 1e8],
      registers,
    }),
    insertSeconds: new Histogram({
      name: 'analytics_insert_duration_seconds',
      help: 'Time of one batch insert into ClickHouse',
      buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5],
      registers,
    }),
    queryableSeconds: new Histogram({
      name: 'analytics_event_queryable_latency_seconds',
      help: 'From ingest (received_at) until the event is queryable in ClickHouse',
      buckets: [0.05, 0.1, 0.25, 0.5, 1, 1.5, 2, 3, 5, 10, 30],
      registers,
    }),
    events: new Counter({ name: 'analytics_events_total', help: 'Messages handled by result', labelNames: ['result'], registers }),
    insertFailures: new Counter({
      name: 'analytics_insert_failures_total',
      help: 'Failed inserts by kind (retriable, rejected)',
      labelNames: ['kind'],
      registers,
    }),
    bufferedBytes: new Gauge({ name: 'analytics_buffered_bytes', help: 'Bytes waiting in memory for insert', registers }),
    pausedPartitions: new Gauge({
      name: 'analytics_paused_partitions',
      help: 'Partitions paused for back-pressure or a failing sink',
      registers,
    }),
    sinkUp: new Gauge({ name: 'analytics_sink_up', help: '1 when the last insert succeeded', registers }),
  };
}

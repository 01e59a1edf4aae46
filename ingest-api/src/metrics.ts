import { Counter, Gauge, Histogram, type Registry } from 'prom-client';

/** Ingest metrics, registered on the registry the host passes in. */
export interface IngestMetrics {
  requests: Counter<'status'>;
  eventsAccepted: Counter<'type'>;
  eventsRejected: Counter<'reason'>;
  produceSeconds: Histogram<'outcome'>;
  produceBatchEvents: Histogram;
  inFlightEvents: Gauge;
  inFlightRequests: Gauge;
}

export function createIngestMetrics(registry: Registry): IngestMetrics {
  const registers = [registry];
  return {
    requests: new Counter({
      name: 'ingest_requests_total',
      help: 'POST /v1/batch requests by response status',
      labelNames: ['status'],
      registers,
    }),
    eventsAccepted: new Counter({
      name: 'ingest_events_accepted_total',
      help: 'Events acknowledged by Kafka, by type',
      labelNames: ['type'],
      registers,
    }),
    eventsRejected: new Counter({
      name: 'ingest_events_rejected_total',
      help: 'Events not accepted, by reason (invalid ones go to invalid_events; whole-batch refusals count every event)',
      labelNames: ['reason'],
      registers,
    }),
    produceSeconds: new Histogram({
      name: 'ingest_produce_duration_seconds',
      help: 'Time from enqueue to Kafka acknowledgement (acks=all) of one request, by outcome',
      labelNames: ['outcome'],
      buckets: [0.001, 0.002, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2, 5],
      registers,
    }),
    produceBatchEvents: new Histogram({
      name: 'ingest_kafka_batch_events',
      help: 'Messages per Kafka produce call (batching across requests)',
      buckets: [1, 10, 50, 100, 250, 500, 1000, 2500, 5000, 10000],
      registers,
    }),
    inFlightEvents: new Gauge({ name: 'ingest_in_flight_events', help: 'Events waiting for or being produced to Kafka', registers }),
    inFlightRequests: new Gauge({ name: 'ingest_in_flight_requests', help: 'Batch requests being handled', registers }),
  };
}

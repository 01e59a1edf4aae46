import { CompressionTypes, Partitioners, type Kafka, type Message, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
import type { ProduceRecord } from './batch.ts';
import { PayloadTooLargeError, UnavailableError } from './errors.ts';
import type { IngestMetrics } from './metrics.ts';

export interface PipelineOptions {
  kafka: Kafka;
  idempotent: boolean;
  /** Concurrent produce calls; must be 1 when idempotent. */
  maxInFlight: number;
  lingerMs: number;
  compression: 'none' | 'gzip';
  /** Most messages one produce call carries. */
  maxBatchEvents: number;
  /** Most value+key bytes one produce call carries (below the broker's message.max.bytes). */
  maxBatchBytes: number;
  /** Most events queued or in flight at once; past it requests get 503 at once. */
  maxInFlightEvents: number;
  produceTimeoutMs: number;
  logger: Logger;
  metrics: IngestMetrics;
}

interface Entry {
  records: ProduceRecord[];
  bytes: number;
  enqueuedAt: number;
  settled: boolean;
  /** Timed out while still queued: never sent. */
  cancelled: boolean;
  timer: NodeJS.Timeout;
  resolve: () => void;
  reject: (err: Error) => void;
}

/**
 * Group commit in front of one kafkajs producer. Requests enqueue their
 * records; whenever a produce slot is free, everything queued (up to
 * maxBatchEvents) goes out as one sendBatch with acks=all. While one call is
 * in flight the next batch accumulates, so with one slot (what the idempotent
 * producer needs: kafkajs assigns sequence numbers per call and is known to
 * lose messages under concurrent sends) throughput still scales with load.
 *
 * Each request has a deadline (produceTimeoutMs). A request still queued at
 * its deadline is removed and never sent (503, nothing acknowledged). A request
 * whose records are already in flight also gets 503 at its deadline; its
 * records may still land later, which the client's retry turns into a
 * duplicate that every consumer drops by event_id.
 */
export class ProducePipeline {
  private readonly queue: Entry[] = [];
  private pendingEvents = 0;
  private inFlight = 0;
  private producer: Producer | undefined;
  private connecting: Promise<Producer> | undefined;
  private lingerTimer: NodeJS.Timeout | undefined;
  private closed = false;
  private idleWaiters: Array<() => void> = [];
  private readonly compression: CompressionTypes;

  constructor(private readonly o: PipelineOptions) {
    this.compression = o.compression === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  }

  /** Events queued or in flight. */
  get pending(): number {
    return this.pendingEvents;
  }

  get retryAfterS(): number {
    return Math.max(1, Math.ceil(this.o.produceTimeoutMs / 1000));
  }

  /** Connects eagerly so the first request does not pay for it; failures are retried on demand. */
  async start(): Promise<void> {
    await this.getProducer();
  }

  /** Resolves when Kafka acknowledged every record (acks=all); rejects with UnavailableError otherwise. */
  produce(records: ProduceRecord[]): Promise<void> {
    if (this.closed)
      return Promise.reject(new UnavailableError('shutting_down', 'the ingest API is shutting down; retry on another instance', 1));
    if (records.length === 0) return Promise.resolve();
    if (this.pendingEvents + records.length > this.o.maxInFlightEvents) {
      return Promise.reject(
        new UnavailableError(
          'overloaded',
          `Kafka is not keeping up (${this.pendingEvents} events in flight, limit MAX_IN_FLIGHT_EVENTS=${this.o.maxInFlightEvents})`,
          this.retryAfterS,
        ),
      );
    }
    let bytes = 0;
    for (const r of records) bytes += r.value.length + (r.key === null ? 0 : r.key.length * 3);
    if (bytes > this.o.maxBatchBytes) {
      // Kafka would refuse it whole (message.max.bytes); a retry cannot help, a smaller batch can.
      return Promise.reject(
        new PayloadTooLargeError(
          `batch is ${bytes} bytes once enriched, over KAFKA_MAX_BATCH_BYTES=${this.o.maxBatchBytes}; send fewer events per batch`,
        ),
      );
    }
    return new Promise<void>((resolve, reject) => {
      const entry: Entry = {
        records,
        bytes,
        enqueuedAt: performance.now(),
        settled: false,
        cancelled: false,
        resolve,
        reject,
        timer: setTimeout(() => this.expire(entry), this.o.produceTimeoutMs),
      };
      this.queue.push(entry);
      this.addPending(records.length);
      this.pump();
    });
  }

  /** Stops intake; resolves when everything queued or in flight is settled, or after timeoutMs. Then disconnects. */
  async close(timeoutMs: number): Promise<void> {
    this.closed = true;
    if (this.lingerTimer) {
      clearTimeout(this.lingerTimer);
      this.lingerTimer = undefined;
      this.pump(true);
    }
    if (this.pendingEvents > 0) {
      await new Promise<void>((resolve) => {
        const t = setTimeout(resolve, timeoutMs);
        this.idleWaiters.push(() => {
          clearTimeout(t);
          resolve();
        });
      });
    }
    const p = this.producer;
    this.producer = undefined;
    if (p) await withTimeout(p.disconnect(), 2000).catch(() => {});
  }

  private addPending(n: number): void {
    this.pendingEvents += n;
    this.o.metrics.inFlightEvents.set(this.pendingEvents);
    if (this.pendingEvents === 0) {
      const waiters = this.idleWaiters;
      this.idleWaiters = [];
      for (const w of waiters) w();
    }
  }

  private expire(entry: Entry): void {
    if (entry.settled) return;
    entry.settled = true;
    const queuedAt = this.queue.indexOf(entry);
    if (queuedAt >= 0) {
      entry.cancelled = true;
      this.queue.splice(queuedAt, 1);
      this.addPending(-entry.records.length);
    }
    this.o.metrics.produceSeconds.observe({ outcome: 'timeout' }, (performance.now() - entry.enqueuedAt) / 1000);
    entry.reject(
      new UnavailableError(
        'kafka_unavailable',
        `Kafka did not acknowledge the batch within PRODUCE_TIMEOUT_MS=${this.o.produceTimeoutMs}; nothing was accepted, retry later`,
        this.retryAfterS,
      ),
    );
  }

  private pump(force = false): void {
    while (this.inFlight < this.o.maxInFlight && this.queue.length > 0) {
      if (!force && this.o.lingerMs > 0 && this.inFlight === 0 && this.queuedEvents() < this.o.maxBatchEvents) {
        // Wait a little for more requests to share this produce call.
        this.lingerTimer ??= setTimeout(() => {
          this.lingerTimer = undefined;
          this.pump(true);
        }, this.o.lingerMs);
        return;
      }
      force = false;
      const batch: Entry[] = [];
      let events = 0;
      let bytes = 0;
      while (this.queue.length > 0) {
        const next = this.queue[0]!;
        // One request always fits (its body is capped well below the broker's limit).
        if (batch.length > 0 && (events + next.records.length > this.o.maxBatchEvents || bytes + next.bytes > this.o.maxBatchBytes)) break;
        this.queue.shift();
        batch.push(next);
        events += next.records.length;
        bytes += next.bytes;
      }
      this.inFlight++;
      void this.send(batch, events).finally(() => {
        this.inFlight--;
        this.pump();
      });
    }
  }

  private queuedEvents(): number {
    let n = 0;
    for (const e of this.queue) n += e.records.length;
    return n;
  }

  private async send(taken: Entry[], events: number): Promise<void> {
    let batch = taken;
    try {
      const producer = await this.getProducer();
      // Requests that reached their deadline while we were connecting were
      // answered 503 and never handed to Kafka: leave them out.
      batch = taken.filter((e) => !e.settled);
      if (batch.length === 0) return;
      const byTopic = new Map<string, Message[]>();
      let count = 0;
      for (const entry of batch) {
        for (const r of entry.records) {
          let list = byTopic.get(r.topic);
          if (!list) byTopic.set(r.topic, (list = []));
          list.push({ key: r.key, value: r.value });
          count++;
        }
      }
      this.o.metrics.produceBatchEvents.observe(count);
      await producer.sendBatch({
        topicMessages: [...byTopic].map(([topic, messages]) => ({ topic, messages })),
        acks: -1,
        timeout: this.o.produceTimeoutMs,
        compression: this.compression,
      });
      const now = performance.now();
      for (const e of batch) {
        if (e.settled) continue;
        e.settled = true;
        clearTimeout(e.timer);
        this.o.metrics.produceSeconds.observe({ outcome: 'ok' }, (now - e.enqueuedAt) / 1000);
        e.resolve();
      }
    } catch (err) {
      this.o.logger.warn({ err, events }, 'kafka produce failed; answering 503 for the affected requests');
      // A failed call may have left the idempotent producer's sequence numbers
      // out of step with the broker; a fresh producer gets a new producer id.
      this.retireProducer();
      for (const e of batch) {
        if (e.settled) continue;
        e.settled = true;
        clearTimeout(e.timer);
        this.o.metrics.produceSeconds.observe({ outcome: 'error' }, (performance.now() - e.enqueuedAt) / 1000);
        e.reject(
          new UnavailableError(
            'kafka_unavailable',
            `Kafka refused the batch (${(err as Error).message}); nothing was accepted, retry later`,
            this.retryAfterS,
            err,
          ),
        );
      }
    } finally {
      this.addPending(-events);
    }
  }

  private retireProducer(): void {
    const p = this.producer;
    this.producer = undefined;
    if (p) void withTimeout(p.disconnect(), 5000).catch(() => {});
  }

  private getProducer(): Promise<Producer> {
    if (this.producer) return Promise.resolve(this.producer);
    this.connecting ??= (async () => {
      const p = this.o.kafka.producer({
        idempotent: this.o.idempotent,
        allowAutoTopicCreation: false,
        // murmur2 on the key, as the Java client: one visitor, one partition, whatever produces.
        createPartitioner: Partitioners.DefaultPartitioner,
        // Idempotent: kafkajs default (retry forever with backoff) keeps the
        // sequence numbers valid; requests still get their answer by deadline.
        // The short max backoff makes recovery quick once Kafka is back.
        retry: this.o.idempotent
          ? { initialRetryTime: 100, maxRetryTime: 1000, retries: Number.MAX_SAFE_INTEGER }
          : { initialRetryTime: 100, maxRetryTime: 1000, retries: 5 },
      });
      try {
        await p.connect();
      } catch (err) {
        await withTimeout(p.disconnect(), 1000).catch(() => {});
        throw err;
      }
      this.producer = p;
      return p;
    })().finally(() => {
      this.connecting = undefined;
    });
    return this.connecting;
  }
}

export function withTimeout<T>(p: Promise<T>, ms: number, message = `timed out after ${ms} ms`): Promise<T> {
  let t: NodeJS.Timeout | undefined;
  return Promise.race([
    p,
    new Promise<T>((_, reject) => {
      t = setTimeout(() => reject(new Error(message)), ms);
    }),
  ]).finally(() => clearTimeout(t));
}

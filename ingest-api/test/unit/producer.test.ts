import { pino } from 'pino';
import { Registry } from 'prom-client';
import type { Kafka, ProducerBatch } from 'kafkajs';
import { describe, expect, it } from 'vitest';
import { UnavailableError } from '../../src/errors.ts';
import { createIngestMetrics } from '../../src/metrics.ts';
import { ProducePipeline } from '../../src/producer.ts';

/** A stand-in for kafkajs that records calls and lets the test decide when each one completes. */
function fakeKafka(connectDelayMs = 0) {
  const calls: { batch: ProducerBatch; resolve: () => void; reject: (e: Error) => void }[] = [];
  let producers = 0;
  const kafka = {
    producer: () => {
      producers++;
      return {
        connect: () => new Promise((r) => setTimeout(r, connectDelayMs)),
        disconnect: async () => {},
        sendBatch: (batch: ProducerBatch) =>
          new Promise<void>((resolve, reject) => {
            calls.push({ batch, resolve, reject });
          }),
      };
    },
  } as unknown as Kafka;
  return { kafka, calls, producers: () => producers };
}

function pipeline(kafka: Kafka, over: Partial<ConstructorParameters<typeof ProducePipeline>[0]> = {}) {
  return new ProducePipeline({
    kafka,
    idempotent: true,
    maxInFlight: 1,
    lingerMs: 0,
    compression: 'none',
    maxBatchEvents: 1000,
    maxBatchBytes: 1_000_000,
    maxInFlightEvents: 100,
    produceTimeoutMs: 200,
    logger: pino({ level: 'silent' }),
    metrics: createIngestMetrics(new Registry()),
    ...over,
  });
}

const rec = (n: number, topic = 't') => Array.from({ length: n }, (_, i) => ({ topic, key: `k${i}`, value: Buffer.from('v') }));
const tick = () => new Promise((r) => setTimeout(r, 5));

describe('ProducePipeline', () => {
  it('sends with acks=all and resolves only after Kafka acknowledged', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka);
    let done = false;
    const req = p.produce(rec(3)).then(() => (done = true));
    await tick();
    expect(f.calls).toHaveLength(1);
    expect(f.calls[0]!.batch.acks).toBe(-1);
    expect(done).toBe(false);
    f.calls[0]!.resolve();
    await req;
    expect(done).toBe(true);
  });

  it('keeps one call in flight and groups the requests that arrive meanwhile into the next call', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka);
    const a = p.produce(rec(2));
    await tick();
    const b = p.produce(rec(3, 'x'));
    const c = p.produce(rec(4, 'y'));
    await tick();
    expect(f.calls).toHaveLength(1);
    f.calls[0]!.resolve();
    await a;
    await tick();
    expect(f.calls).toHaveLength(2);
    const second = f.calls[1]!.batch.topicMessages!;
    expect(second.map((t) => [t.topic, t.messages.length])).toEqual([
      ['x', 3],
      ['y', 4],
    ]);
    f.calls[1]!.resolve();
    await Promise.all([b, c]);
  });

  it('splits queued requests into calls bounded by bytes', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka, { maxBatchBytes: 100 });
    const big = (topic: string) => [{ topic, key: 'k', value: Buffer.from('v'.repeat(57)) }]; // 57 + 3 (key, counted as up to 3 bytes per char) = 60
    const a = p.produce(big('a'));
    await tick();
    const rest = [p.produce(big('b')), p.produce(big('c')), p.produce(big('d'))];
    await tick();
    f.calls[0]!.resolve();
    await a;
    await tick();
    expect(f.calls[1]!.batch.topicMessages!.map((t) => t.topic)).toEqual(['b']);
    f.calls[1]!.resolve();
    await tick();
    expect(f.calls[2]!.batch.topicMessages!.map((t) => t.topic)).toEqual(['c']);
    f.calls[2]!.resolve();
    await tick();
    f.calls[3]!.resolve();
    await Promise.all(rest);
  });

  it('refuses with 413 a request that alone exceeds the call byte limit', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka, { maxBatchBytes: 100 });
    await expect(p.produce([{ topic: 't', key: 'k', value: Buffer.from('v'.repeat(200)) }])).rejects.toMatchObject({ status: 413 });
    expect(p.pending).toBe(0);
  });

  it('answers 503 at the deadline and never sends a request that was still queued', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka, { produceTimeoutMs: 50 });
    const a = p.produce(rec(1));
    await tick();
    const b = p.produce(rec(1, 'queued'));
    await expect(a).rejects.toMatchObject({ status: 503, code: 'kafka_unavailable' });
    await expect(b).rejects.toBeInstanceOf(UnavailableError);
    f.calls[0]!.resolve();
    await tick();
    await tick();
    expect(f.calls).toHaveLength(1);
    expect(p.pending).toBe(0);
  });

  it('leaves out requests whose deadline passed while the producer was connecting', async () => {
    const f = fakeKafka(120);
    const p = pipeline(f.kafka, { produceTimeoutMs: 50 });
    await expect(p.produce(rec(2))).rejects.toMatchObject({ code: 'kafka_unavailable' });
    await new Promise((r) => setTimeout(r, 150));
    expect(f.calls).toHaveLength(0);
    expect(p.pending).toBe(0);
  });

  it('refuses at once past MAX_IN_FLIGHT_EVENTS', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka, { maxInFlightEvents: 10 });
    const a = p.produce(rec(8));
    await expect(p.produce(rec(5))).rejects.toMatchObject({ code: 'overloaded', retryAfterS: 1 });
    await tick();
    f.calls[0]!.resolve();
    await a;
    await p.produce(rec(5)).then(
      () => {},
      () => {},
    );
  });

  it('fails the batch with 503 and replaces the producer when a send fails', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka, { produceTimeoutMs: 5000 });
    const a = p.produce(rec(1));
    await tick();
    f.calls[0]!.reject(new Error('NOT_LEADER'));
    await expect(a).rejects.toMatchObject({ status: 503, message: expect.stringContaining('NOT_LEADER') });
    const b = p.produce(rec(1));
    await tick();
    await tick();
    expect(f.producers()).toBe(2);
    f.calls[1]!.resolve();
    await b;
  });

  it('drains in-flight work on close and refuses new work', async () => {
    const f = fakeKafka();
    const p = pipeline(f.kafka, { produceTimeoutMs: 5000 });
    const a = p.produce(rec(1));
    await tick();
    const closing = p.close(1000);
    await expect(p.produce(rec(1))).rejects.toMatchObject({ code: 'shutting_down' });
    f.calls[0]!.resolve();
    await a;
    await closing;
  });
});

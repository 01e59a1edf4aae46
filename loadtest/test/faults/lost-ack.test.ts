/**
 * Scenario 3: lost produce acknowledgements. A private broker advertises a
 * fault proxy as its address, so every client (ingest's producer, both
 * processors) talks through it. For a while the proxy forwards requests but
 * drops every response: the broker stores the produce, the acknowledgement
 * never comes, ingest answers 503, and the SDK-like client retries the same
 * event_ids, which Kafka then holds twice. Downstream each must end as one
 * event: once in ClickHouse, once in the visitor's interests.
 */
import { Kafka, logLevel } from 'kafkajs';
import fs from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ACTIVITY_TOPICS, topicName } from '@storepulse/contracts';
import { startFaultApp, type FaultApp } from '../../faults/app.ts';
import { checkRedis, checkWarehouse, waitLagZero } from '../../faults/checker.ts';
import { EventFactory, Ledger, percentile, startLoad } from '../../faults/ledger.ts';
import { FaultProxy } from '../../faults/proxy.ts';
import { FULL, pick, record, saveOutput } from '../../faults/scenario.ts';
import { freePorts, sleep, startPrivateKafka, startPrivateRedis, type PrivateKafka, type PrivateRedis } from '../../faults/services.ts';

const DROP_MS = pick(5_000, 10_000);
const PRODUCE_TIMEOUT_MS = 2000;

let kafka: PrivateKafka;
let redis: PrivateRedis;
let proxy: FaultProxy;
let app: FaultApp;
const ledger = new Ledger();
/** Until F5 (RELIABILITY.md) is fixed: restart an app whose consumer lag has not moved for 45 s, and report it. */
const watchdog = { onStall: () => app.restartNow() };
const factory = new EventFactory(`la${Date.now().toString(36)}`);

beforeAll(async () => {
  const proxyPort = await freePorts(0);
  [kafka, redis] = await Promise.all([startPrivateKafka({ advertisedPort: proxyPort }), startPrivateRedis()]);
  proxy = new FaultProxy('127.0.0.1', kafka.port);
  await proxy.listen(proxyPort);
  app = await startFaultApp({
    brokers: kafka.brokers,
    redisUrl: redis.url,
    env: { PRODUCE_TIMEOUT_MS: String(PRODUCE_TIMEOUT_MS) },
    supervise: true,
  });
});

afterAll(async () => {
  await app?.kill();
  if (app) saveOutput('lost-ack', app.output());
  await proxy?.close();
  await kafka?.stop();
  await redis?.stop();
  if (app) fs.rmSync(app.dataDir, { recursive: true, force: true });
});

/** How many times each event_id is in the activity topics (read through the proxy, now healthy). */
async function kafkaCopies(prefix: string, expected: number): Promise<Map<string, number>> {
  const k = new Kafka({ clientId: 'fault-copies', brokers: kafka.brokers, logLevel: logLevel.NOTHING });
  const admin = k.admin();
  await admin.connect();
  let total = 0;
  for (const t of ACTIVITY_TOPICS)
    for (const p of await admin.fetchTopicOffsets(topicName(prefix, t))) total += Number(p.high) - Number(p.low);
  await admin.disconnect();
  const consumer = k.consumer({ groupId: `${prefix}copies-${Date.now()}` });
  const copies = new Map<string, number>();
  let seen = 0;
  await consumer.connect();
  await consumer.subscribe({ topics: ACTIVITY_TOPICS.map((t) => topicName(prefix, t)), fromBeginning: true });
  await new Promise<void>((resolve) => {
    const timer = setTimeout(resolve, 30_000);
    void consumer.run({
      eachMessage: async ({ message }) => {
        seen++;
        const id = (JSON.parse(message.value!.toString()) as { event_id: string }).event_id;
        copies.set(id, (copies.get(id) ?? 0) + 1);
        if (seen >= total) {
          clearTimeout(timer);
          resolve();
        }
      },
    });
  });
  await consumer.disconnect();
  expect(seen).toBeGreaterThanOrEqual(expected);
  return copies;
}

describe(`lost produce acknowledgements (${FULL ? 'full' : 'short'} form)`, () => {
  it(`turns the retries of events whose acks were dropped for ${DROP_MS / 1000} s into one event each downstream`, async () => {
    const running = startLoad({
      baseUrl: app.baseUrl,
      ledger,
      factory,
      visitors: 30,
      concurrency: 8,
      batchesPerS: 20,
      batchSize: 5,
      maxAttempts: 60,
    });
    await sleep(3000);
    const dropAt = Date.now();
    proxy.set('drop-responses');
    await sleep(DROP_MS);
    proxy.set('up');
    const upAt = Date.now();
    await sleep(5000);
    await running.stop();

    // Acks were lost: requests in the window failed (503), none was acknowledged.
    // Requests that lived through the drop: none may be acknowledged, and some got 503 (their acks were lost).
    const inside = ledger.requests.filter((r) => r.at > dropAt + 100 && r.at + r.ms < upAt - 100);
    expect(inside.filter((r) => r.status === 202)).toEqual([]);
    const lost = ledger.requests.filter((r) => r.at + r.ms > dropAt + 100 && r.at < upAt - 100 && r.status === 503);
    expect(lost.length).toBeGreaterThan(0);
    expect(proxy.droppedBytes).toBeGreaterThan(0);
    const c = ledger.counts();
    expect(c.failed + c.pending).toBe(0);

    const lag = await waitLagZero(kafka.brokers, app.prefix, 150_000, watchdog);
    expect(lag, app.output().slice(-3000)).toMatchObject({ promotions: 0, analytics: 0 });
    const copies = await kafkaCopies(app.prefix, c.acked);
    const acked = ledger.byStatus('acked').map((e) => e.event.event_id);
    expect(acked.filter((id) => !copies.has(id))).toEqual([]);
    const twiceInKafka = acked.filter((id) => (copies.get(id) ?? 0) > 1).length;

    const red = await checkRedis(redis.url, app.prefix, ledger);
    expect(red.mismatches).toEqual([]);
    await app.stop();
    const wh = await checkWarehouse(app.dataDir, ledger);
    expect(wh.missing).toEqual([]);
    expect(wh.duplicates).toEqual([]);
    record('3-lost-ack', {
      drop_ms: upAt - dropAt,
      ...c,
      requests_without_ack: lost.length,
      dropped_response_bytes: proxy.droppedBytes,
      events_in_kafka_more_than_once: twiceInKafka,
      found: wh.found,
      duplicates: wh.duplicates.length,
      redis_visitors_equal_model: `${red.equal}/${red.visitors}`,
      redis_applied_events: red.appliedEvents,
      lag_zero_ms: lag.ms,
      watchdog_restarts: lag.stalls,
      p99_ms: percentile(
        ledger.requests.map((r) => r.ms),
        99,
      ),
      app_restarts: app.restarts(),
    });
  });
});

/**
 * F2/F3 (RELIABILITY.md): a Kafka outage must not end the process. The
 * service's kafkajs client connects through a socket factory that this test
 * can cut (every open socket destroyed, new ones refused), in front of the
 * real shared broker: the consumer crashes when its retries run out, and is
 * restarted in-process with backoff until Kafka answers again. Starting while
 * Kafka is unreachable (as with "the coordinator is loading" on a fresh
 * broker) is retried the same way instead of failing start().
 */
import net from 'node:net';
import { Kafka, logLevel, type ISocketFactory } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BROKERS,
  cleanup,
  connectRedis,
  event,
  EventProducer,
  getJson,
  poll,
  randomPrefix,
  type Running,
  setupTopics,
  startService,
} from './harness.ts';
import type { Redis } from 'ioredis';

const prefix = randomPrefix();
let redis: Redis;
let producer: EventProducer;
let running: Running | undefined;
const fatal: Error[] = [];

let cut = false;
const sockets = new Set<net.Socket>();
const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
  if (cut) {
    const s = new net.Socket();
    process.nextTick(() => s.destroy(new Error('test: Kafka is cut off')));
    return s;
  }
  const s = net.connect({ host, port }, onConnect);
  s.setKeepAlive(true, 30_000);
  sockets.add(s);
  s.once('close', () => sockets.delete(s));
  return s;
};
function cutKafka(): void {
  cut = true;
  for (const s of sockets) s.destroy(new Error('test: Kafka is cut off'));
}

async function restarts(): Promise<number> {
  const text = await running!.registry.getSingleMetricAsString('promotions_consumer_restarts_total');
  return Number(/promotions_consumer_restarts_total (\d+)/.exec(text)?.[1] ?? 0);
}

const personalized = (anon: string) =>
  poll(
    () => getJson(`${running!.url}/v1/promotions/${anon}`),
    (r) => r.body.personalized === true,
    75_000,
    250,
  );

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
});

afterAll(async () => {
  cut = false;
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('promotions consumer under a Kafka outage', () => {
  it('starts while Kafka is unreachable and joins once it answers, without a fatal exit', async () => {
    cut = true;
    const kafka = new Kafka({
      clientId: 'promotions-restart-test',
      brokers: BROKERS,
      logLevel: process.env.TEST_KAFKA_LOG ? logLevel.INFO : logLevel.NOTHING,
      socketFactory,
      retry: { retries: 2, initialRetryTime: 100, maxRetryTime: 500 },
    });
    const t0 = Date.now();
    running = await startService(
      prefix,
      { PROMOTIONS_RESTART_MIN_BACKOFF_MS: '200', PROMOTIONS_RESTART_MAX_BACKOFF_MS: '1000' },
      { kafka, onFatal: (err) => fatal.push(err) },
    );
    expect(Date.now() - t0).toBeLessThan(5000);
    await poll(restarts, (n) => n >= 2, 20_000, 100);
    expect(await restarts()).toBeGreaterThanOrEqual(2);
    await expect(running.service.checks.kafka!()).rejects.toThrow(/restarting in-process/);

    cut = false;
    const anon = `a-restart-start-${Date.now()}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'humidifier' }));
    const r = await personalized(anon);
    expect(r.body.personalized).toBe(true);
    await expect(running.service.checks.kafka!()).resolves.toBeUndefined();
    expect(fatal).toEqual([]);
    // Its own first offset commits did not make this fresh start look like lost Redis state.
    const rebuilds = await running.registry.getSingleMetricAsString('promotions_state_rebuilds_total');
    expect(rebuilds).not.toMatch(/result="started"\} [1-9]/);
  }, 120_000);

  it('restarts the crashed consumer in-process when Kafka goes away mid-run, and catches up when it is back', async () => {
    const before = await restarts();
    cutKafka();
    // kafkajs gives up after its retries (a few seconds), then every restart attempt fails until Kafka is back.
    await poll(restarts, (n) => n >= before + 2, 60_000, 200);
    expect(await restarts()).toBeGreaterThanOrEqual(before + 2);
    const anon = `a-restart-run-${Date.now()}`;
    // Produced through the test's own client while the service is cut off.
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'espresso machine' }));
    cut = false;
    const r = await personalized(anon);
    expect(r.body.personalized).toBe(true);
    expect(fatal).toEqual([]);
  }, 150_000);
});

/**
 * Exactly-once when Kafka goes away between an insert and its offset commit.
 *
 * The service's kafkajs client connects through a socket factory that this
 * test can cut (open sockets destroyed, new ones refused) in front of the real
 * shared broker; the test's own producer keeps producing meanwhile. The
 * consumer crashes when its retries run out and kafkajs restarts it
 * in-process, or the process stops and a new one takes over on the same
 * warehouse. When Kafka is back the partitions are re-read from their
 * committed offsets, with more messages behind them than before, so batches
 * that were not recorded as intents form with other boundaries (other dedup
 * tokens). Every event must still be in activity.events exactly once: counted
 * without FINAL and in the rollups, which count every insert.
 */
import net from 'node:net';
import { Kafka, logLevel, type Consumer, type ConsumerConfig, type ISocketFactory } from 'kafkajs';
import type { Producer } from 'kafkajs';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { EnrichedEvent } from '@storepulse/contracts';
import type { WarehouseClient } from '@storepulse/warehouse';
import {
  createAnalyticsService,
  loadAnalyticsConfig,
  type AnalyticsHooks,
  type AnalyticsService,
  type BatchInfo,
} from '../../src/index.ts';
import {
  BROKERS,
  closeWarehouse,
  connectProducer,
  countEvents,
  createTopics,
  deleteTopics,
  makeEvent,
  produceEvents,
  quietLogger,
  randomPrefix,
  requireKafka,
  rollupTotal,
  testWarehouse,
  waitFor,
} from './harness.ts';

let warehouse: WarehouseClient;
let producer: Producer;
const prefixes: string[] = [];
const running: AnalyticsService[] = [];

beforeAll(async () => {
  await requireKafka();
  warehouse = await testWarehouse();
  producer = await connectProducer();
});

afterAll(async () => {
  for (const s of running) await s.stop().catch(() => {});
  await producer?.disconnect();
  for (const p of prefixes) await deleteTopics(p);
  await closeWarehouse();
});

/** A kafkajs client whose connections the test can cut, with a consumer that gives up (crashes) quickly. */
function cuttableKafka(name: string) {
  const ctl = { cut: false, crashes: 0, joins: 0, assignment: {} as Record<string, number[]> };
  const sockets = new Set<net.Socket>();
  const socketFactory: ISocketFactory = ({ host, port, onConnect }) => {
    if (ctl.cut) {
      const s = new net.Socket();
      process.nextTick(() => s.destroy(new Error('test: Kafka is cut off')));
      return s;
    }
    const s = net.connect({ host, port }, onConnect);
    sockets.add(s);
    s.once('close', () => sockets.delete(s));
    return s;
  };
  const retry = { retries: 2, initialRetryTime: 100, maxRetryTime: 500 };
  const kafka = new Kafka({
    clientId: `analytics-outage-${name}`,
    brokers: BROKERS,
    logLevel: process.env.TEST_KAFKA_LOG ? logLevel.INFO : logLevel.NOTHING,
    socketFactory,
    retry,
  });
  const consumers: Consumer[] = [];
  /** `topic:partition` whose offset commits are refused (the OffsetCommit request fails), others unaffected. */
  const refuseCommits = new Set<string>();
  /**
   * When `joins` is set: an offset commit made before the consumer's next group join is held until
   * that join and then fails, as the broker answers a commit sent with the generation before a
   * rebalance (ILLEGAL_GENERATION). Commits made after the join go through.
   */
  const stale = { joins: null as number | null, failed: [] as string[] };
  const makeConsumer = kafka.consumer.bind(kafka);
  // Same consumer as the service builds, but it crashes after a few failed
  // retries (not ~20 s) and a member that vanished is evicted after 6 s.
  kafka.consumer = (cfg: ConsumerConfig) => {
    const c = makeConsumer({ ...cfg, retry: { ...cfg.retry, ...retry }, sessionTimeout: 6000, heartbeatInterval: 1000 });
    c.on(c.events.CRASH, () => void ctl.crashes++);
    c.on(c.events.GROUP_JOIN, (e) => {
      ctl.joins++;
      ctl.assignment = e.payload.memberAssignment as Record<string, number[]>;
    });
    const commit = c.commitOffsets.bind(c);
    c.commitOffsets = async (tps) => {
      for (const tp of tps)
        if (refuseCommits.has(`${tp.topic}:${tp.partition}`)) throw new Error(`test: offset commit of ${tp.topic}:${tp.partition} refused`);
      if (stale.joins === ctl.joins) {
        while (ctl.joins === stale.joins) await new Promise((r) => setTimeout(r, 5));
        stale.failed.push(...tps.map((tp) => `${tp.topic}:${tp.partition}`));
        throw new Error('test: Specified group generation id is not valid (commit sent before the rebalance)');
      }
      return commit(tps);
    };
    consumers.push(c);
    return c;
  };
  return {
    kafka,
    ctl,
    consumers,
    refuseCommits,
    stale,
    cut() {
      ctl.cut = true;
      for (const s of sockets) s.destroy(new Error('test: Kafka is cut off'));
    },
    restore() {
      ctl.cut = false;
    },
  };
}

function analytics(prefix: string, kafka: Kafka, hooks: AnalyticsHooks = {}, env: Record<string, string> = {}): AnalyticsService {
  const config = loadAnalyticsConfig({
    KAFKA_BROKERS: BROKERS.join(','),
    TOPIC_PREFIX: prefix,
    ANALYTICS_BATCH_MAX_ROWS: '40',
    ANALYTICS_FLUSH_INTERVAL_MS: '100',
    ANALYTICS_RETRY_MIN_MS: '50',
    ANALYTICS_RETRY_MAX_MS: '400',
    SHUTDOWN_TIMEOUT_MS: '3000',
    ...env,
  });
  const service = createAnalyticsService({ config, logger: quietLogger(), registry: new Registry(), warehouse, kafka, hooks });
  running.push(service);
  return service;
}

async function newPrefix(): Promise<string> {
  const prefix = randomPrefix();
  prefixes.push(prefix);
  await createTopics(prefix);
  return prefix;
}

const types = ['page_view', 'search', 'click'] as const;
function events(site: string, n: number): EnrichedEvent[] {
  return Array.from({ length: n }, (_, i) => makeEvent(site, types[i % 3]!));
}

async function duplicatedIds(site: string): Promise<{ event_id: string; n: number }[]> {
  const rs = await warehouse.client.query({
    query:
      'SELECT event_id, toUInt32(count()) AS n FROM activity.events WHERE site = {site:String} GROUP BY event_id HAVING n > 1 ORDER BY event_id LIMIT 20',
    query_params: { site },
    format: 'JSONEachRow',
  });
  return rs.json<{ event_id: string; n: number }>();
}

/**
 * Waits for all n events, lets stray copies land, then: no event_id twice, raw rows = distinct = rollups = n.
 * If they never all arrive, the error says in what state `services` are (a partition left paused, writes failing).
 */
async function expectWrittenOnce(site: string, n: number, services: AnalyticsService[] = []): Promise<void> {
  await waitFor(
    `all ${n} events`,
    () => countEvents(warehouse, site),
    (c) => c.distinct >= n,
    90_000,
    100,
  ).catch((err: unknown) => {
    const state = services.map((s) => {
      const { pausedPartitions, insertFailures, batches, bufferedBytes } = s.stats();
      return { pausedPartitions, insertFailures, batches, bufferedBytes };
    });
    throw new Error(`${err instanceof Error ? err.message : String(err)}; services: ${JSON.stringify(state)}`);
  });
  await new Promise((r) => setTimeout(r, 1500));
  expect(await duplicatedIds(site)).toEqual([]);
  expect(await countEvents(warehouse, site)).toEqual({ rows: n, distinct: n });
  expect(await rollupTotal(warehouse, site)).toBe(n);
}

/** Waits for the cut, then for several failed consumer restarts (each a window in which kafkajs' commitOffsets is a silent no-op), then for the inserts to stop. */
async function cutOff(k: { ctl: { cut: boolean; crashes: number } }, inserts: unknown[]): Promise<void> {
  await waitFor('the cut', async () => k.ctl.cut, Boolean, 30_000);
  await waitFor(
    'four consumer crashes',
    async () => k.ctl.crashes,
    (n) => n >= 4,
    60_000,
    50,
  );
  await quiet(inserts);
}

/** Waits until no insert has started for 3 s (at most 20 s): whatever the service does while cut off is done. */
async function quiet(inserts: unknown[]): Promise<void> {
  const t0 = Date.now();
  let n = -1;
  while (n !== inserts.length && Date.now() - t0 < 20_000) {
    n = inserts.length;
    await new Promise((r) => setTimeout(r, 3000));
  }
}

/** Records every insert, and cuts Kafka right after the first one (before its offset commit). */
function cutAfterFirstInsert(k: ReturnType<typeof cuttableKafka>) {
  const inserts: (BatchInfo & { whileCut: boolean })[] = [];
  let done = false;
  const hooks: AnalyticsHooks = {
    beforeInsert(info) {
      inserts.push({ ...info, whileCut: k.ctl.cut });
    },
    afterInsert(info) {
      // The first insert to finish: with several inserts in flight (ANALYTICS_INSERT_CONCURRENCY) it need not be the first begun.
      if (info.rows > 0 && !done) {
        done = true;
        k.cut();
      }
    },
  };
  return { hooks, inserts };
}

describe('exactly-once when Kafka goes away before the offset commit', () => {
  it('in-process restart: the consumer crashes, kafkajs restarts it, more events arrive, and nothing is written twice', async () => {
    const site = 'outage-inprocess';
    const prefix = await newPrefix();
    // ~60 per partition: a full batch (40) sealed at once, then a partial one sealed by age once it is written.
    const before = events(site, 540);
    await produceEvents(producer, prefix, before);
    const k = cuttableKafka('inprocess');
    const { hooks, inserts } = cutAfterFirstInsert(k);
    // The recent-ids cache is bounded (and empty after a process restart): exactly-once must not rest on it.
    const service = analytics(prefix, k.kafka, hooks, { ANALYTICS_DEDUP_CACHE_SIZE: '0' });
    await service.start();
    // Retries exhausted -> crash -> in-process restarts that fail while Kafka is away.
    await cutOff(k, inserts);
    // More events arrive while the service is cut off: re-read partitions have more behind their offsets.
    const during = events(site, 450);
    await produceEvents(producer, prefix, during);
    const joinsBefore = k.ctl.joins;
    k.restore();
    await waitFor(
      'the rejoin',
      async () => k.ctl.joins,
      (n) => n > joinsBefore,
      60_000,
      50,
    );
    const n = before.length + during.length;
    if (process.env.TEST_DEBUG) console.log(JSON.stringify(inserts.map((i) => [i.token, i.rows, i.whileCut])));
    expect(k.ctl.crashes).toBeGreaterThanOrEqual(2);
    await expectWrittenOnce(site, n);
    // Batches re-read after the rejoin were written too (how many began before the cut depends on timing).
    expect(inserts.length).toBeGreaterThan(1);
    await service.stop();
  }, 180_000);

  it('process restart: the service stops while Kafka is away, a new one takes over on the same warehouse', async () => {
    const site = 'outage-process';
    const prefix = await newPrefix();
    // ~60 per partition: a full batch (40) sealed at once, then a partial one sealed by age once it is written.
    const before = events(site, 540);
    await produceEvents(producer, prefix, before);
    const k = cuttableKafka('process-1');
    const { hooks, inserts } = cutAfterFirstInsert(k);
    const first = analytics(prefix, k.kafka, hooks);
    await first.start();
    // Retries exhausted -> crash -> in-process restarts that fail while Kafka is away.
    await cutOff(k, inserts);
    // Graceful stop while Kafka is away: it flushes what it buffered (shutdown timeout), then exits.
    await first.stop();
    const during = events(site, 450);
    await produceEvents(producer, prefix, during);
    k.restore();
    const k2 = cuttableKafka('process-2');
    const second = analytics(prefix, k2.kafka);
    await second.start();
    const n = before.length + during.length;
    if (process.env.TEST_DEBUG) console.log(JSON.stringify(inserts.map((i) => [i.token, i.rows, i.whileCut])));
    await expectWrittenOnce(site, n);
    await second.stop();
  }, 180_000);

  /** Produces 90 events of `site` every 100 ms until stop(), which returns every event produced. */
  function keepProducing(site: string, prefix: string) {
    const produced: EnrichedEvent[] = [];
    let producing = true;
    const loop = (async () => {
      while (producing) {
        const chunk = events(site, 90);
        produced.push(...chunk);
        await produceEvents(producer, prefix, chunk);
        await new Promise((r) => setTimeout(r, 100));
      }
    })();
    return {
      stop: async () => {
        producing = false;
        await loop;
        return produced;
      },
    };
  }
  it('one partition cannot commit while the others flow, then a rebalance with more messages behind: still exactly once', async () => {
    const site = 'outage-one-partition';
    const prefix = await newPrefix();
    const k = cuttableKafka('one-partition');
    const stuck = `${prefix}searches:0`;
    const inserts: string[] = [];
    let refused = 0;
    const a = analytics(prefix, k.kafka, {
      afterInsert(info) {
        inserts.push(info.token ?? '');
        // The first batch of searches[0] is written, then its offset commit fails for a while.
        if (`${info.topic}:${info.partition}` === stuck && refused === 0) {
          refused++;
          k.refuseCommits.add(stuck);
        }
      },
    });
    await a.start();
    const feed = keepProducing(site, prefix);
    await waitFor(
      'the refused commit',
      async () => refused,
      (n) => n > 0,
      30_000,
    );
    const insertsAtRefusal = inserts.length;
    // Other partitions keep being written while searches[0] retries its batch.
    await waitFor(
      'other partitions flowing',
      async () => inserts.length,
      (n) => n >= insertsAtRefusal + 10,
      30_000,
    );
    // A second member joins: partitions move, and every partition is re-read from its committed offset.
    const k2 = cuttableKafka('one-partition-b');
    const b = analytics(prefix, k2.kafka);
    await b.start();
    await new Promise((r) => setTimeout(r, 1500));
    k.refuseCommits.clear();
    await new Promise((r) => setTimeout(r, 1500));
    const produced = await feed.stop();
    const n = produced.length;
    await expectWrittenOnce(site, n, [a, b]);
    // Every partition flows again on both members: none was left paused by the refused commits or the rebalance.
    expect(a.stats().pausedPartitions).toBe(0);
    expect(b.stats().pausedPartitions).toBe(0);
    await b.stop();
    await a.stop();
  }, 180_000);

  it('commits that fail after a rebalance (sent with the old generation) leave the partitions a member keeps flowing', async () => {
    const site = 'outage-stale-commit';
    const prefix = await newPrefix();
    const k = cuttableKafka('stale-commit');
    const a = analytics(prefix, k.kafka);
    await a.start();
    const feed = keepProducing(site, prefix);
    await waitFor(
      'the first inserts',
      () => countEvents(warehouse, site),
      (c) => c.distinct > 0,
      30_000,
    );
    // a's commits made from here until its next join (intents and ends of batches) are held over the
    // rebalance and answered after the join: the broker refuses a commit of the previous generation.
    const joinsBefore = k.ctl.joins;
    k.stale.joins = joinsBefore;
    const k2 = cuttableKafka('stale-commit-b');
    const b = analytics(prefix, k2.kafka);
    await b.start();
    await waitFor(
      'the rejoin of the first member',
      async () => k.ctl.joins,
      (n) => n > joinsBefore,
      60_000,
    );
    // The failures must concern partitions the first member still owns, or this proves nothing.
    const owned = new Set(Object.entries(k.ctl.assignment).flatMap(([t, ps]) => ps.map((p) => `${t}:${p}`)));
    await waitFor(
      'commits of kept partitions failing after the rejoin',
      async () => k.stale.failed.filter((tp) => owned.has(tp)).length,
      (n) => n > 0,
      10_000,
    );
    await new Promise((r) => setTimeout(r, 1500));
    const produced = await feed.stop();
    // Those partitions keep being read and written: every event arrives, once.
    await expectWrittenOnce(site, produced.length, [a, b]);
    expect(a.stats().pausedPartitions).toBe(0);
    await b.stop();
    await a.stop();
  }, 180_000);
});

import {
  Kafka,
  Partitioners,
  type Admin,
  type Consumer,
  type ConsumerRunConfig,
  type EachBatchPayload,
  type PartitionAssigner,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import type { Registry } from 'prom-client';
import {
  ACTIVITY_TOPICS,
  CONSUMER_GROUPS,
  DEAD_LETTER_TOPIC,
  EmptyAssignmentGuard,
  groupId as prefixedGroupId,
  topicName,
  type DeadLetter,
} from '@storepulse/contracts';
import type { WarehouseClient } from '@storepulse/warehouse';
import { startSearchOutcomesCloser, type SearchOutcomesCloser } from '@storepulse/warehouse';
import { insertConcurrency, type AnalyticsConfig } from './config.ts';
import { SinkError } from './errors.ts';
import { kafkaLogCreator, kafkaLogLevel } from './kafka-log.ts';
import { createMetrics, type AnalyticsMetrics } from './metrics.ts';
import { createClickHouseSink, insertIsolatingRejects, type EventSink } from './sink.ts';
import { backoffMs, batchToken, intentMetadata, isDue, isFull, newBatch, parseIntent, RecentIds, type Batch } from './batch.ts';
import { deadLetter, decodeMessage, linePayload } from './event.ts';
import { linkedAnonymousIds, loadTombstones, purgeWarehouse, Tombstones } from './purge.ts';
import { InsertLock } from './lock.ts';

export interface BatchInfo {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  rows: number;
  token: string | undefined;
}

/** Test seams. Production code passes none. */
export interface AnalyticsHooks {
  /** Runs before each insert; throwing simulates ClickHouse being unavailable (retried with backoff). */
  beforeInsert?(info: BatchInfo): void | Promise<void>;
  /**
   * Runs after an insert succeeded and before the offsets are committed.
   * Throwing makes the service die on the spot, as a killed process would:
   * nothing more is committed and the consumer leaves the group.
   */
  afterInsert?(info: BatchInfo): void | Promise<void>;
}

export interface AnalyticsDeps {
  config: Readonly<AnalyticsConfig>;
  logger: Logger;
  registry: Registry;
  /** The one warehouse client of the process (embedded chDB allows one per process). */
  warehouse: WarehouseClient;
  /** Defaults to a kafkajs client built from config. */
  kafka?: Kafka;
  /** Defaults to inserts into activity.events through `warehouse`. */
  sink?: EventSink;
  hooks?: AnalyticsHooks;
  /** kafkajs partition assigners (default: kafkajs' round robin); tests use it to simulate a bad assignment. */
  partitionAssigners?: PartitionAssigner[];
}

export interface PurgeRequest {
  /** Visitor keys (`u:<user_id>` / `a:<anonymous_id>`). */
  userKeys: readonly string[];
  /** Purge time (epoch ms): rows received at or before it are never inserted again. */
  at: number;
  /** When the tombstones may expire (epoch ms). */
  expiresAt: number;
}

export interface PurgeOutcome {
  /** Rows deleted from activity.events. */
  rowsDeleted: number;
  /** Rows deleted per table keyed by visitor (events, search_clicks, ...). */
  tables: Record<string, number>;
}

export interface AnalyticsService {
  start(): Promise<void>;
  stop(): Promise<void>;
  /**
   * Consent opt-out: from now on drops the visitors' rows received at or
   * before `at`, records the tombstones in activity.purged_visitors and
   * deletes the visitors' rows from activity.events, between two inserts.
   */
  purge(req: PurgeRequest): Promise<PurgeOutcome>;
  /** The anonymous ids a user key was seen with in activity.events. */
  linkedAnonymousIds(userKey: string): Promise<string[]>;
  /** The live tombstones of activity.purged_visitors: visitor key -> purge time (epoch ms). */
  tombstones(): Promise<Map<string, number>>;
  checks: Record<string, () => Promise<void>>;
  /** Resolves with the reason if the service died (a hook threw, or the consumer crashed for good). */
  readonly died: Promise<Error>;
  /** Point-in-time counters for tests and debugging. */
  stats(): AnalyticsStats;
}

export interface AnalyticsStats {
  inserted: number;
  duplicates: number;
  invalid: number;
  rejected: number;
  /** Rows dropped because their visitor opted out after they were received. */
  purged: number;
  batches: number;
  insertFailures: number;
  bufferedBytes: number;
  maxBufferedBytesSeen: number;
  pausedPartitions: number;
}

interface PartitionState {
  topic: string;
  partition: number;
  generation: number;
  open: Batch | null;
  sealed: Batch[];
  /** event_ids in open and sealed batches of this generation, to drop repeats before they are inserted. */
  pendingIds: Set<string>;
  bytes: number;
  rows: number;
  floor: bigint | null;
  intent: { first: bigint; last: bigint } | null;
  /** The partition's high watermark at the last fetch. */
  highWatermark: bigint | null;
  ready: Promise<void> | null;
  paused: boolean;
  draining: boolean;
  attempt: number;
}

interface GenBatch extends Batch {
  generation: number;
}

const sleep = (ms: number) => new Promise<void>((r) => setTimeout(r, ms).unref?.());

/**
 * Kafka (all activity topics, group `analytics`) -> batched, deduplicated
 * inserts into activity.events. Offsets are committed only after the insert.
 */
export function createAnalyticsService(deps: AnalyticsDeps): AnalyticsService {
  const { config, logger: rootLogger, warehouse } = deps;
  const log = rootLogger.child({ component: 'analytics' });
  const metrics: AnalyticsMetrics = createMetrics(deps.registry);
  const sink = deps.sink ?? createClickHouseSink(warehouse);
  const hooks = deps.hooks ?? {};
  const bounds = config.batch;
  const prefix = config.topicPrefix;
  const group = prefixedGroupId(prefix, CONSUMER_GROUPS.analytics);
  const topics = ACTIVITY_TOPICS.map((t) => topicName(prefix, t));
  const dlTopic = topicName(prefix, DEAD_LETTER_TOPIC);
  const perPartitionMaxBytes = bounds.maxBytes * 2;
  const perPartitionMaxRows = bounds.maxRows * 2;

  const kafka =
    deps.kafka ??
    new Kafka({
      clientId: config.kafkaClientId,
      brokers: config.kafkaBrokers,
      logLevel: kafkaLogLevel(config.logLevel),
      logCreator: kafkaLogCreator(log),
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000 },
    });

  let consumer: Consumer | null = null;
  let producer: Producer | null = null;
  let admin: Admin | null = null;
  let assignmentGuard: EmptyAssignmentGuard | undefined;
  let generation = 0;
  let stopping = false;
  let hardStop = false;
  let dead = false;
  let timer: NodeJS.Timeout | null = null;
  let resolveDied: (e: Error) => void = () => {};
  const died = new Promise<Error>((r) => (resolveDied = r));
  const states = new Map<string, PartitionState>();
  // ANALYTICS_INSERT_CONCURRENCY inserts at once (default 2 embedded, 4 on a
  // server). One chDB connection runs its queries one after another, so the
  // embedded client needs as many connections (`connections` of
  // createWarehouseClient) for them to overlap (bench/RESULTS.md). A purge
  // takes every slot (`exclusive`).
  const insertLock = new InsertLock(insertConcurrency(config));
  const recent = new RecentIds(config.dedupCacheSize);
  const commitWaiters = new Set<CommitWaiter>();
  const committedCache = new Map<string, Promise<Map<number, { offset: string; metadata: string | null }>>>();
  const tombstones = new Tombstones();
  let tombstonesLoaded = false;
  let purgeTimer: NodeJS.Timeout | null = null;
  /** Re-reads the tombstones; the first successful read gates every insert. */
  async function refreshTombstones() {
    const startedAt = Date.now();
    const loaded = await loadTombstones(warehouse.client);
    // A purge made here while the read ran is not in its answer: keep it.
    tombstones.replace(loaded, startedAt - 60_000);
    tombstonesLoaded = true;
  }
  const stats: AnalyticsStats = {
    inserted: 0,
    duplicates: 0,
    invalid: 0,
    rejected: 0,
    purged: 0,
    batches: 0,
    insertFailures: 0,
    bufferedBytes: 0,
    maxBufferedBytesSeen: 0,
    pausedPartitions: 0,
  };

  const keyOf = (topic: string, partition: number) => `${topic}\u0000${partition}`;

  function stateFor(topic: string, partition: number): PartitionState {
    const k = keyOf(topic, partition);
    let st = states.get(k);
    if (!st) {
      st = {
        topic,
        partition,
        generation,
        open: null,
        sealed: [],
        pendingIds: new Set(),
        bytes: 0,
        rows: 0,
        floor: null,
        intent: null,
        highWatermark: null,
        ready: null,
        paused: false,
        draining: false,
        attempt: 0,
      };
      states.set(k, st);
    }
    return st;
  }

  function addBuffered(delta: number) {
    stats.bufferedBytes += delta;
    if (stats.bufferedBytes > stats.maxBufferedBytesSeen) stats.maxBufferedBytesSeen = stats.bufferedBytes;
    metrics.bufferedBytes.set(stats.bufferedBytes);
  }

  function setPaused(st: PartitionState, paused: boolean) {
    if (st.paused === paused || !consumer) return;
    st.paused = paused;
    const tp = [{ topic: st.topic, partitions: [st.partition] }];
    try {
      if (paused) consumer.pause(tp);
      else consumer.resume(tp);
    } catch (err) {
      // kafkajs throws while its consumer group is not running (crashed, restarting): nothing is
      // fetched then, and the next join starts every partition afresh (onGroupJoin).
      log.debug({ err, topic: st.topic, partition: st.partition, paused }, 'cannot pause/resume while the consumer is not running');
    }
    stats.pausedPartitions += paused ? 1 : -1;
    metrics.pausedPartitions.set(stats.pausedPartitions);
  }

  function overLimit(st: PartitionState): boolean {
    return (
      st.bytes >= perPartitionMaxBytes || st.rows >= perPartitionMaxRows || stats.bufferedBytes >= config.maxBufferedBytes || st.attempt > 0
    );
  }

  /** A rebalance restarts every partition from its committed offset: drop what is not yet written. */
  function onGroupJoin() {
    generation++;
    committedCache.clear();
    for (const st of states.values()) {
      const dropped = (st.open ? 1 : 0) + st.sealed.length;
      if (dropped > 0)
        log.info(
          { topic: st.topic, partition: st.partition, batches: dropped },
          'rebalance: dropping unwritten batches, they will be re-read',
        );
      addBuffered(-st.bytes);
      st.open = null;
      st.sealed = [];
      st.pendingIds.clear();
      st.bytes = 0;
      st.rows = 0;
      st.floor = null;
      st.intent = null;
      st.highWatermark = null;
      st.ready = null;
      st.generation = generation;
      st.attempt = 0;
      if (st.paused) {
        // kafkajs keeps a pause across rebalances: resume explicitly, or a
        // partition paused before the rebalance would stall silently.
        consumer?.resume([{ topic: st.topic, partitions: [st.partition] }]);
        st.paused = false;
        stats.pausedPartitions--;
      }
    }
    metrics.pausedPartitions.set(stats.pausedPartitions);
  }

  async function committedFor(topic: string): Promise<Map<number, { offset: string; metadata: string | null }>> {
    let p = committedCache.get(topic);
    if (!p) {
      p = (async () => {
        const res = await admin!.fetchOffsets({ groupId: group, topics: [topic] });
        const m = new Map<number, { offset: string; metadata: string | null }>();
        for (const t of res) for (const pt of t.partitions) m.set(pt.partition, { offset: pt.offset, metadata: pt.metadata ?? null });
        return m;
      })();
      p.catch(() => committedCache.delete(topic));
      committedCache.set(topic, p);
    }
    return p;
  }

  /** Reads the committed offset and any recorded batch intent before the first message of a generation. */
  function ensureReady(st: PartitionState): Promise<void> {
    if (!st.ready) {
      const gen = st.generation;
      st.ready = committedFor(st.topic).then((m) => {
        if (st.generation !== gen) return;
        const c = m.get(st.partition);
        if (!c || c.offset === '-1' || c.offset === '') return;
        st.floor = BigInt(c.offset);
        const intent = parseIntent(c.metadata);
        if (intent && intent.first === st.floor) {
          st.intent = intent;
          log.info(
            { topic: st.topic, partition: st.partition, first: String(intent.first), last: String(intent.last) },
            're-forming the batch that was being written when the last owner stopped',
          );
        }
      });
      st.ready.catch(() => (st.ready = null));
    }
    return st.ready;
  }

  function seal(st: PartitionState) {
    if (!st.open) return;
    st.sealed.push(st.open);
    st.open = null;
    void drain(st);
  }

  async function handleBatch({ batch, resolveOffset, isRunning, isStale, heartbeat }: EachBatchPayload) {
    const st = stateFor(batch.topic, batch.partition);
    const gen = generation;
    if (st.generation !== gen) return;
    await ensureReady(st);
    const hw = BigInt(batch.highWatermark);
    st.highWatermark = hw;
    log.trace({ topic: batch.topic, partition: batch.partition, n: batch.messages.length }, 'fetched');
    const now = Date.now();
    for (const m of batch.messages) {
      if (!isRunning() || isStale() || stopping || dead || st.generation !== gen) break;
      const off = BigInt(m.offset);
      if (st.floor !== null && off < st.floor) {
        resolveOffset(m.offset);
        continue;
      }
      // A batch being re-formed is read to its recorded end: its size was bounded by the last owner,
      // and cutting it short would give it another token than the one it may have been written with.
      if (!st.intent && overLimit(st)) {
        setPaused(st, true);
        break;
      }
      if (st.intent && off > st.intent.last) {
        st.intent = null;
        seal(st);
      }
      // Under an intent the batch starts at the recorded offset even if its first messages are gone (retention).
      if (!st.open) st.open = newBatch(st.topic, st.partition, st.intent ? st.intent.first : off, now) as GenBatch;
      (st.open as GenBatch).generation = gen;
      const b = st.open;
      b.lastOffset = off;
      const d = decodeMessage(m.value);
      let size = 64;
      if (d.ok) {
        const id = d.row.event_id;
        if (recent.has(id) || st.pendingIds.has(id)) {
          b.duplicates++;
        } else {
          st.pendingIds.add(id);
          b.rows.push({ eventId: id, line: d.line, receivedAt: d.row.received_at, userKey: d.row.user_key });
          size = d.line.length + 1;
          st.rows++;
        }
      } else {
        b.deadLetters.push(deadLetter(d, { topic: batch.topic, partition: batch.partition, offset: m.offset }, now));
        size = (m.value?.length ?? 0) + 256;
      }
      b.bytes += size;
      st.bytes += size;
      addBuffered(size);
      resolveOffset(m.offset);
      if (st.intent) {
        if (off >= st.intent.last) {
          st.intent = null;
          seal(st);
        }
      } else if (isFull(b, bounds)) {
        seal(st);
      }
    }
    const last = batch.messages[batch.messages.length - 1];
    if (last) metrics.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(hw - BigInt(last.offset) - 1n));
    await heartbeat().catch(() => {});
  }

  async function produceDeadLetters(letters: DeadLetter[]) {
    if (letters.length === 0) return;
    await producer!.send({
      topic: dlTopic,
      acks: -1,
      messages: letters.map((l) => ({ key: l.origin ? `${l.origin.topic}:${l.origin.partition}` : null, value: JSON.stringify(l) })),
    });
  }

  async function writeBatch(st: PartitionState, b: GenBatch) {
    const token = config.insertDedupToken ? batchToken(b) : undefined;
    const info: BatchInfo = {
      topic: b.topic,
      partition: b.partition,
      firstOffset: String(b.firstOffset),
      lastOffset: String(b.lastOffset),
      rows: b.rows.length,
      token,
    };
    const c = consumer!;
    const t0 = performance.now();
    checkAlive(b);
    // Record the range first: if we die after the insert, the next owner
    // re-forms exactly this batch and its token makes the insert a no-op.
    await commitAcked(c, {
      topic: b.topic,
      partition: b.partition,
      offset: String(b.firstOffset),
      metadata: intentMetadata(b.firstOffset, b.lastOffset),
    });
    checkAlive(b);
    const tIntent = performance.now();
    if (!b.deadLettersSent) {
      await produceDeadLetters(b.deadLetters);
      b.deadLettersSent = true;
    }
    let rejected: Awaited<ReturnType<typeof insertIsolatingRejects>> = [];
    // The hook runs under the same lock as the insert so that a simulated
    // death freezes everything right after this insert, as a kill would.
    let tLocked = 0;
    let tInserted = 0;
    let rows = b.rows;
    await insertLock.run(async () => {
      tLocked = performance.now();
      checkAlive(b);
      // Under the insert lock: a purge (which takes the same lock) either
      // deletes these rows after this insert or is already in `tombstones`.
      if (!tombstonesLoaded && b.rows.length > 0) await refreshTombstones();
      rows = tombstones.keep(b.rows);
      if (rows.length > 0) {
        await hooks.beforeInsert?.(info);
        const t0 = performance.now();
        rejected = await insertIsolatingRejects(sink, rows, token);
        const secs = (performance.now() - t0) / 1000;
        log.trace({ topic: b.topic, partition: b.partition, ms: Math.round(secs * 1000), age: Date.now() - b.openedAt }, 'inserted');
        metrics.insertSeconds.observe(secs);
        metrics.batchRows.observe(b.rows.length);
        metrics.batchBytes.observe(b.bytes);
        const doneAt = Date.now();
        const bad = new Set(rejected.map((r) => r.row));
        for (const r of rows) if (!bad.has(r)) metrics.queryableSeconds.observe(Math.max(0, doneAt - r.receivedAt) / 1000);
      }
      tInserted = performance.now();
      try {
        await hooks.afterInsert?.(info);
      } catch (err) {
        die(err instanceof Error ? err : new Error(String(err)));
        throw new Abandoned();
      }
    });
    if (rejected.length > 0) {
      metrics.insertFailures.inc({ kind: 'rejected' }, rejected.length);
      await produceDeadLetters(
        rejected.map((r) => ({
          reason: `ClickHouse rejected the row: ${r.reason}`,
          code: `clickhouse_${r.code ?? 'rejected'}`,
          source: 'analytics' as const,
          received_at: Date.now(),
          origin: { topic: b.topic, partition: b.partition, offset: `${b.firstOffset}-${b.lastOffset}` },
          payload: linePayload(r.row.line),
        })),
      );
    }
    checkAlive(b);
    // Not acknowledged: the batch is written again (same range, same token) after its intent is re-recorded.
    await commitAcked(c, { topic: b.topic, partition: b.partition, offset: String(b.lastOffset + 1n), metadata: null });
    const accepted = rows.length - rejected.length;
    const purged = b.rows.length - rows.length;
    stats.inserted += accepted;
    stats.purged += purged;
    stats.duplicates += b.duplicates;
    stats.invalid += b.deadLetters.length;
    stats.rejected += rejected.length;
    stats.batches++;
    metrics.events.inc({ result: 'inserted' }, accepted);
    if (b.duplicates) metrics.events.inc({ result: 'duplicate' }, b.duplicates);
    if (b.deadLetters.length) metrics.events.inc({ result: 'invalid' }, b.deadLetters.length);
    if (rejected.length) metrics.events.inc({ result: 'rejected' }, rejected.length);
    if (purged) metrics.events.inc({ result: 'purged' }, purged);
    for (const r of b.rows) recent.add(r.eventId);
    const ms = (a: number, z: number) => Math.round(z - a);
    log.debug(
      {
        ...info,
        rejected: rejected.length,
        purged,
        invalid: b.deadLetters.length,
        duplicates: b.duplicates,
        ms: {
          intent: ms(t0, tIntent),
          waitLock: ms(tIntent, tLocked),
          insert: ms(tLocked, tInserted),
          commit: ms(tInserted, performance.now()),
        },
      },
      'batch written',
    );
  }

  /**
   * Commits one partition's offset and returns only once the broker has
   * acknowledged it. kafkajs' `commitOffsets` resolves WITHOUT committing
   * while its consumer is not running (a crash being handled, a restart still
   * joining): an insert or the next batch must not go on from such a silent
   * no-op, or a batch is written whose range no later owner knows of, and it
   * is written again with other boundaries (another token) after the
   * restart. The acknowledgement is kafkajs' COMMIT_OFFSETS event, emitted
   * only after the broker answered the OffsetCommit request.
   */
  async function commitAcked(c: Consumer, tp: { topic: string; partition: number; offset: string; metadata: string | null }) {
    const waiter: CommitWaiter = { ...tp, acked: false };
    commitWaiters.add(waiter);
    try {
      await c.commitOffsets([tp]);
    } finally {
      commitWaiters.delete(waiter);
    }
    if (!waiter.acked) throw new CommitNotAcknowledged(tp.topic, tp.partition, tp.offset);
  }

  function onCommitAcked(
    topics: readonly { topic: string; partitions: readonly { partition: unknown; offset: unknown; metadata?: unknown }[] }[],
  ) {
    for (const t of topics)
      for (const p of t.partitions)
        for (const w of commitWaiters)
          if (
            w.topic === t.topic &&
            w.partition === Number(p.partition) &&
            w.offset === String(p.offset) &&
            w.metadata === ((p.metadata as string | null | undefined) ?? null)
          )
            w.acked = true;
  }

  /** Stops a write that outlived its process (simulated death) or its assignment (rebalance). */
  function checkAlive(b: GenBatch) {
    if (dead || hardStop || b.generation !== generation) throw new Abandoned();
  }

  async function drain(st: PartitionState) {
    if (st.draining) return;
    st.draining = true;
    try {
      while (st.sealed.length > 0 && !dead && !hardStop) {
        const b = st.sealed[0] as GenBatch;
        if (b.generation !== generation) {
          st.sealed.shift();
          continue;
        }
        try {
          await writeBatch(st, b);
          if (st.sealed[0] !== b) continue;
          st.sealed.shift();
          st.bytes -= b.bytes;
          st.rows -= b.rows.length;
          addBuffered(-b.bytes);
          for (const r of b.rows) st.pendingIds.delete(r.eventId);
          if (st.attempt > 0)
            log.info({ topic: st.topic, partition: st.partition, attempts: st.attempt }, 'insert succeeded again, resuming');
          st.attempt = 0;
          metrics.sinkUp.set(1);
          if (!overLimit(st)) setPaused(st, false);
        } catch (err) {
          // A failure of an earlier generation's batch (e.g. its commit refused with ILLEGAL_GENERATION
          // once the rebalance is done) must not pause the new generation's partition: nothing would
          // resume it (F8).
          if (err instanceof Abandoned || b.generation !== generation) {
            if (dead || hardStop) return;
            // A rebalance replaced this partition's state; the batch is re-read from Kafka.
            if (st.sealed[0] === b) st.sealed.shift();
            continue;
          }
          stats.insertFailures++;
          metrics.insertFailures.inc({ kind: 'retriable' });
          metrics.sinkUp.set(0);
          const wait = backoffMs(st.attempt, config.retry.minMs, config.retry.maxMs);
          st.attempt++;
          setPaused(st, true);
          const level = st.attempt <= 3 || st.attempt % 20 === 0 ? 'warn' : 'debug';
          log[level](
            {
              err,
              topic: st.topic,
              partition: st.partition,
              attempt: st.attempt,
              retryInMs: wait,
              retriable: err instanceof SinkError ? err.retriable : true,
            },
            'batch write failed; partition paused, retrying',
          );
          await sleep(wait);
        }
      }
    } finally {
      st.draining = false;
    }
  }

  function tick() {
    const now = Date.now();
    for (const st of states.values()) {
      if (st.generation !== generation) continue;
      // An intent batch ends at its recorded offset, however long that takes (Kafka
      // away, inserts slow); only one that Kafka can no longer complete (its log
      // truncated below the recorded end) is cut by age.
      // While a batch of this partition is still being written, keep filling
      // the open one: batches grow when inserts are slow instead of queueing.
      const intentStuck = st.intent !== null && st.highWatermark !== null && st.highWatermark <= st.intent.last;
      if (
        st.open &&
        st.sealed.length === 0 &&
        isDue(st.open, bounds, now) &&
        (!st.intent || (intentStuck && now - st.open.openedAt > 30_000))
      ) {
        st.intent = null;
        seal(st);
      }
      if (st.paused && !overLimit(st) && st.sealed.length === 0) setPaused(st, false);
    }
  }

  function die(reason: Error) {
    if (dead) return;
    dead = true;
    assignmentGuard?.stop();
    log.error({ err: reason }, 'analytics processor died; uncommitted batches will be re-read by the next owner');
    if (timer) clearInterval(timer);
    if (purgeTimer) clearInterval(purgeTimer);
    void outcomesCloser?.stop();
    for (const st of states.values()) {
      st.open = null;
      st.sealed = [];
    }
    void (async () => {
      await consumer?.disconnect().catch(() => {});
      await producer?.disconnect().catch(() => {});
      await admin?.disconnect().catch(() => {});
      resolveDied(reason);
    })();
  }

  // Search outcomes of closed hours for content-gaps / search-conversion (warehouse migration 0005).
  let outcomesCloser: SearchOutcomesCloser | null = null;

  async function start() {
    admin = kafka.admin();
    producer = kafka.producer({
      allowAutoTopicCreation: false,
      idempotent: false,
      maxInFlightRequests: 1,
      createPartitioner: Partitioners.DefaultPartitioner,
    });
    consumer = kafka.consumer({
      groupId: group,
      allowAutoTopicCreation: false,
      ...(deps.partitionAssigners ? { partitionAssigners: deps.partitionAssigners } : {}),
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      maxWaitTimeInMs: 250,
      maxBytesPerPartition: Math.min(bounds.maxBytes, 8 * 1024 * 1024),
      // A crash while stopping (Kafka away during shutdown) must not start a consumer that outlives stop().
      retry: { retries: 8, initialRetryTime: 200, maxRetryTime: 5000, restartOnFailure: async () => !stopping && !dead },
    });
    let joined: () => void = () => {};
    const firstJoin = new Promise<void>((r) => (joined = r));
    const runConfig: ConsumerRunConfig = {
      autoCommit: false,
      eachBatchAutoResolve: false,
      partitionsConsumedConcurrently: config.partitionsConsumedConcurrently,
      eachBatch: handleBatch,
    };
    // kafkajs never heartbeats for a member with no partitions: rejoin when that is not normal (see the guard).
    assignmentGuard = new EmptyAssignmentGuard({
      members: async () => (await admin!.describeGroups([group])).groups[0]?.members.length ?? 0,
      partitions: async () => (await admin!.fetchTopicMetadata({ topics })).topics.reduce((n, t) => n + t.partitions.length, 0),
      onStall: (info) => {
        log.warn({ group, ...info }, 'joined with no partitions although the group has fewer members than partitions; rejoining');
        void (async () => {
          if (stopping || dead) return;
          await consumer!.stop();
          if (!stopping && !dead) await consumer!.run(runConfig);
        })().catch((err: unknown) => die(err instanceof Error ? err : new Error(String(err))));
      },
      onCheckError: (err) => log.warn({ err, group }, 'cannot check an empty partition assignment; the next join checks again'),
    });
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (hardStop || dead) {
        // A restart that was already under way when stop()/die() disconnected (kafkajs does not cancel
        // it) joined the group after all: leave, or it would hold partitions that nobody reads.
        log.warn({ group }, 'consumer rejoined after the processor stopped; disconnecting it');
        void consumer?.disconnect().catch(() => {});
        return;
      }
      log.info({ generation: generation + 1, assignment: e.payload.memberAssignment }, 'joined consumer group');
      onGroupJoin();
      assignmentGuard?.onJoin(e.payload.memberAssignment);
      joined();
    });
    consumer.on(consumer.events.COMMIT_OFFSETS, (e) => onCommitAcked(e.payload.topics));
    consumer.on(consumer.events.CRASH, (e) => {
      log.error({ err: e.payload.error, restart: e.payload.restart }, 'consumer crashed');
      if (!e.payload.restart && !stopping) die(e.payload.error);
    });
    await admin.connect();
    await producer.connect();
    await consumer.connect();
    await consumer.subscribe({ topics, fromBeginning: true });
    await consumer.run(runConfig);
    timer = setInterval(tick, Math.max(5, Math.min(100, Math.floor(bounds.flushIntervalMs / 4))));
    timer.unref?.();
    // Purges made by another process (a second host on the same ClickHouse server).
    purgeTimer = setInterval(() => {
      refreshTombstones().catch((err: unknown) => log.warn({ err }, 'cannot re-read the consent purge tombstones; keeping the last ones'));
    }, config.purgeRefreshMs);
    purgeTimer.unref?.();
    if (config.searchOutcomes.intervalMs > 0) {
      // Each day it rewrites holds an insert slot: a purge (which takes them
      // all) never runs beside it. Rows inserted meanwhile are re-closed next run.
      outcomesCloser = startSearchOutcomesCloser(warehouse.client, {
        intervalMs: config.searchOutcomes.intervalMs,
        allowanceMs: config.searchOutcomes.allowanceMs,
        withLock: (fn) => insertLock.run(fn),
        logger: log,
      });
    }
    // Ready means partitions are assigned; a slow group join is logged, not fatal.
    const joinedInTime = await Promise.race([firstJoin.then(() => true), sleep(15_000).then(() => false)]);
    if (!joinedInTime) log.warn({ group }, 'consumer group join is taking longer than 15 s; continuing');
    log.info(
      {
        group,
        topics: topics.length,
        maxRows: bounds.maxRows,
        maxBytes: bounds.maxBytes,
        flushIntervalMs: bounds.flushIntervalMs,
        warehouse: warehouse.location,
      },
      'analytics processor started',
    );
  }

  async function stop() {
    if (stopping) return;
    stopping = true;
    assignmentGuard?.stop();
    if (timer) clearInterval(timer);
    if (purgeTimer) clearInterval(purgeTimer);
    await outcomesCloser?.stop();
    if (dead) return;
    const deadline = Date.now() + config.shutdownTimeoutMs;
    for (const st of states.values()) if (st.generation === generation) seal(st);
    while (Date.now() < deadline && [...states.values()].some((s) => s.sealed.length > 0 || s.draining)) await sleep(20);
    const left = [...states.values()].reduce((n, s) => n + s.sealed.length, 0);
    if (left > 0) log.warn({ batches: left }, 'shutdown timeout: unwritten batches stay uncommitted and will be re-read');
    hardStop = true;
    await consumer?.disconnect().catch((err) => log.warn({ err }, 'consumer disconnect failed'));
    await producer?.disconnect().catch(() => {});
    await admin?.disconnect().catch(() => {});
    log.info(stats, 'analytics processor stopped');
  }

  const withTimeout = <T>(p: Promise<T>, ms: number, what: string) =>
    Promise.race([
      p,
      new Promise<never>((_, rej) => setTimeout(() => rej(new Error(`${what} did not answer within ${ms} ms`)), ms).unref?.()),
    ]);

  async function purge(req: PurgeRequest): Promise<PurgeOutcome> {
    // In memory first: a batch inserted from here on drops these rows.
    for (const k of req.userKeys) tombstones.set(k, req.at);
    // Alone: no insert may be in flight while the rows are deleted, on any slot.
    return insertLock.exclusive(() =>
      purgeWarehouse(warehouse.client, {
        userKeys: req.userKeys,
        at: req.at,
        expiresAt: req.expiresAt,
        onCluster: config.clickhouseCluster,
      }),
    );
  }

  return {
    start,
    stop,
    purge,
    linkedAnonymousIds: (userKey) => linkedAnonymousIds(warehouse.client, userKey),
    tombstones: () => loadTombstones(warehouse.client),
    died,
    stats: () => ({ ...stats }),
    checks: {
      kafka: async () => {
        if (dead) throw new Error('analytics consumer died; restart the process');
        if (!admin) throw new Error('analytics service not started');
        await withTimeout(admin.describeCluster(), 3000, 'Kafka');
      },
      warehouse: async () => {
        const r = await withTimeout(warehouse.client.ping(), 3000, 'ClickHouse');
        if (!r.success) throw new Error(`ClickHouse ping failed: ${r.error.message}`);
      },
    },
  };
}

interface CommitWaiter {
  topic: string;
  partition: number;
  offset: string;
  metadata: string | null;
  acked: boolean;
}

/** kafkajs returned from commitOffsets without the broker acknowledging the commit (consumer not running). */
class CommitNotAcknowledged extends Error {
  override name = 'CommitNotAcknowledged';
  constructor(topic: string, partition: number, offset: string) {
    super(`offset commit ${topic}[${partition}]@${offset} was not acknowledged (the Kafka consumer is not running)`);
  }
}

/** The batch's write was cut short on purpose; it stays uncommitted and is re-read by the next owner. */
class Abandoned extends Error {
  override name = 'Abandoned';
}

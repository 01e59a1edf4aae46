/**
 * The Kafka side: consumer group `promotions` on every activity topic.
 * Offsets are resolved only after Redis confirmed a chunk's effects; poison
 * messages go to invalid_events. A crash is either restarted in-process with
 * a capped backoff (`restart`) or reported to onFatal.
 */
import {
  ACTIVITY_TOPICS,
  CONSUMER_GROUPS,
  DEAD_LETTER_TOPIC,
  type DeadLetter,
  EmptyAssignmentGuard,
  groupId,
  topicName,
} from '@storepulse/contracts';
import {
  type Admin,
  type Consumer,
  type EachBatchPayload,
  type PartitionAssigner,
  type Kafka,
  type KafkaMessage,
  Partitioners,
  type Producer,
} from 'kafkajs';
import type { Logger } from 'pino';
import { OffsetCommitter } from './committer.ts';
import { InvalidEventError } from './errors.ts';
import type { PromotionsMetrics } from './metrics.ts';
import { parseEvent, type ValidEvent } from './signals.ts';
import type { Updater } from './updater.ts';

export interface ChunkInfo {
  topic: string;
  partition: number;
  firstOffset: string;
  lastOffset: string;
  events: number;
}

export interface ConsumerHooks {
  /** Called after a chunk's Redis writes are confirmed and before its offset is resolved (tests use it as a kill point). */
  afterWrite?: (chunk: ChunkInfo) => void | Promise<void>;
}

export interface ConsumerOptions {
  kafka: Kafka;
  prefix: string;
  groupId?: string;
  chunkSize: number;
  logger: Logger;
  metrics?: PromotionsMetrics | undefined;
  updater: () => Updater;
  hooks?: ConsumerHooks | undefined;
  /** Awaited before each chunk is applied (the lost-state guard holds the first chunks until it has looked at Redis). */
  beforeChunk?: (() => Promise<void>) | undefined;
  /** Called when the consumer crashed and is not restarted in-process (no `restart` policy). */
  onFatal: (err: Error) => void;
  /**
   * Restart a crashed consumer in-process (a fresh kafkajs consumer) after a
   * capped exponential backoff, instead of calling onFatal. Start-up failures
   * (broker away, "the coordinator is loading") are retried the same way.
   */
  restart?: { minBackoffMs: number; maxBackoffMs: number } | undefined;
  fromBeginning?: boolean;
  /** Partitions processed at once (bounded work in flight). */
  partitionsConsumedConcurrently?: number;
  /** false: count invalid messages but do not dead-letter them again (replay). */
  deadLetters?: boolean;
  /** kafkajs partition assigners (default: kafkajs' round robin). */
  partitionAssigners?: PartitionAssigner[] | undefined;
}

const MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;
/** How often resolved offsets are committed (a crash re-reads at most about this much). */
const COMMIT_INTERVAL_MS = 1000;

function deadLetterPayload(value: Buffer | null): unknown {
  if (!value) return null;
  const text = value.subarray(0, MAX_DEAD_LETTER_PAYLOAD).toString('utf8');
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

export class PromotionsConsumer {
  readonly #o: ConsumerOptions;
  #consumer: Consumer | undefined;
  #guard: EmptyAssignmentGuard | undefined;
  #producer: Producer | undefined;
  #joined = false;
  #crashed: Error | undefined;
  #stopping = false;
  /** Consumers whose crash was already handled (kafkajs may report one crash twice: CRASH event and a rejected start). */
  readonly #handled = new WeakSet<Consumer>();
  #attempt = 0;
  #restartTimer: NodeJS.Timeout | undefined;
  #restarts = 0;
  /** The running consumer's offsets, committed by #commitTimer and on stop (not kafkajs autoCommit). */
  #committer: OffsetCommitter | undefined;
  #commitTimer: NodeJS.Timeout | undefined;

  constructor(opts: ConsumerOptions) {
    this.#o = opts;
  }

  get groupId(): string {
    return this.#o.groupId ?? groupId(this.#o.prefix, CONSUMER_GROUPS.promotions);
  }

  get topics(): string[] {
    return ACTIVITY_TOPICS.map((t) => topicName(this.#o.prefix, t));
  }

  /** In-process restarts so far. */
  get restarts(): number {
    return this.#restarts;
  }

  /**
   * Starts consuming. By default resolves once the consumer has joined its
   * group (the replay relies on that). `waitForJoin: false` resolves at once:
   * the join may wait for a dead member's 30 s session timeout, and with a
   * restart policy a failed start is retried in the background.
   */
  async start(opts: { waitForJoin?: boolean } = {}): Promise<void> {
    this.#stopping = false;
    if (this.#o.deadLetters !== false) {
      this.#producer = this.#o.kafka.producer({
        allowAutoTopicCreation: false,
        idempotent: false,
        maxInFlightRequests: 1,
        createPartitioner: Partitioners.DefaultPartitioner,
      });
    }
    const first = this.#launch();
    if (opts.waitForJoin === false) {
      first.catch(() => {});
      return;
    }
    await first;
  }

  async #launch(): Promise<void> {
    const { kafka, logger } = this.#o;
    const consumer = kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      ...(this.#o.partitionAssigners ? { partitionAssigners: this.#o.partitionAssigners } : {}),
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // kafkajs would restart a crashed consumer itself, at a fixed interval and not for every error;
      // every crash comes to #onCrash instead, which restarts with a capped backoff or calls onFatal.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    this.#consumer = consumer;
    const committer = new OffsetCommitter(async (offsets) => {
      await consumer.commitOffsets(offsets);
    });
    this.#committer = committer;
    if (this.#commitTimer) clearInterval(this.#commitTimer);
    this.#commitTimer = setInterval(() => {
      if (this.#consumer !== consumer || !this.#joined) return;
      // A refused commit (a rebalance under way, the broker away) is retried by the next tick.
      committer.flush().catch((err: unknown) => logger.debug({ err }, 'offset commit failed; retrying in a second'));
    }, COMMIT_INTERVAL_MS);
    this.#commitTimer.unref();
    // kafkajs never heartbeats for a member with no partitions, so the broker drops it and it idles for
    // good: when such a join is not normal (fewer members than partitions), treat it as a crash.
    this.#guard?.stop();
    const guard = new EmptyAssignmentGuard({
      members: () => this.#withAdmin(async (a) => (await a.describeGroups([this.groupId])).groups[0]?.members.length ?? 0),
      partitions: () =>
        this.#withAdmin(async (a) =>
          (await a.fetchTopicMetadata({ topics: this.topics })).topics.reduce((n, t) => n + t.partitions.length, 0),
        ),
      onStall: (info) => {
        if (this.#consumer !== consumer || this.#stopping) return;
        logger.warn(
          { groupId: this.groupId, ...info },
          'promotions consumer joined with no partitions although the group has fewer members than partitions',
        );
        this.#onCrash(consumer, new Error(`joined with no partitions (${info.members} members, ${info.partitions} partitions)`));
      },
      onCheckError: (err) =>
        logger.warn({ err, groupId: this.groupId }, 'cannot check an empty partition assignment; the next join checks again'),
    });
    this.#guard = guard;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      if (this.#consumer !== consumer) return;
      this.#joined = true;
      this.#crashed = undefined;
      this.#attempt = 0;
      committer.assigned(e.payload.memberAssignment);
      logger.info({ groupId: e.payload.groupId, assignment: e.payload.memberAssignment }, 'promotions consumer joined its group');
      guard.onJoin(e.payload.memberAssignment);
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) return;
      this.#onCrash(consumer, e.payload.error);
    });
    try {
      await this.#producer?.connect();
      await consumer.connect();
      await consumer.subscribe({ topics: this.topics, fromBeginning: this.#o.fromBeginning ?? true });
      // Resolves after the group join, or after kafkajs handled a crash of the first join (CRASH above).
      await consumer.run({
        eachBatchAutoResolve: false,
        // Offsets are committed by this.#committer, about once a second and on stop, and only after
        // Redis confirmed their events. Not autoCommit: with it kafkajs also commits after EVERY
        // batch, one OffsetCommit round trip each, and the broker answers a connection's requests
        // one at a time, so 16 batches in flight waited ~60 ms for their commits before the next
        // fetch (freshness p50 89 ms at 500 events/s; 3 ms without). After a crash or a rebalance
        // up to ~1 s of events is delivered again, which the idempotent Lua scripts apply once.
        autoCommit: false,
        partitionsConsumedConcurrently: this.#o.partitionsConsumedConcurrently ?? 3,
        eachBatch: (payload) => this.#eachBatch(payload),
      });
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      if (this.#o.restart) return this.#onCrash(consumer, e);
      // Without a restart policy a failed start is the caller's to handle, as before.
      this.#handled.add(consumer);
      this.#crashed = e;
      throw e;
    }
  }

  #onCrash(consumer: Consumer, err: Error): void {
    if (this.#handled.has(consumer) || this.#consumer !== consumer) return;
    this.#handled.add(consumer);
    this.#joined = false;
    this.#crashed = err;
    if (this.#stopping) return;
    const policy = this.#o.restart;
    if (!policy) {
      this.#o.onFatal(err);
      return;
    }
    const attempt = ++this.#attempt;
    const delayMs = Math.min(policy.maxBackoffMs, policy.minBackoffMs * 2 ** Math.min(attempt - 1, 30));
    this.#o.logger.error({ err, attempt, delayMs, groupId: this.groupId }, 'promotions consumer crashed; restarting it in-process');
    this.#restartTimer = setTimeout(() => {
      this.#restartTimer = undefined;
      void (async () => {
        await consumer.disconnect().catch(() => {});
        if (this.#stopping) return;
        this.#restarts++;
        this.#o.metrics?.consumerRestarts.inc();
        this.#o.logger.warn({ attempt, groupId: this.groupId }, 'restarting the promotions consumer');
        await this.#launch().catch(() => {});
      })();
    }, delayMs);
    this.#restartTimer.unref();
  }

  /** Resolves when the consumer has joined its group and not crashed. */
  async check(): Promise<void> {
    if (this.#crashed) {
      const how = this.#o.restart && !this.#stopping ? `; restarting in-process (attempt ${this.#attempt})` : '';
      throw new Error(`promotions consumer crashed: ${this.#crashed.message}${how}`);
    }
    if (!this.#joined) throw new Error(`promotions consumer has not joined group ${this.groupId} yet`);
  }

  /** Moves a partition's position (after start); used by replay to begin at a time. */
  seek(topic: string, partition: number, offset: string): void {
    this.#consumer?.seek({ topic, partition, offset });
  }

  async #withAdmin<T>(fn: (admin: Admin) => Promise<T>): Promise<T> {
    const admin = this.#o.kafka.admin();
    await admin.connect();
    try {
      return await fn(admin);
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    this.#guard?.stop();
    if (this.#restartTimer) clearTimeout(this.#restartTimer);
    this.#restartTimer = undefined;
    if (this.#commitTimer) clearInterval(this.#commitTimer);
    this.#commitTimer = undefined;
    // What was applied since the last tick, so a restart does not read it again.
    if (this.#joined)
      await this.#committer
        ?.flush()
        .catch((err: unknown) => this.#o.logger.warn({ err }, 'last offset commit failed; those events will be read again'));
    await this.#consumer?.disconnect().catch((err: unknown) => this.#o.logger.warn({ err }, 'consumer disconnect failed'));
    await this.#producer?.disconnect().catch((err: unknown) => this.#o.logger.warn({ err }, 'producer disconnect failed'));
    this.#joined = false;
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { chunkSize, metrics } = this.#o;
    const messages = batch.messages;
    const batchStart = Date.now();
    for (let i = 0; i < messages.length; i += chunkSize) {
      if (!isRunning() || isStale()) return;
      const chunk = messages.slice(i, i + chunkSize);
      const valid: ValidEvent[] = [];
      const sentAt: number[] = [];
      const dead: Array<{ m: KafkaMessage; err: InvalidEventError }> = [];
      for (const m of chunk) {
        try {
          valid.push(parseEvent(m.value));
          sentAt.push(Number(m.timestamp));
        } catch (err) {
          if (err instanceof InvalidEventError) dead.push({ m, err });
          else throw err;
        }
      }
      if (dead.length > 0 && this.#o.deadLetters !== false) await this.#deadLetter(batch.topic, batch.partition, dead);
      await this.#o.beforeChunk?.();
      const chunkStart = Date.now();
      await this.#o.updater().process(valid);
      if (metrics) observeStages(metrics, valid, sentAt, batchStart, chunkStart, Date.now());
      const last = chunk[chunk.length - 1] as KafkaMessage;
      await this.#o.hooks?.afterWrite?.({
        topic: batch.topic,
        partition: batch.partition,
        firstOffset: (chunk[0] as KafkaMessage).offset,
        lastOffset: last.offset,
        events: valid.length,
      });
      resolveOffset(last.offset);
      this.#committer?.resolved(batch.topic, batch.partition, last.offset);
      metrics?.batchSize.observe(chunk.length);
      await heartbeat();
    }
    metrics?.lag.set({ topic: batch.topic, partition: String(batch.partition) }, Number(batch.offsetLag()));
  }

  async #deadLetter(topic: string, partition: number, dead: Array<{ m: KafkaMessage; err: InvalidEventError }>): Promise<void> {
    const now = Date.now();
    const messages = dead.map(({ m, err }) => {
      const letter: DeadLetter = {
        reason: err.message,
        code: err.code,
        source: 'promotions',
        received_at: now,
        origin: { topic, partition, offset: m.offset },
        payload: deadLetterPayload(m.value),
      };
      this.#o.metrics?.deadLetters.inc({ code: err.code });
      this.#o.metrics?.events.inc({ result: 'invalid' });
      return { key: m.key, value: JSON.stringify(letter) };
    });
    this.#o.logger.warn({ topic, partition, count: dead.length, first: dead[0]?.err.message }, 'dead-lettering invalid messages');
    await this.#producer?.send({ topic: topicName(this.#o.prefix, DEAD_LETTER_TOPIC), acks: -1, messages });
  }
}

const STAGES = ['to_kafka', 'to_consumer', 'in_batch', 'apply'] as const;
const stageSeconds = (from: number, to: number) => Math.max(0, to - from) / 1000;

/**
 * Splits each event's way to Redis into stages (promotions_freshness_stage_seconds), so a slow
 * freshness figure says where the time went. The Kafka message timestamp is the producer's send
 * time (topics keep CreateTime); replayed or very old events are left out, as they would only
 * measure the backlog.
 */
function observeStages(
  metrics: PromotionsMetrics,
  events: readonly ValidEvent[],
  sentAt: readonly number[],
  batchStart: number,
  chunkStart: number,
  done: number,
): void {
  const h = metrics.freshnessStage;
  const [toKafka, toConsumer, inBatch, apply] = STAGES.map((stage) => h.labels({ stage }));
  const waited = stageSeconds(batchStart, chunkStart);
  const applied = stageSeconds(chunkStart, done);
  for (let i = 0; i < events.length; i++) {
    const date = (events[i] as ValidEvent).date;
    const sent = sentAt[i] as number;
    if (!Number.isFinite(sent) || done - date > 3_600_000) continue;
    toKafka?.observe(stageSeconds(date, sent));
    toConsumer?.observe(stageSeconds(sent, batchStart));
    inBatch?.observe(waited);
    apply?.observe(applied);
  }
}

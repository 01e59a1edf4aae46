/**
 * The Kafka side: consumer group `promotions` on every activity topic.
 * Offsets are resolved only after Redis confirmed a chunk's effects; poison
 * messages go to invalid_events; any unrecoverable error crashes loudly.
 */
import { ACTIVITY_TOPICS, CONSUMER_GROUPS, DEAD_LETTER_TOPIC, type DeadLetter, groupId, topicName } from '@storepulse/contracts';
import { type Consumer, type EachBatchPayload, type Kafka, type KafkaMessage, Partitioners, type Producer } from 'kafkajs';
import type { Logger } from 'pino';
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
  onFatal: (err: Error) => void;
  fromBeginning?: boolean;
  /** Partitions processed at once (bounded work in flight). */
  partitionsConsumedConcurrently?: number;
  /** false: count invalid messages but do not dead-letter them again (replay). */
  deadLetters?: boolean;
}

const MAX_DEAD_LETTER_PAYLOAD = 64 * 1024;

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
  #producer: Producer | undefined;
  #joined = false;
  #crashed: Error | undefined;
  #stopping = false;

  constructor(opts: ConsumerOptions) {
    this.#o = opts;
  }

  get groupId(): string {
    return this.#o.groupId ?? groupId(this.#o.prefix, CONSUMER_GROUPS.promotions);
  }

  get topics(): string[] {
    return ACTIVITY_TOPICS.map((t) => topicName(this.#o.prefix, t));
  }

  async start(): Promise<void> {
    const { kafka, logger } = this.#o;
    if (this.#o.deadLetters !== false) {
      this.#producer = kafka.producer({ allowAutoTopicCreation: false, idempotent: false, maxInFlightRequests: 1, createPartitioner: Partitioners.DefaultPartitioner });
      await this.#producer.connect();
    }
    const consumer = kafka.consumer({
      groupId: this.groupId,
      allowAutoTopicCreation: false,
      sessionTimeout: 30_000,
      heartbeatInterval: 3_000,
      // kafkajs restarts a crashed consumer by default; we exit instead so an orchestrator sees it.
      retry: { retries: 5, restartOnFailure: async () => false },
    });
    this.#consumer = consumer;
    consumer.on(consumer.events.GROUP_JOIN, (e) => {
      this.#joined = true;
      logger.info({ groupId: e.payload.groupId, assignment: e.payload.memberAssignment }, 'promotions consumer joined its group');
    });
    consumer.on(consumer.events.CRASH, (e) => {
      if (e.payload.restart) return;
      this.#joined = false;
      this.#crashed = e.payload.error;
      if (this.#stopping) return;
      this.#o.onFatal(e.payload.error);
    });
    await consumer.connect();
    await consumer.subscribe({ topics: this.topics, fromBeginning: this.#o.fromBeginning ?? true });
    await consumer.run({
      eachBatchAutoResolve: false,
      autoCommit: true,
      // Resolved offsets (only ever after Redis confirmed) are committed about once a second:
      // a commit per chunk costs a broker round trip, and a redelivery after a crash is harmless.
      autoCommitInterval: 1000,
      partitionsConsumedConcurrently: this.#o.partitionsConsumedConcurrently ?? 3,
      eachBatch: (payload) => this.#eachBatch(payload),
    });
  }

  /** Resolves when the consumer has joined its group and not crashed. */
  async check(): Promise<void> {
    if (this.#crashed) throw new Error(`promotions consumer crashed: ${this.#crashed.message}`);
    if (!this.#joined) throw new Error(`promotions consumer has not joined group ${this.groupId} yet`);
  }

  /** Moves a partition's position (after start); used by replay to begin at a time. */
  seek(topic: string, partition: number, offset: string): void {
    this.#consumer?.seek({ topic, partition, offset });
  }

  async stop(): Promise<void> {
    this.#stopping = true;
    await this.#consumer?.disconnect().catch((err: unknown) => this.#o.logger.warn({ err }, 'consumer disconnect failed'));
    await this.#producer?.disconnect().catch((err: unknown) => this.#o.logger.warn({ err }, 'producer disconnect failed'));
    this.#joined = false;
  }

  async #eachBatch({ batch, resolveOffset, heartbeat, commitOffsetsIfNecessary, isRunning, isStale }: EachBatchPayload): Promise<void> {
    const { chunkSize, metrics } = this.#o;
    const messages = batch.messages;
    for (let i = 0; i < messages.length; i += chunkSize) {
      if (!isRunning() || isStale()) return;
      const chunk = messages.slice(i, i + chunkSize);
      const valid: ValidEvent[] = [];
      const dead: Array<{ m: KafkaMessage; err: InvalidEventError }> = [];
      for (const m of chunk) {
        try {
          valid.push(parseEvent(m.value));
        } catch (err) {
          if (err instanceof InvalidEventError) dead.push({ m, err });
          else throw err;
        }
      }
      if (dead.length > 0 && this.#o.deadLetters !== false) await this.#deadLetter(batch.topic, batch.partition, dead);
      await this.#o.updater().process(valid);
      const last = chunk[chunk.length - 1] as KafkaMessage;
      await this.#o.hooks?.afterWrite?.({
        topic: batch.topic,
        partition: batch.partition,
        firstOffset: (chunk[0] as KafkaMessage).offset,
        lastOffset: last.offset,
        events: valid.length,
      });
      resolveOffset(last.offset);
      metrics?.batchSize.observe(chunk.length);
      await heartbeat();
      await commitOffsetsIfNecessary();
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

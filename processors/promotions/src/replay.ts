/**
 * Replay: rebuilds every visitor's interests and user_promotions from Kafka
 * into a new key space (generation), then switches readers and the live
 * processor over with one SET of the generation pointer. Use it after a
 * catalog or weight change.
 *
 * 1. note the end offsets of every activity partition;
 * 2. consume from the beginning (or from a time) with a fresh consumer group
 *    into `${TOPIC_PREFIX}g<id>:` keys until those offsets are reached;
 * 3. SET the pointer: the API reads the new generation at once, live
 *    processors within PROMOTIONS_GENERATION_POLL_MS;
 * 4. wait two poll intervals, then catch up to the new end offsets, so events
 *    the live processor wrote to the old generation meanwhile are in the new
 *    one too (applying is idempotent, so overlap with the live processor is
 *    harmless).
 */
import { ACTIVITY_TOPICS, topicName } from '@storepulse/contracts';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import { parseCatalog } from './catalog.ts';
import type { PromotionsConfig } from './config.ts';
import { PromotionsConsumer } from './consumer.ts';
import { GENERATION_PATTERN } from './generation.ts';
import { generationKey, generationsKey, PromotionsStore } from './store.ts';
import { Updater } from './updater.ts';
import { readFile } from 'node:fs/promises';

export interface ReplayProgress {
  phase: 'rebuild' | 'catch-up' | 'done';
  processed: number;
  total: number;
  elapsedMs: number;
}

export interface ReplayOptions {
  config: Readonly<PromotionsConfig>;
  logger: Logger;
  redis: Redis;
  kafka: Kafka;
  /** 'beginning' or epoch ms: events from that time on (by Kafka timestamp). */
  from: 'beginning' | number;
  /** Delete the previous generation's keys after the switch (they also expire by the idle TTL). */
  dropOld?: boolean;
  now?: () => number;
  onProgress?: (p: ReplayProgress) => void;
  progressEveryMs?: number;
  /** Give up if no progress for this long (default 120 s). */
  stallTimeoutMs?: number;
  /** Aborts the replay (before the switch: nothing changes for readers). */
  signal?: AbortSignal;
}

export interface ReplayResult {
  generation: string;
  previous: string;
  processed: number;
  elapsedMs: number;
}

type Offsets = Map<string, { start: bigint; end: bigint }>;

async function endOffsets(kafka: Kafka, topics: string[], from: 'beginning' | number): Promise<Offsets> {
  const admin = kafka.admin();
  await admin.connect();
  try {
    const out: Offsets = new Map();
    for (const topic of topics) {
      const high = await admin.fetchTopicOffsets(topic);
      const starts = from === 'beginning' ? undefined : await admin.fetchTopicOffsetsByTimestamp(topic, from);
      for (const p of high) {
        const s = from === 'beginning' ? BigInt(p.low) : BigInt(starts?.find((x) => x.partition === p.partition)?.offset ?? p.high);
        const end = BigInt(p.high);
        out.set(`${topic}:${p.partition}`, { start: s < 0n ? end : s, end });
      }
    }
    return out;
  } finally {
    await admin.disconnect();
  }
}

async function deleteGroup(kafka: Kafka, group: string): Promise<void> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    await admin.deleteGroups([group]);
  } catch {
    // best effort: an empty group expires on its own
  } finally {
    await admin.disconnect().catch(() => {});
  }
}

async function dropKeyspace(redis: Redis, keyspace: string, logger: Logger): Promise<number> {
  let n = 0;
  for (const kind of ['user_promotions', 'interests', 'applied', 'alias']) {
    let cursor = '0';
    do {
      const [next, keys] = await redis.scan(cursor, 'MATCH', `${keyspace}${kind}:{*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length > 0) n += await redis.unlink(...keys);
    } while (cursor !== '0');
  }
  logger.info({ keyspace, keys: n }, 'dropped the previous promotions generation');
  return n;
}

export async function replayPromotions(o: ReplayOptions): Promise<ReplayResult> {
  const { config, logger, redis, kafka } = o;
  const started = Date.now();
  const now = o.now ?? Date.now;
  const prefix = config.topicPrefix;
  const previous = (await redis.get(generationKey(prefix))) ?? '';
  const generation = `g${Date.now().toString(36)}:`;
  if (!GENERATION_PATTERN.test(generation)) throw new Error(`bad generation ${generation}`);
  const catalog = parseCatalog(await readFile(config.catalogPath, 'utf8'), config.catalogPath);
  const store = new PromotionsStore(redis, `${prefix}${generation}`, {
    halfLifeMs: config.halfLifeMs,
    topTerms: config.topTerms,
    idleTtlMs: config.idleTtlMs,
    appliedMax: config.appliedMax,
  });
  const updater = new Updater({ store, catalog: () => catalog, config, now });
  // Recorded before the first write, so a consent purge during the replay
  // reaches this generation too (its tombstone then stops older events here).
  await redis.sadd(generationsKey(prefix), generation);
  const topics = ACTIVITY_TOPICS.map((t) => topicName(prefix, t));
  let targets = await endOffsets(kafka, topics, o.from);
  const position = new Map<string, bigint>();
  for (const [k, v] of targets) position.set(k, v.start);
  let processed = 0;
  let lastProgressAt = Date.now();
  const group = `${prefix}promotions-replay-${generation.slice(0, -1)}`;
  let fatal: Error | undefined;
  const consumer = new PromotionsConsumer({
    kafka,
    prefix,
    groupId: group,
    chunkSize: config.chunkSize,
    partitionsConsumedConcurrently: config.partitionsConcurrency,
    logger,
    updater: () => updater,
    deadLetters: false,
    fromBeginning: true,
    onFatal: (err) => {
      fatal = err;
    },
    hooks: {
      afterWrite: (c) => {
        processed += Number(BigInt(c.lastOffset) - BigInt(c.firstOffset) + 1n);
        position.set(`${c.topic}:${c.partition}`, BigInt(c.lastOffset) + 1n);
        lastProgressAt = Date.now();
      },
    },
  });
  const total = () => [...targets.values()].reduce((s, t) => s + Number(t.end - t.start), 0);
  const reached = () => [...targets].every(([k, t]) => (position.get(k) ?? 0n) >= t.end);
  const report = (phase: ReplayProgress['phase']) => o.onProgress?.({ phase, processed, total: total(), elapsedMs: Date.now() - started });
  const waitFor = async (phase: ReplayProgress['phase']) => {
    let lastReport = 0;
    while (!reached()) {
      if (fatal) throw fatal;
      o.signal?.throwIfAborted();
      if (Date.now() - lastProgressAt > (o.stallTimeoutMs ?? 120_000))
        throw new Error(`replay made no progress for ${o.stallTimeoutMs ?? 120_000} ms`);
      if (Date.now() - lastReport >= (o.progressEveryMs ?? 1000)) {
        report(phase);
        lastReport = Date.now();
      }
      await new Promise((r) => setTimeout(r, 50));
    }
  };
  await consumer.start();
  try {
    if (o.from !== 'beginning') {
      for (const [k, t] of targets) {
        const i = k.lastIndexOf(':');
        consumer.seek(k.slice(0, i), Number(k.slice(i + 1)), String(t.start));
      }
    }
    await waitFor('rebuild');
    report('rebuild');
    o.signal?.throwIfAborted();
    await redis.set(generationKey(prefix), generation);
    logger.info({ generation, previous }, 'switched promotions to the replayed generation');
    await new Promise((r) => setTimeout(r, 2 * config.generationPollMs + 100));
    const later = await endOffsets(kafka, topics, 'beginning');
    targets = new Map([...later].map(([k, v]) => [k, { start: targets.get(k)?.start ?? v.start, end: v.end }]));
    lastProgressAt = Date.now();
    await waitFor('catch-up');
  } finally {
    await consumer.stop();
    await deleteGroup(kafka, group);
  }
  if (o.dropOld && previous !== generation) {
    await dropKeyspace(redis, `${prefix}${previous}`, logger);
    await redis.srem(generationsKey(prefix), previous);
  }
  const result = { generation, previous, processed, elapsedMs: Date.now() - started };
  report('done');
  return result;
}

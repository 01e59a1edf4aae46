/**
 * Lost-state guard: notices that Redis lost the promotions state (a cache
 * node restarted empty, a flush) and rebuilds it by replay from Kafka while
 * the live consumer keeps going.
 *
 * The signal is a marker key, `${TOPIC_PREFIX}promotions:state`, written when
 * the state is known good and checked every PROMOTIONS_STATE_CHECK_MS:
 * - marker present with status ok: nothing to do;
 * - marker gone after this process saw it, or gone at start while the
 *   consumer group already has committed offsets: the state was lost;
 * - marker says `rebuilding` but nobody holds the rebuild lock: a rebuild was
 *   interrupted (process died): start it again.
 * Only one instance rebuilds (a lock key with a renewed expiry). The rebuild is
 * replay.ts from the beginning into a new generation, then the pointer switch;
 * the live consumer follows the pointer and the per-visitor applied sets keep
 * the overlap from counting twice. The marker goes back to ok with SET XX, so
 * a second loss during the rebuild (marker gone again) triggers another one.
 * Kafka retention bounds what a rebuild can restore.
 */
import { randomUUID } from 'node:crypto';
import { ACTIVITY_TOPICS, topicName } from '@storepulse/contracts';
import type { Redis } from 'ioredis';
import type { Kafka } from 'kafkajs';
import type { Logger } from 'pino';
import type { PromotionsConfig } from './config.ts';
import type { PromotionsMetrics } from './metrics.ts';
import { replayPromotions, type ReplayOptions, type ReplayResult } from './replay.ts';

export function stateKey(prefix: string): string {
  return `${prefix}promotions:state`;
}

export function rebuildLockKey(prefix: string): string {
  return `${prefix}promotions:rebuild-lock`;
}

export interface StateDoc {
  status: 'ok' | 'rebuilding';
  /** When this status was set (epoch ms). */
  since: number;
  reason?: string;
  generation?: string;
  rebuilt_at?: number;
}

export interface StateGuardOptions {
  config: Readonly<PromotionsConfig>;
  logger: Logger;
  redis: Redis;
  kafka: Kafka;
  /** The live consumer group (its committed offsets tell a fresh start from a lost state). */
  groupId: string;
  metrics?: PromotionsMetrics | undefined;
  /** Injected by tests; default replayPromotions. */
  replay?: (o: ReplayOptions) => Promise<ReplayResult>;
  /**
   * Runs before the replay; a failure fails the rebuild (retried with backoff). The host restores
   * the consent-purge tombstones here from ClickHouse, so the replay cannot bring a purged visitor back.
   */
  beforeRebuild?: () => Promise<void>;
  lockTtlMs?: number;
}

const RELEASE_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) else return 0 end";
const RENEW_LOCK = "if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) else return 0 end";

function parseDoc(raw: string | null): StateDoc | undefined {
  if (!raw) return undefined;
  try {
    const d = JSON.parse(raw) as StateDoc;
    return d && (d.status === 'ok' || d.status === 'rebuilding') ? d : { status: 'ok', since: 0 };
  } catch {
    // Unreadable but present: the keyspace was not emptied.
    return { status: 'ok', since: 0 };
  }
}

export class StateGuard {
  readonly #o: StateGuardOptions;
  readonly #instance = randomUUID();
  #seen = false;
  #busy = false;
  #timer: NodeJS.Timeout | undefined;
  #rebuilding: Promise<void> | undefined;
  #abort: AbortController | undefined;
  #failures = 0;
  #notBefore = 0;
  #lastErrorLog = 0;
  #rebuilds = 0;
  #decide: () => void = () => {};
  readonly #decided: Promise<void>;
  #isDecided = false;

  constructor(o: StateGuardOptions) {
    this.#o = o;
    this.#decided = new Promise<void>((r) => (this.#decide = r));
  }

  /**
   * Resolves once the first check has decided between a fresh start and lost
   * state, or after `maxWaitMs`. The live consumer awaits it before applying a
   * chunk: its own offset commits must not make a fresh start look like lost state.
   */
  async whenDecided(maxWaitMs = 10_000): Promise<void> {
    if (this.#isDecided || this.#o.config.stateCheckMs <= 0) return;
    let t: NodeJS.Timeout | undefined;
    await Promise.race([this.#decided, new Promise<void>((r) => (t = setTimeout(r, maxWaitMs)))]);
    clearTimeout(t);
  }

  #decidedNow(): void {
    this.#isDecided = true;
    this.#decide();
  }

  /** Completed rebuilds in this process life. */
  get rebuilds(): number {
    return this.#rebuilds;
  }

  get rebuilding(): boolean {
    return this.#rebuilding !== undefined;
  }

  start(): void {
    if (this.#timer || this.#o.config.stateCheckMs <= 0) return;
    this.#timer = setInterval(() => void this.check(), this.#o.config.stateCheckMs);
    this.#timer.unref();
    void this.check();
  }

  async stop(): Promise<void> {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
    this.#abort?.abort();
    await this.#rebuilding;
  }

  /** One check; starts a rebuild in the background when the state was lost. Never throws. */
  async check(): Promise<void> {
    if (this.#busy || this.#rebuilding || Date.now() < this.#notBefore) return;
    this.#busy = true;
    const { redis, config } = this.#o;
    const key = stateKey(config.topicPrefix);
    try {
      const doc = parseDoc(await redis.get(key));
      if (doc?.status === 'ok') {
        this.#seen = true;
        this.#decidedNow();
        return;
      }
      if (doc?.status === 'rebuilding') {
        this.#seen = true;
        this.#decidedNow();
        if ((await redis.exists(rebuildLockKey(config.topicPrefix))) === 1) return;
        return await this.#rebuild('a rebuild was interrupted (its lock expired)');
      }
      if (this.#seen) return await this.#rebuild('the state marker is gone: Redis lost its data (restarted empty or flushed)');
      // Lost while this process was down, or a fresh start? The group's committed offsets tell
      // (the live consumer applies nothing before this first decision, see whenDecided).
      if (!this.#isDecided && (await this.#groupHasOffsets())) {
        this.#decidedNow();
        return await this.#rebuild('no state marker, but the consumer group has committed offsets: Redis lost its data');
      }
      await redis.set(key, JSON.stringify({ status: 'ok', since: Date.now() } satisfies StateDoc), 'NX');
      this.#seen = true;
      this.#decidedNow();
    } catch (err) {
      if (Date.now() - this.#lastErrorLog > 10_000) {
        this.#lastErrorLog = Date.now();
        this.#o.logger.warn({ err }, 'cannot check the promotions state marker; will retry');
      }
    } finally {
      this.#busy = false;
    }
  }

  async #groupHasOffsets(): Promise<boolean> {
    const { kafka, config, groupId } = this.#o;
    const admin = kafka.admin();
    await admin.connect();
    try {
      const topics = ACTIVITY_TOPICS.map((t) => topicName(config.topicPrefix, t));
      const committed = await admin.fetchOffsets({ groupId, topics });
      return committed.some((t) => t.partitions.some((p) => p.offset !== '-1'));
    } finally {
      await admin.disconnect().catch(() => {});
    }
  }

  async #rebuild(reason: string): Promise<void> {
    const { redis, config, logger, metrics } = this.#o;
    const prefix = config.topicPrefix;
    const lockTtl = this.#o.lockTtlMs ?? 30_000;
    const lock = rebuildLockKey(prefix);
    if ((await redis.set(lock, this.#instance, 'PX', lockTtl, 'NX')) === null) return;
    const since = Date.now();
    await redis.set(stateKey(prefix), JSON.stringify({ status: 'rebuilding', since, reason } satisfies StateDoc));
    this.#seen = true;
    metrics?.stateRebuilds.inc({ result: 'started' });
    logger.warn({ reason }, 'promotions state lost in Redis; rebuilding it by replay from Kafka (the live consumer keeps going)');
    const abort = new AbortController();
    this.#abort = abort;
    this.#rebuilding = (async () => {
      const renew = setInterval(
        () => {
          redis.eval(RENEW_LOCK, 1, lock, this.#instance, lockTtl).catch(() => {});
        },
        Math.max(100, Math.floor(lockTtl / 3)),
      );
      renew.unref();
      try {
        await this.#o.beforeRebuild?.();
        const r = await (this.#o.replay ?? replayPromotions)({
          config,
          logger,
          redis,
          kafka: this.#o.kafka,
          from: 'beginning',
          dropOld: true,
          signal: abort.signal,
          progressEveryMs: 5000,
          onProgress: (p) => logger.info(p, 'promotions rebuild progress'),
        });
        const done: StateDoc = { status: 'ok', since: Date.now(), generation: r.generation, rebuilt_at: Date.now() };
        // XX: only if the marker survived the rebuild; gone again means another loss, and the next check rebuilds again.
        if ((await redis.set(stateKey(prefix), JSON.stringify(done), 'XX')) === null) {
          metrics?.stateRebuilds.inc({ result: 'failed' });
          logger.warn({ generation: r.generation }, 'Redis lost its data again during the rebuild; rebuilding once more');
        } else {
          this.#rebuilds++;
          this.#failures = 0;
          metrics?.stateRebuilds.inc({ result: 'done' });
          logger.info(
            { generation: r.generation, previous: r.previous, processed: r.processed, elapsedMs: r.elapsedMs },
            'promotions state rebuilt from Kafka',
          );
        }
      } catch (err) {
        this.#failures++;
        const delayMs = Math.min(config.restartMaxBackoffMs, config.restartMinBackoffMs * 2 ** Math.min(this.#failures - 1, 30));
        this.#notBefore = Date.now() + delayMs;
        metrics?.stateRebuilds.inc({ result: 'failed' });
        if (!abort.signal.aborted)
          logger.error({ err, attempt: this.#failures, retryInMs: delayMs }, 'promotions state rebuild failed; will retry');
      } finally {
        clearInterval(renew);
        await redis.eval(RELEASE_LOCK, 1, lock, this.#instance).catch(() => {});
        this.#rebuilding = undefined;
        this.#abort = undefined;
      }
    })();
  }
}

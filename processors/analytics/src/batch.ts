/**
 * Batching rules (pure, no I/O). One open batch per topic-partition, sealed
 * by rows, bytes or age. A batch is identified by its offset range, and the
 * insert_deduplication_token is derived from it, so a redelivered range is
 * written once. To re-form a batch identically after a crash, the range of
 * the batch about to be inserted is recorded first (as offset-commit
 * metadata, see `intentMetadata`); a consumer that finds such an intent for
 * its committed offset seals its first batch exactly at the recorded end.
 */
import type { DeadLetter } from '@storepulse/contracts';

export interface BatchRow {
  eventId: string;
  line: string;
  receivedAt: number;
  /** events.user_key, to drop rows of a visitor who opted out (purge.ts). */
  userKey?: string;
}

export interface Batch {
  topic: string;
  partition: number;
  firstOffset: bigint;
  lastOffset: bigint;
  rows: BatchRow[];
  deadLetters: DeadLetter[];
  /** The dead letters are in invalid_events: a retried write of this batch does not send them again. */
  deadLettersSent?: boolean;
  bytes: number;
  openedAt: number;
  /** Messages dropped because the same event_id was seen recently. */
  duplicates: number;
}

export interface BatchBounds {
  maxRows: number;
  maxBytes: number;
  flushIntervalMs: number;
}

export function batchToken(b: Pick<Batch, 'topic' | 'partition' | 'firstOffset' | 'lastOffset'>): string {
  return `${b.topic}:${b.partition}:${b.firstOffset}-${b.lastOffset}`;
}

const INTENT_RE = /^sp1:(\d+)-(\d+)$/;

/** Offset-commit metadata written before an insert: "the batch [first, last] is being written". */
export function intentMetadata(first: bigint, last: bigint): string {
  return `sp1:${first}-${last}`;
}

export function parseIntent(metadata: string | null | undefined): { first: bigint; last: bigint } | null {
  if (!metadata) return null;
  const m = INTENT_RE.exec(metadata);
  if (!m) return null;
  const first = BigInt(m[1]!);
  const last = BigInt(m[2]!);
  return last >= first ? { first, last } : null;
}

export function newBatch(topic: string, partition: number, offset: bigint, now: number): Batch {
  return { topic, partition, firstOffset: offset, lastOffset: offset, rows: [], deadLetters: [], bytes: 0, openedAt: now, duplicates: 0 };
}

/** True when the batch must be sealed now (size bounds or age). */
export function isFull(b: Batch, bounds: BatchBounds): boolean {
  return b.rows.length >= bounds.maxRows || b.bytes >= bounds.maxBytes;
}

export function isDue(b: Batch, bounds: BatchBounds, now: number): boolean {
  return isFull(b, bounds) || now - b.openedAt >= bounds.flushIntervalMs;
}

/**
 * Remembers the most recent event_ids (insertion-ordered Map as an LRU) so a
 * client retry of the same event, delivered as a separate Kafka message, is
 * not written twice. Bounded; 0 disables it.
 */
export class RecentIds {
  readonly #ids = new Map<string, true>();
  constructor(readonly capacity: number) {}
  has(id: string): boolean {
    return this.capacity > 0 && this.#ids.has(id);
  }
  add(id: string): void {
    if (this.capacity <= 0) return;
    this.#ids.delete(id);
    this.#ids.set(id, true);
    if (this.#ids.size > this.capacity) {
      const oldest = this.#ids.keys().next();
      if (!oldest.done) this.#ids.delete(oldest.value);
    }
  }
  get size(): number {
    return this.#ids.size;
  }
}

/** Full jitter exponential backoff: attempt 0 -> up to minMs, doubling, capped at maxMs. */
export function backoffMs(attempt: number, minMs: number, maxMs: number, random: () => number = Math.random): number {
  const cap = Math.min(maxMs, minMs * 2 ** Math.min(attempt, 30));
  return Math.round(minMs / 2 + random() * (cap - minMs / 2));
}

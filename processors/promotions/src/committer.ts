/**
 * Commits the promotions consumer's offsets about once a second, and once
 * more on stop, instead of kafkajs' autoCommit, which also sends an
 * OffsetCommit after every batch: the broker answers a connection's requests
 * one at a time, so with 16 batches in flight each fetch round waited tens of
 * milliseconds for commits (see consumer.ts).
 *
 * Only offsets the caller resolved (after Redis confirmed the events) are
 * committed, and only for partitions of the current assignment, so a batch
 * of an earlier generation that finishes late does not move the offset of a
 * partition another member now owns.
 */

export interface TopicPartitionOffset {
  topic: string;
  partition: number;
  /** The next offset to read (last processed + 1), as Kafka commits it. */
  offset: string;
}

const key = (topic: string, partition: number) => `${topic}\u0000${partition}`;

export class OffsetCommitter {
  readonly #commit: (offsets: TopicPartitionOffset[]) => Promise<void>;
  readonly #pending = new Map<string, TopicPartitionOffset>();
  #assigned: Set<string> | undefined;
  #inFlight: Promise<void> | undefined;

  /** `commit` sends the offsets (kafkajs `consumer.commitOffsets`); a rejection keeps them pending. */
  constructor(commit: (offsets: TopicPartitionOffset[]) => Promise<void>) {
    this.#commit = commit;
  }

  /** Offsets waiting for the next commit. */
  get pending(): TopicPartitionOffset[] {
    return [...this.#pending.values()];
  }

  /** Records that every message up to and including `lastOffset` of the partition is done. */
  resolved(topic: string, partition: number, lastOffset: string): void {
    const next = (BigInt(lastOffset) + 1n).toString();
    const k = key(topic, partition);
    const had = this.#pending.get(k);
    if (had && BigInt(had.offset) >= BigInt(next)) return;
    this.#pending.set(k, { topic, partition, offset: next });
  }

  /** The member's assignment after a join: pending offsets of partitions it lost are dropped. */
  assigned(assignment: Record<string, number[]>): void {
    this.#assigned = new Set(Object.entries(assignment).flatMap(([topic, parts]) => parts.map((p) => key(topic, p))));
    for (const k of [...this.#pending.keys()]) if (!this.#assigned.has(k)) this.#pending.delete(k);
  }

  /**
   * Commits what is pending (one request at a time; a call while one is in
   * flight waits for it and then commits what came since). Rejects with the
   * commit's error; the offsets stay pending for the next call.
   */
  async flush(): Promise<void> {
    while (this.#inFlight) await this.#inFlight.catch(() => {});
    const batch = [...this.#pending.entries()].filter(([k]) => !this.#assigned || this.#assigned.has(k));
    if (batch.length === 0) return;
    const run = this.#commit(batch.map(([, v]) => v)).then(() => {
      // Keep what moved on meanwhile; drop what this commit covered.
      for (const [k, v] of batch) if (this.#pending.get(k)?.offset === v.offset) this.#pending.delete(k);
    });
    this.#inFlight = run;
    try {
      await run;
    } finally {
      if (this.#inFlight === run) this.#inFlight = undefined;
    }
  }
}

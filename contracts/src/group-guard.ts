/**
 * Guard against a kafkajs (2.2.4) consumer-group stall that both processors
 * can hit. A member whose assignment is empty gets no fetcher, and kafkajs
 * heartbeats only from its fetchers: the broker removes the member after the
 * session timeout, and the member never learns it (it stays connected,
 * consuming nothing, for good). Seen on fresh topics, where the group leader
 * assigned from metadata that did not list the partitions yet ("Setting empty
 * assignments" in the broker log), and with more members than partitions.
 *
 * The guard: when a join hands this member nothing although the subscribed
 * topics have more partitions than the group has members (round-robin would
 * give every member one), wait a moment, check again, and report a stall; the
 * owner then restarts its consumer (leave + rejoin), which assigns from fresh
 * metadata. A join that does bring partitions cancels a pending check.
 */
export interface EmptyAssignmentGuardDeps {
  /** Members of the group now (e.g. kafkajs admin.describeGroups). */
  members(): Promise<number>;
  /** Partitions of the subscribed topics (e.g. kafkajs admin.fetchTopicMetadata). */
  partitions(): Promise<number>;
  /** The consumer must rejoin. */
  onStall(info: { members: number; partitions: number }): void;
  /** How long after an empty join to check (default 3 s). */
  checkAfterMs?: number;
  /** Reports a failed check (the next join checks again). */
  onCheckError?(err: unknown): void;
}

/** kafkajs' GROUP_JOIN `memberAssignment`: topic -> partitions. */
export type MemberAssignment = Record<string, readonly number[]>;

export function isEmptyAssignment(a: MemberAssignment | undefined | null): boolean {
  return !a || Object.values(a).every((ps) => ps.length === 0);
}

export class EmptyAssignmentGuard {
  readonly #d: EmptyAssignmentGuardDeps;
  #timer: NodeJS.Timeout | undefined;
  #joins = 0;

  constructor(deps: EmptyAssignmentGuardDeps) {
    this.#d = deps;
  }

  /** Call on every GROUP_JOIN. */
  onJoin(assignment: MemberAssignment | undefined | null): void {
    const join = ++this.#joins;
    this.stop();
    if (!isEmptyAssignment(assignment)) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      void this.#check(join);
    }, this.#d.checkAfterMs ?? 3000);
    this.#timer.unref?.();
  }

  /** Cancels a pending check (on stop). */
  stop(): void {
    if (this.#timer) clearTimeout(this.#timer);
    this.#timer = undefined;
  }

  async #check(join: number): Promise<void> {
    try {
      const [members, partitions] = await Promise.all([this.#d.members(), this.#d.partitions()]);
      // A newer join happened meanwhile: it decides.
      if (join !== this.#joins) return;
      if (partitions > members) this.#d.onStall({ members, partitions });
    } catch (err) {
      this.#d.onCheckError?.(err);
    }
  }
}

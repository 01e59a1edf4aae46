/**
 * The processor's insert lock: `run` lets up to `slots` inserts through at
 * once; `exclusive` (a purge, a rewrite of closed data) waits until every one
 * of them is done and holds all the slots while it runs, so no insert
 * overlaps it. Waiters go strictly in arrival order: an exclusive caller is
 * never overtaken, and so never starved, by inserts that come after it.
 */
export class InsertLock {
  readonly slots: number;
  #free: number;
  readonly #waiting: { n: number; go: () => void }[] = [];

  constructor(slots: number) {
    if (!Number.isInteger(slots) || slots < 1) throw new RangeError(`insert lock slots must be a positive integer, got ${slots}`);
    this.slots = slots;
    this.#free = slots;
  }

  /** Runs `fn` in one slot. */
  run<T>(fn: () => Promise<T>): Promise<T> {
    return this.#with(1, fn);
  }

  /** Runs `fn` alone: after every running `run`, before any later one. */
  exclusive<T>(fn: () => Promise<T>): Promise<T> {
    return this.#with(this.slots, fn);
  }

  async #with<T>(n: number, fn: () => Promise<T>): Promise<T> {
    if (this.#waiting.length === 0 && this.#free >= n) this.#free -= n;
    else await new Promise<void>((go) => this.#waiting.push({ n, go }));
    try {
      return await fn();
    } finally {
      this.#free += n;
      while (this.#waiting.length > 0 && this.#free >= this.#waiting[0]!.n) {
        const w = this.#waiting.shift()!;
        this.#free -= w.n;
        w.go();
      }
    }
  }
}

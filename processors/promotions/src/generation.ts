/**
 * The live key space of user_promotions is `${TOPIC_PREFIX}${generation}`;
 * the generation is '' until a replay switches it (one SET of the pointer
 * key, see replay.ts). Readers and the live processor poll the pointer.
 */
import type { Logger } from 'pino';

export const GENERATION_PATTERN = /^(g[0-9a-z]{1,24}:)?$/;

export class GenerationWatcher {
  #current = '';
  #timer: NodeJS.Timeout | undefined;
  readonly #read: () => Promise<string | null>;
  readonly #pollMs: number;
  readonly #logger: Logger;

  constructor(read: () => Promise<string | null>, pollMs: number, logger: Logger) {
    this.#read = read;
    this.#pollMs = pollMs;
    this.#logger = logger;
  }

  get current(): string {
    return this.#current;
  }

  async refresh(): Promise<string> {
    const v = (await this.#read()) ?? '';
    if (!GENERATION_PATTERN.test(v)) {
      this.#logger.error({ value: v }, 'ignoring a malformed promotions generation pointer');
      return this.#current;
    }
    if (v !== this.#current) this.#logger.info({ from: this.#current, to: v }, 'promotions key space switched');
    this.#current = v;
    return v;
  }

  start(): void {
    if (this.#timer) return;
    this.#timer = setInterval(() => {
      this.refresh().catch((err: unknown) => this.#logger.warn({ err }, 'cannot read the promotions generation pointer'));
    }, this.#pollMs);
    this.#timer.unref();
  }

  stop(): void {
    if (this.#timer) clearInterval(this.#timer);
    this.#timer = undefined;
  }
}

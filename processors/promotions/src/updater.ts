/**
 * Applies a chunk of validated events to Redis: one visitor's events in
 * order, different visitors concurrently (bounded), then one
 * user_promotions write per touched visitor.
 */
import type { Catalog } from './catalog.ts';
import type { PromotionsConfig } from './config.ts';
import type { PromotionsMetrics } from './metrics.ts';
import { atRef, type Contribution, type Profile, rankPromotions } from './profile.ts';
import { extractSignal, type ValidEvent, visitorKey } from './signals.ts';
import type { PromotionsStore } from './store.ts';

export interface UserPromotionsDoc {
  /** Profile version the ranking was computed from. */
  v: number;
  /** When the ranking was computed (epoch ms). */
  computed_at: number;
  /** Reference time of the scores (newest event date). */
  ref: number;
  /** Hash of the catalog the ranking was computed with. */
  catalog: string;
  /** Best first. Titles and urls are not stored: the API takes them from the current catalog. */
  promotions: Array<{ id: string; reason: string; score: number }>;
}

/** When ingest received the event: what a consent purge tombstone is compared with (older events carry no received_at). */
export function seenAt(event: Pick<ValidEvent, 'received_at' | 'date'>): number {
  return Math.floor(event.received_at ?? event.date);
}

export interface UpdaterDeps {
  store: PromotionsStore;
  catalog: () => Catalog;
  config: Pick<PromotionsConfig, 'weights' | 'maxFutureMs' | 'storedPromotions' | 'maxInFlight' | 'halfLifeMs'>;
  now: () => number;
  metrics?: PromotionsMetrics | undefined;
}

interface ApplyOp {
  kind: 'apply';
  event: ValidEvent;
  visitor: string;
  date: number;
  contributions: Contribution[];
}
type Op = ApplyOp | { kind: 'merge'; event: ValidEvent; anonymous: string; user: string };

export class Updater {
  readonly #d: UpdaterDeps;
  constructor(deps: UpdaterDeps) {
    this.#d = deps;
  }

  get store(): PromotionsStore {
    return this.#d.store;
  }

  /**
   * Resolves when every effect is confirmed by Redis; rejects with StoreError
   * otherwise. Works in waves: wave k holds the k-th event of every visitor
   * in the chunk, sent as one pipeline, so a visitor's events stay in order
   * while thousands of visitors cost a few round trips. Then one pipelined
   * user_promotions write per touched visitor.
   */
  async process(events: readonly ValidEvent[]): Promise<void> {
    const catalog = this.#d.catalog();
    const metrics = this.#d.metrics;
    const groups = new Map<string, Op[]>();
    for (const event of events) {
      const visitor = visitorKey(event);
      let op: Op | undefined;
      if (event.type === 'identify') {
        if (visitor.startsWith('u:') && event.context?.is_bot !== true)
          op = { kind: 'merge', event, anonymous: `a:${event.anonymous_id}`, user: visitor };
      } else {
        const signal = extractSignal(event, catalog.index, this.#d.config.weights, this.#d.config.maxFutureMs);
        if (signal.contributions.length > 0)
          op = { kind: 'apply', event, visitor, date: Math.floor(signal.date), contributions: signal.contributions };
      }
      if (!op) {
        metrics?.events.inc({ result: event.context?.is_bot === true ? 'bot' : 'no_signal' });
        continue;
      }
      const g = groups.get(visitor);
      if (g) g.push(op);
      else groups.set(visitor, [op]);
    }
    const touched = new Map<string, { profile: Profile; events: ValidEvent[] }>();
    const touch = (visitor: string, profile: Profile, event: ValidEvent | undefined) => {
      const t = touched.get(visitor);
      if (t) {
        if (profile.version >= t.profile.version) t.profile = profile;
        if (event) t.events.push(event);
      } else touched.set(visitor, { profile, events: event ? [event] : [] });
    };
    const lists = [...groups.values()];
    const waves = Math.max(0, ...lists.map((l) => l.length));
    const cap = this.#d.config.maxInFlight;
    for (let w = 0; w < waves; w++) {
      const ops = lists.map((l) => l[w]).filter((op): op is Op => op !== undefined);
      for (const op of ops) {
        if (op.kind !== 'merge') continue;
        const r = await this.#d.store.merge(op.anonymous, op.user, `merge:${op.event.event_id}`, this.#d.now(), seenAt(op.event));
        if (r.status === 'purged') {
          metrics?.events.inc({ result: 'purged' });
          continue;
        }
        if (r.status !== 'redirect') touch(op.user, r.profile, r.status === 'applied' ? op.event : undefined);
        metrics?.events.inc({ result: r.status === 'applied' ? 'merged' : 'duplicate' });
      }
      let applies = ops.filter((op): op is ApplyOp => op.kind === 'apply');
      // A redirected (merged) anonymous visitor's event goes to its user in a second round.
      for (let round = 0; round < 2 && applies.length > 0; round++) {
        const redirected: ApplyOp[] = [];
        for (let i = 0; i < applies.length; i += cap) {
          const slice = applies.slice(i, i + cap);
          const results = await this.#d.store.applyMany(
            slice.map((op) => ({
              visitor: op.visitor,
              eventId: op.event.event_id,
              date: op.date,
              contributions: op.contributions,
              seen: seenAt(op.event),
            })),
            this.#d.now(),
          );
          results.forEach((r, j) => {
            const op = slice[j] as ApplyOp;
            if (r.status === 'redirect') {
              metrics?.events.inc({ result: 'redirected' });
              // A user key is never aliased; a second redirect would mean a corrupt alias: drop it.
              if (round === 0) redirected.push({ ...op, visitor: r.target });
              return;
            }
            metrics?.events.inc({ result: r.status });
            if (r.status === 'purged') return;
            touch(op.visitor, r.profile, r.status === 'applied' ? op.event : undefined);
          });
        }
        applies = redirected;
      }
    }
    const items = [...touched].map(([visitor, t]) => ({ visitor, version: t.profile.version, doc: this.#doc(t.profile, catalog) }));
    for (let i = 0; i < items.length; i += cap) await this.#d.store.publishMany(items.slice(i, i + cap));
    const done = this.#d.now();
    for (const t of touched.values()) for (const e of t.events) metrics?.freshness.observe(Math.max(0, done - e.date) / 1000);
  }

  #doc(profile: Profile, catalog: Catalog): UserPromotionsDoc {
    const now = this.#d.now();
    return {
      v: profile.version,
      computed_at: now,
      ref: profile.ref,
      catalog: catalog.hash,
      promotions: rankPromotions(atRef(profile, this.#d.config.halfLifeMs), catalog, now, this.#d.config.storedPromotions),
    };
  }

  /** Ranks a profile and writes user_promotions (guarded by the profile version). */
  async publish(visitor: string, profile: Profile, catalog: Catalog): Promise<boolean> {
    return this.#d.store.publish(visitor, profile.version, this.#doc(profile, catalog));
  }
}

/**
 * The ledger load generator: sends batches to POST /v1/batch the way the
 * tracker SDK does (one visitor per batch; on a network error, a timeout, a
 * 5xx or a 429 it resends the same events with the same event_ids and a fresh
 * sent_at, waiting Retry-After when given, else backing off with jitter; a
 * bounded number of attempts), and records for every event the final status
 * it got. The checker (checker.ts) then compares the downstream state with
 * exactly this record.
 */
import { randomUUID } from 'node:crypto';
import type { WireEvent } from '@storepulse/contracts';

export type FinalStatus = 'pending' | 'acked' | 'rejected' | 'failed';

export interface LedgerEntry {
  event: WireEvent;
  visitor: string;
  status: FinalStatus;
  attempts: number;
  /** Every HTTP status (or 0 for a network error/timeout) the event's batch got, in order. */
  statuses: number[];
  /** Set when the server rejected this event (index in `rejected`) or the whole batch (4xx). */
  rejectReason?: string;
}

export interface RequestRecord {
  at: number;
  ms: number;
  status: number;
  retryAfter?: number;
  events: number;
  code?: string;
}

/** Browser-like UA: ingest marks HTTP libraries as bots, and bot events move no promotions. */
export const BROWSER_UA = 'Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/140.0 Safari/537.36';

export class Ledger {
  readonly entries = new Map<string, LedgerEntry>();
  readonly requests: RequestRecord[] = [];

  add(event: WireEvent, visitor: string): LedgerEntry {
    const e: LedgerEntry = { event, visitor, status: 'pending', attempts: 0, statuses: [] };
    this.entries.set(event.event_id, e);
    return e;
  }

  byStatus(s: FinalStatus): LedgerEntry[] {
    return [...this.entries.values()].filter((e) => e.status === s);
  }

  counts(): Record<FinalStatus | 'sent', number> {
    const c = { sent: this.entries.size, pending: 0, acked: 0, rejected: 0, failed: 0 };
    for (const e of this.entries.values()) c[e.status]++;
    return c;
  }

  /** Requests in [from, to) (epoch ms of their start). */
  requestsBetween(from: number, to: number): RequestRecord[] {
    return this.requests.filter((r) => r.at >= from && r.at < to);
  }

  /** Acked events per visitor, in the order they were created. */
  ackedByVisitor(): Map<string, WireEvent[]> {
    const m = new Map<string, WireEvent[]>();
    for (const e of this.entries.values()) {
      if (e.status !== 'acked') continue;
      let l = m.get(e.visitor);
      if (!l) m.set(e.visitor, (l = []));
      l.push(e.event);
    }
    return m;
  }
}

export function percentile(values: number[], p: number): number {
  if (values.length === 0) return 0;
  const s = [...values].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.max(0, Math.ceil((p / 100) * s.length) - 1))]!;
}

// Terms from the shipped sample catalog, so the events move promotions.
const KEYWORDS = [
  'humidifier',
  'air purifier',
  'tower fan',
  'space heater',
  'espresso',
  'coffee grinder',
  'air fryer',
  'robot vacuum',
  'headphones',
  'smart bulb',
  'duvet',
  'blender',
];
const PROMOTION_IDS = [
  'hum-winter-25',
  'pur-hepa-20',
  'fan-tower',
  'hea-space',
  'cof-espresso',
  'kit-airfryer',
  'vac-robot',
  'aud-headphones',
  'lig-lamps',
  'bed-pillows',
];
const PAGES = [
  '/deals/humidifiers',
  '/deals/air-purifiers',
  '/deals/fans/tower',
  '/deals/heaters',
  '/deals/coffee/espresso',
  '/deals/kitchen/blenders',
  '/deals/vacuums/robot',
  '/deals/audio/headphones',
];

/** Makes events for visitors; each visitor's timestamps are 1 s apart so the newest reason per term is unambiguous. */
export class EventFactory {
  private readonly seq = new Map<string, number>();
  private readonly base = Date.now() - 3_600_000;
  private n = 0;
  constructor(
    private readonly run: string,
    /** Share of events made invalid on purpose (they must be rejected and appear nowhere). */
    private readonly invalidShare = 0,
  ) {}

  visitor(i: number): string {
    return `${this.run}-v${i}`;
  }

  make(visitor: string): WireEvent {
    const k = this.seq.get(visitor) ?? 0;
    this.seq.set(visitor, k + 1);
    const n = this.n++;
    const common = {
      event_id: `${this.run}-${n}-${randomUUID().slice(0, 8)}`,
      timestamp: this.base + k * 1000,
      anonymous_id: visitor,
      session_id: `s-${visitor}`,
    };
    const pick = <T>(xs: T[]) => xs[(n * 7 + k) % xs.length]!;
    if (this.invalidShare > 0 && Math.random() < this.invalidShare) {
      // A search without a keyword: ingest rejects it into invalid_events.
      return { ...common, type: 'search', search_keyword: '   ', page_url: '/search' } as WireEvent;
    }
    switch (n % 10) {
      case 0:
      case 1:
      case 2:
      case 3:
        return { ...common, type: 'search', search_keyword: pick(KEYWORDS), page_url: '/search' };
      case 4:
      case 5:
      case 6:
        return { ...common, type: 'click', page_url: '/', element: { tag: 'a', promotion_id: pick(PROMOTION_IDS), text: 'deal' } };
      case 7:
      case 8:
        return { ...common, type: 'page_view', page_url: pick(PAGES) };
      default:
        return { ...common, type: 'scroll', page_url: pick(PAGES), depth_pct: 50 };
    }
  }
}

export interface SendOptions {
  baseUrl: string;
  writeKey?: string;
  maxAttempts?: number;
  requestTimeoutMs?: number;
  /** Backoff without Retry-After: min(maxBackoffMs, 250 * 2^attempt) with full jitter. */
  maxBackoffMs?: number;
  /** Stop retrying after this time (epoch ms); the events end as 'failed'. */
  giveUpAt?: number;
  /**
   * A client that does not honour 429 (a flooder): a 429 ends the batch as rejected (nothing of it
   * may be stored anywhere) instead of waiting Retry-After; lost answers are still resent.
   */
  giveUpOn429?: boolean;
}

/** Sends one batch with SDK-like retries; updates the ledger entries. */
export async function sendBatch(ledger: Ledger, entries: LedgerEntry[], o: SendOptions): Promise<void> {
  const maxAttempts = o.maxAttempts ?? 40;
  const url = `${o.baseUrl}/v1/batch`;
  for (let attempt = 0; attempt < maxAttempts; attempt++) {
    for (const e of entries) e.attempts++;
    const body = JSON.stringify({ write_key: o.writeKey ?? 'wk_demo', sent_at: Date.now(), events: entries.map((e) => e.event) });
    const t0 = Date.now();
    let status = 0;
    let retryAfter: number | undefined;
    let json: { accepted?: number; rejected?: { index: number; error: string }[]; error?: { code: string; message: string } } | undefined;
    try {
      const res = await fetch(url, {
        method: 'POST',
        headers: { 'Content-Type': 'application/json', 'User-Agent': BROWSER_UA },
        body,
        signal: AbortSignal.timeout(o.requestTimeoutMs ?? 10_000),
      });
      status = res.status;
      const ra = res.headers.get('retry-after');
      if (ra !== null && /^\d+$/.test(ra)) retryAfter = Number(ra);
      json = (await res.json().catch(() => undefined)) as typeof json;
    } catch {
      status = 0; // network error or client timeout: the outcome is unknown, so resend
    }
    const ms = Date.now() - t0;
    ledger.requests.push({
      at: t0,
      ms,
      status,
      events: entries.length,
      ...(retryAfter !== undefined ? { retryAfter } : {}),
      ...(json?.error?.code ? { code: json.error.code } : {}),
    });
    for (const e of entries) e.statuses.push(status);
    if (status >= 200 && status < 300) {
      const rejected = new Map((json?.rejected ?? []).map((r) => [r.index, r.error]));
      entries.forEach((e, i) => {
        const why = rejected.get(i);
        if (why !== undefined) {
          e.status = 'rejected';
          e.rejectReason = why;
        } else e.status = 'acked';
      });
      return;
    }
    if (status >= 400 && status < 500 && status !== 408 && (status !== 429 || o.giveUpOn429)) {
      for (const e of entries) {
        e.status = 'rejected';
        e.rejectReason = `${status} ${json?.error?.code ?? ''}`;
      }
      return;
    }
    const waitMs = retryAfter !== undefined ? retryAfter * 1000 : Math.random() * Math.min(o.maxBackoffMs ?? 5000, 250 * 2 ** attempt);
    if (o.giveUpAt !== undefined && Date.now() + waitMs > o.giveUpAt) break;
    await new Promise((r) => setTimeout(r, waitMs));
  }
  for (const e of entries) e.status = 'failed';
}

export interface LoadOptions extends SendOptions {
  ledger: Ledger;
  factory: EventFactory;
  visitors: number;
  /** Concurrent senders (each one browser tab). */
  concurrency: number;
  /** Target batches per second over all senders. */
  batchesPerS: number;
  batchSize: number;
}

export interface RunningLoad {
  /** Stop making new batches; resolves when every batch has its final status. */
  stop(): Promise<void>;
}

/** Starts steady load until stop(); every batch is retried to its final status. */
export function startLoad(o: LoadOptions): RunningLoad {
  let running = true;
  let v = 0;
  const interval = (o.concurrency / o.batchesPerS) * 1000;
  const worker = async (w: number) => {
    await new Promise((r) => setTimeout(r, (w * interval) / o.concurrency));
    while (running) {
      const t0 = Date.now();
      const visitor = o.factory.visitor(v++ % o.visitors);
      const entries = Array.from({ length: o.batchSize }, () => o.ledger.add(o.factory.make(visitor), visitor));
      await sendBatch(o.ledger, entries, o);
      const left = interval - (Date.now() - t0);
      if (left > 0 && running) await new Promise((r) => setTimeout(r, left));
    }
  };
  const all = Promise.all(Array.from({ length: o.concurrency }, (_, w) => worker(w)));
  return {
    async stop() {
      running = false;
      await all;
    },
  };
}

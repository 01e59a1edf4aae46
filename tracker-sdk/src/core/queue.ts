import type { WireEvent } from '@storepulse/contracts';
import { type KV, readJSON } from './storage.ts';
import { backoffMs, isRetriable } from './retry.ts';

/**
 * The delivery queue: batches by count, bytes and time; one request in
 * flight at a time (keeps a visitor's order); retries with backoff and jitter
 * honouring Retry-After; pauses while offline; write-through persistence so
 * that nothing is lost when the page goes away.
 *
 * Events are written to storage at the end of the task that tracked them
 * (and at once when the page is hidden or closed). Persistence is per page instance (`<prefix>q.<instanceId>`), so two open
 * tabs never overwrite each other's queues. A page that is closing marks its
 * record closed; the next page load adopts closed records at once and stale
 * ones (a crashed tab) after `staleMs`. A live page refreshes its record at
 * least every HEARTBEAT_MS while it has events waiting.
 */

export interface SendResult {
  /** HTTP status; 0 for a network error. */
  status: number;
  retryAfterMs?: number | undefined;
}

export interface Transport {
  /** POST the body (JSON); never rejects. */
  send(body: string, bytes: number): Promise<SendResult>;
  /** Hand the body to the browser for delivery after unload (sendBeacon); false when refused. */
  beacon(body: string): boolean;
}

export interface QueueOptions {
  writeKey: string;
  storage: KV;
  transport: Transport;
  /** Storage key prefix, e.g. `sp_`. */
  prefix: string;
  instanceId: string;
  flushAt: number;
  flushIntervalMs: number;
  /** Per request; must stay under the 64 KB keepalive limit. */
  maxBatchBytes: number;
  maxQueueSize: number;
  retryBaseMs: number;
  retryMaxMs: number;
  staleMs?: number;
  online?: () => boolean;
  random?: () => number;
  /** Called when events are dropped for good (debugging aid). */
  onDrop?: (reason: string, count: number) => void;
}

export interface Queue {
  push(event: WireEvent, userToken?: string): void;
  /** Sends everything now (respecting backoff and offline); resolves when drained or blocked. */
  flush(): Promise<void>;
  /** Page is being hidden or closed: hand what is waiting to sendBeacon, persist the rest. */
  unload(closing: boolean): void;
  /** Page came back from the back/forward cache. */
  revive(): void;
  /** Forget everything waiting (opt-out). */
  clear(): void;
  size(): number;
}

interface Item {
  e: WireEvent;
  k?: string | undefined;
  b: number;
}

interface Stored {
  t: number;
  c?: number;
  q: { e: WireEvent; k?: string }[];
}

export const HEARTBEAT_MS = 30_000;
export const OFFLINE_CHECK_MS = 15_000;
/** Chromium allows 64 KiB of keepalive bodies in flight per document, beacons included. */
export const KEEPALIVE_BUDGET = 63_000;

const enc = new TextEncoder();
export const utf8Bytes = (s: string): number => enc.encode(s).length;

export function createQueue(o: QueueOptions): Queue {
  const own = `${o.prefix}q.${o.instanceId}`;
  const staleMs = o.staleMs ?? 300_000;
  const online = o.online ?? (() => true);
  // envelope without events: {"write_key":"...","sent_at":1763800000123,"user_token":"...","events":[]}
  const overhead = 80 + o.writeKey.length;
  let items: Item[] = [];
  let flying: Item[] = [];
  let busy: Promise<void> | null = null;
  let timer: ReturnType<typeof setTimeout> | undefined;
  let timerAt = 0;
  let retryAt = 0;
  let attempts = 0;
  let limit = o.flushAt * 5;
  let closing = false;
  let saving: ReturnType<typeof setTimeout> | undefined;

  const add = (e: WireEvent, k?: string) => {
    const b = utf8Bytes(JSON.stringify(e)) + 1;
    if (b + overhead + (k ? k.length + 16 : 0) > o.maxBatchBytes) {
      o.onDrop?.('too_large', 1);
      return false;
    }
    items.push({ e, k, b });
    return true;
  };

  const persist = () => {
    clearTimeout(saving);
    saving = undefined;
    if (!items.length) return o.storage.del(own);
    const rec: Stored = { t: Date.now(), q: items.map((i) => (i.k ? { e: i.e, k: i.k } : { e: i.e })) };
    if (closing) rec.c = 1;
    o.storage.set(own, JSON.stringify(rec));
  };

  const drop = (batch: Item[]) => {
    items = items.filter((i) => !batch.includes(i));
  };

  const schedule = (ms: number) => {
    const at = Date.now() + ms;
    if (timer !== undefined) {
      if (timerAt <= at) return;
      clearTimeout(timer);
    }
    timerAt = at;
    timer = setTimeout(() => {
      timer = undefined;
      void pump();
    }, ms);
  };

  /** The next batch from `from`: same user token, at most `limit` events and `maxBytes`. */
  const take = (from: Item[], maxBytes: number): Item[] => {
    const k = from[0]?.k;
    let bytes = overhead + (k ? k.length + 16 : 0);
    const out: Item[] = [];
    for (const it of from) {
      if (it.k !== k || out.length >= limit || bytes + it.b > maxBytes) break;
      out.push(it);
      bytes += it.b;
    }
    return out;
  };

  const envelope = (batch: Item[]) => {
    const body: Record<string, unknown> = { write_key: o.writeKey, sent_at: Date.now() };
    if (batch[0]?.k) body.user_token = batch[0].k;
    body.events = batch.map((i) => i.e);
    return JSON.stringify(body);
  };

  const blocked = () => {
    if (!online()) {
      persist();
      schedule(OFFLINE_CHECK_MS);
      return true;
    }
    const wait = retryAt - Date.now();
    if (wait > 0) {
      persist();
      schedule(Math.min(wait, HEARTBEAT_MS));
      return true;
    }
    return false;
  };

  const sendOne = async (): Promise<boolean> => {
    const batch = take(items, o.maxBatchBytes);
    flying = batch;
    const body = envelope(batch);
    let res: SendResult;
    try {
      res = await o.transport.send(body, utf8Bytes(body));
    } catch {
      res = { status: 0 };
    }
    flying = [];
    const st = res.status;
    let go = true;
    if (st >= 200 && st < 300) {
      // events the server rejected went to its dead-letter topic: nothing to retry
      drop(batch);
      attempts = 0;
      // a limit learned from 413 holds until the backlog is gone
      if (!items.length) limit = o.flushAt * 5;
    } else if (st === 413 && batch.length > 1) {
      limit = Math.max(1, Math.ceil(batch.length / 2));
    } else if (isRetriable(st)) {
      attempts++;
      retryAt = Date.now() + Math.max(backoffMs(attempts, o.retryBaseMs, o.retryMaxMs, o.random), res.retryAfterMs ?? 0);
      go = false;
    } else {
      // 400/401/413/415: resending the same bytes can never succeed
      drop(batch);
      o.onDrop?.(`http_${st}`, batch.length);
    }
    persist();
    return go;
  };

  const pump = (): Promise<void> => {
    if (busy) return busy;
    if (!items.length || blocked()) return Promise.resolve();
    busy = (async () => {
      try {
        while (items.length && !blocked() && (await sendOne()));
        // a failed send set retryAt: this schedules the retry (or the offline check)
        if (items.length) blocked();
      } finally {
        busy = null;
      }
    })();
    return busy;
  };

  // adopt what closed or crashed pages left behind
  const seen = new Set<string>();
  for (const key of o.storage.keys()) {
    if (!key.startsWith(`${o.prefix}q.`) || key === own) continue;
    const rec = readJSON<Stored>(o.storage, key);
    if (rec && Array.isArray(rec.q) && !rec.c && Date.now() - rec.t < staleMs) continue;
    for (const x of rec?.q ?? []) {
      const id = x?.e?.event_id;
      if (typeof id === 'string' && !seen.has(id)) {
        seen.add(id);
        add(x.e, x.k);
      }
    }
    o.storage.del(key);
  }
  if (items.length) {
    persist();
    schedule(0);
  }

  return {
    push(e, k) {
      if (!add(e, k)) return;
      while (items.length > o.maxQueueSize) {
        const i = items.findIndex((x) => !flying.includes(x));
        items.splice(i, 1);
        o.onDrop?.('queue_full', 1);
      }
      // one write per task, not per event: a burst of N events must not rewrite the queue N times
      saving ??= setTimeout(persist, 0);
      let bytes = 0;
      for (const i of items) bytes += i.b;
      schedule(items.length - flying.length >= o.flushAt || bytes + overhead >= o.maxBatchBytes ? 0 : o.flushIntervalMs);
    },
    flush: pump,
    unload(isClosing) {
      if (isClosing) closing = true;
      if (online() && retryAt <= Date.now()) {
        let budget = KEEPALIVE_BUDGET;
        for (const i of flying) budget -= i.b;
        let rest = items.filter((i) => !flying.includes(i));
        while (rest.length) {
          const batch = take(rest, Math.min(o.maxBatchBytes, budget));
          if (!batch.length) break;
          const body = envelope(batch);
          const bytes = utf8Bytes(body);
          if (bytes > budget || !o.transport.beacon(body)) break;
          budget -= bytes;
          drop(batch);
          rest = rest.slice(batch.length);
        }
      }
      persist();
    },
    revive() {
      closing = false;
      // another page may have adopted our closed record meanwhile: those events are its now
      if (o.storage.get(own) === null) items = items.filter((i) => flying.includes(i));
      persist();
      if (items.length) schedule(0);
    },
    clear() {
      items = [];
      retryAt = 0;
      attempts = 0;
      persist();
    },
    size: () => items.length,
  };
}

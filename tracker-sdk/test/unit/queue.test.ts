import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import type { WireEvent } from '@storepulse/contracts';
import { createQueue, KEEPALIVE_BUDGET, type QueueOptions, type SendResult } from '../../src/core/queue.ts';
import { memoryKV, safeKV, type KV } from '../../src/core/storage.ts';

interface Sent {
  at: number;
  body: { write_key: string; sent_at: number; user_token?: string; events: WireEvent[] };
  bytes: number;
}

/** A transport whose answers the test scripts; records what was sent and when. */
function fakeTransport(answers: (SendResult | 'throw')[] = []) {
  const sent: Sent[] = [];
  const beacons: string[] = [];
  let beaconOk = true;
  return {
    sent,
    beacons,
    refuseBeacons: () => (beaconOk = false),
    transport: {
      send(body: string, bytes: number) {
        sent.push({ at: Date.now(), body: JSON.parse(body), bytes });
        const a = answers.shift() ?? { status: 202 };
        return a === 'throw' ? Promise.reject(new Error('boom')) : Promise.resolve(a);
      },
      beacon(body: string) {
        if (beaconOk) beacons.push(body);
        return beaconOk;
      },
    },
  };
}

let seq = 0;
function ev(extra: Partial<WireEvent> = {}): WireEvent {
  seq++;
  return { event_id: `e${seq}`, type: 'click', timestamp: Date.now(), anonymous_id: 'a1', ...extra };
}

function queue(over: Partial<QueueOptions> & Pick<QueueOptions, 'transport'>, storage: KV = memoryKV(), instanceId = 'page1') {
  return createQueue({
    writeKey: 'wk_demo',
    storage,
    prefix: 'sp_',
    instanceId,
    flushAt: 3,
    flushIntervalMs: 1000,
    maxBatchBytes: 60_000,
    maxQueueSize: 100,
    retryBaseMs: 1000,
    retryMaxMs: 60_000,
    random: () => 0.5,
    ...over,
  });
}

const ids = (sent: Sent[]) => sent.flatMap((s) => s.body.events.map((e) => e.event_id));

beforeEach(() => {
  vi.useFakeTimers();
  vi.setSystemTime(new Date('2026-11-22T10:00:00Z'));
});
afterEach(() => {
  vi.useRealTimers();
});

describe('batching', () => {
  it('sends a batch as soon as flushAt events wait, with write_key and sent_at', async () => {
    const t = fakeTransport();
    const q = queue({ transport: t.transport });
    const events = [ev(), ev(), ev()];
    for (const e of events) q.push(e);
    await vi.advanceTimersByTimeAsync(0);
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]!.body.write_key).toBe('wk_demo');
    expect(t.sent[0]!.body.sent_at).toBe(Date.now());
    expect(t.sent[0]!.body.events).toEqual(events);
    expect(q.size()).toBe(0);
  });

  it('sends fewer events once flushIntervalMs has passed since the first one waited', async () => {
    const t = fakeTransport();
    const q = queue({ transport: t.transport });
    q.push(ev());
    await vi.advanceTimersByTimeAsync(500);
    q.push(ev());
    await vi.advanceTimersByTimeAsync(499);
    expect(t.sent).toHaveLength(0);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent).toHaveLength(1);
    expect(t.sent[0]!.body.events).toHaveLength(2);
  });

  it('splits by bytes so that no request is larger than maxBatchBytes, keeping the order', async () => {
    const t = fakeTransport();
    const q = queue({ transport: t.transport, maxBatchBytes: 2000, flushAt: 100 });
    const events = Array.from({ length: 7 }, () => ev({ page_title: 'x'.repeat(500) }));
    for (const e of events) q.push(e);
    await q.flush();
    expect(t.sent.length).toBeGreaterThan(2);
    for (const s of t.sent) expect(s.bytes).toBeLessThanOrEqual(2000);
    expect(ids(t.sent)).toEqual(events.map((e) => e.event_id));
  });

  it('counts multi-byte characters as the bytes they take on the wire', async () => {
    const t = fakeTransport();
    const q = queue({ transport: t.transport, maxBatchBytes: 2000, flushAt: 100 });
    for (let i = 0; i < 6; i++) q.push(ev({ page_title: '加湿器'.repeat(100) }));
    await q.flush();
    for (const s of t.sent) {
      expect(s.bytes).toBe(new TextEncoder().encode(JSON.stringify(s.body)).length);
      expect(s.bytes).toBeLessThanOrEqual(2000);
    }
  });

  it('never puts events of different user tokens in one batch', async () => {
    const t = fakeTransport();
    const q = queue({ transport: t.transport, flushAt: 100 });
    q.push(ev());
    q.push(ev({ user_id: 'u1' }), 'tok1');
    q.push(ev({ user_id: 'u1' }), 'tok1');
    q.push(ev());
    await q.flush();
    expect(t.sent.map((s) => [s.body.user_token, s.body.events.length])).toEqual([
      [undefined, 1],
      ['tok1', 2],
      [undefined, 1],
    ]);
  });

  it('drops an event too large to ever fit in a request and keeps the rest', async () => {
    const t = fakeTransport();
    const dropped: string[] = [];
    const q = queue({ transport: t.transport, maxBatchBytes: 1000, onDrop: (r) => dropped.push(r) });
    q.push(ev({ page_title: 'x'.repeat(2000) }));
    q.push(ev());
    await q.flush();
    expect(dropped).toEqual(['too_large']);
    expect(ids(t.sent)).toHaveLength(1);
  });

  it('keeps at most maxQueueSize events, dropping the oldest', async () => {
    const t = fakeTransport([{ status: 0 }]);
    const q = queue({ transport: t.transport, maxQueueSize: 5, flushAt: 100 });
    const events = Array.from({ length: 8 }, () => ev());
    for (const e of events) q.push(e);
    expect(q.size()).toBe(5);
    await q.flush();
    expect(ids(t.sent)).toEqual(events.slice(3).map((e) => e.event_id));
  });
});

describe('retries', () => {
  it('retries network errors, 5xx and 429 with growing, jittered delays and the same event ids', async () => {
    const t = fakeTransport([{ status: 0 }, 'throw', { status: 500 }, { status: 429 }, { status: 202 }]);
    const q = queue({ transport: t.transport, random: () => 0.5 });
    const events = [ev(), ev(), ev()];
    for (const e of events) q.push(e);
    await vi.advanceTimersByTimeAsync(120_000);
    expect(t.sent).toHaveLength(5);
    const gaps = t.sent.slice(1).map((s, i) => s.at - t.sent[i]!.at);
    // base 1000 * 2^(n-1) scaled by jitter 0.5 + 0.5 * random = 0.75
    expect(gaps).toEqual([750, 1500, 3000, 6000]);
    for (const s of t.sent) expect(s.body.events.map((e) => e.event_id)).toEqual(events.map((e) => e.event_id));
    // sent_at is refreshed per attempt, so the server can correct clock skew
    expect(new Set(t.sent.map((s) => s.body.sent_at)).size).toBe(5);
    expect(q.size()).toBe(0);
  });

  it('spreads retries with jitter between half and all of the exponential delay', async () => {
    for (const [r, gap] of [
      [0, 500],
      [0.999, 1000],
    ] as const) {
      const t = fakeTransport([{ status: 503 }, { status: 202 }]);
      const q = queue({ transport: t.transport, random: () => r });
      q.push(ev());
      await q.flush();
      await vi.advanceTimersByTimeAsync(5000);
      expect(t.sent[1]!.at - t.sent[0]!.at).toBe(gap);
    }
  });

  it('caps the delay at retryMaxMs', async () => {
    const t = fakeTransport(Array.from({ length: 10 }, () => ({ status: 503 })));
    const q = queue({ transport: t.transport, random: () => 0.999999, retryMaxMs: 4000 });
    q.push(ev());
    await q.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    const gaps = t.sent.slice(1).map((s, i) => s.at - t.sent[i]!.at);
    expect(Math.max(...gaps)).toBeLessThanOrEqual(4000);
    expect(gaps.slice(-3)).toEqual([4000, 4000, 4000]);
  });

  it('waits at least as long as Retry-After asks on 429 and 503', async () => {
    const t = fakeTransport([{ status: 429, retryAfterMs: 10_000 }, { status: 503, retryAfterMs: 20_000 }, { status: 202 }]);
    const q = queue({ transport: t.transport });
    q.push(ev());
    await q.flush();
    await vi.advanceTimersByTimeAsync(9_999);
    expect(t.sent).toHaveLength(1);
    await q.flush(); // an explicit flush honours Retry-After too
    expect(t.sent).toHaveLength(1);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(19_999);
    expect(t.sent).toHaveLength(2);
    await vi.advanceTimersByTimeAsync(1);
    expect(t.sent).toHaveLength(3);
    expect(q.size()).toBe(0);
  });

  it('drops a batch the server refuses for good (400, 401, 415) and sends the next', async () => {
    const t = fakeTransport([{ status: 400 }, { status: 202 }]);
    const dropped: string[] = [];
    const q = queue({ transport: t.transport, flushAt: 1, onDrop: (r) => dropped.push(r) });
    q.push(ev(), 'tokA');
    q.push(ev());
    await vi.advanceTimersByTimeAsync(10);
    expect(t.sent).toHaveLength(2);
    expect(dropped).toEqual(['http_400']);
    expect(q.size()).toBe(0);
  });

  it('halves the batch after 413 and delivers everything', async () => {
    const t = fakeTransport([{ status: 413 }, { status: 413 }]);
    const q = queue({ transport: t.transport, flushAt: 100 });
    const events = Array.from({ length: 8 }, () => ev());
    for (const e of events) q.push(e);
    await q.flush();
    expect(t.sent.map((s) => s.body.events.length)).toEqual([8, 4, 2, 2, 2, 2]);
    expect(ids(t.sent.slice(2))).toEqual(events.map((e) => e.event_id));
  });

  it('does not retry events the server accepted the batch for but rejected one by one', async () => {
    const t = fakeTransport([{ status: 202 }]);
    const q = queue({ transport: t.transport });
    q.push(ev());
    await q.flush();
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.sent).toHaveLength(1);
  });
});

describe('offline', () => {
  it('sends nothing while offline and everything once back online', async () => {
    let online = false;
    const t = fakeTransport();
    const q = queue({ transport: t.transport, online: () => online });
    const events = [ev(), ev(), ev(), ev()];
    for (const e of events) q.push(e);
    await vi.advanceTimersByTimeAsync(60_000);
    expect(t.sent).toHaveLength(0);
    online = true;
    await q.flush(); // what the 'online' event triggers
    expect(ids(t.sent)).toEqual(events.map((e) => e.event_id));
  });

  it('notices being back online by itself within the offline check interval', async () => {
    let online = false;
    const t = fakeTransport();
    const q = queue({ transport: t.transport, online: () => online });
    q.push(ev());
    await vi.advanceTimersByTimeAsync(2000);
    online = true;
    await vi.advanceTimersByTimeAsync(15_000);
    expect(t.sent).toHaveLength(1);
  });
});

describe('persistence', () => {
  it('writes waiting events through to storage and removes them once delivered', async () => {
    const kv = memoryKV();
    const t = fakeTransport();
    const q = queue({ transport: t.transport, flushAt: 100 }, kv);
    q.push(ev());
    q.push(ev());
    expect(kv.keys()).toEqual([]); // written once, at the end of the task
    await vi.advanceTimersByTimeAsync(0);
    expect(kv.keys()).toEqual(['sp_q.page1']);
    expect(JSON.parse(kv.get('sp_q.page1')!).q).toHaveLength(2);
    await q.flush();
    expect(kv.keys()).toEqual([]);
  });

  it('sends the events a closed page left behind on the next page load, once', async () => {
    const kv = memoryKV();
    const first = fakeTransport([{ status: 0 }]);
    const q1 = queue({ transport: first.transport, flushAt: 100, online: () => false }, kv, 'page1');
    const events = [ev(), ev()];
    for (const e of events) q1.push(e);
    q1.unload(true); // offline: nothing beaconed, record marked closed
    expect(first.beacons).toHaveLength(0);

    const next = fakeTransport();
    const q2 = queue({ transport: next.transport }, kv, 'page2');
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(next.sent)).toEqual(events.map((e) => e.event_id));
    expect(kv.keys()).toEqual([]);
    expect(q2.size()).toBe(0);
  });

  it("leaves a live tab's queue alone and adopts it only once it is stale", async () => {
    const kv = memoryKV();
    const q1 = queue({ transport: fakeTransport().transport, flushAt: 100, online: () => false, staleMs: 60_000 }, kv, 'tabA');
    q1.push(ev());
    await vi.advanceTimersByTimeAsync(0);
    const t2 = fakeTransport();
    queue({ transport: t2.transport, staleMs: 60_000 }, kv, 'tabB');
    await vi.advanceTimersByTimeAsync(0);
    expect(t2.sent).toHaveLength(0);
    q1.unload(false); // hidden, not closed: still its own
    expect(kv.get('sp_q.tabA')).not.toBeNull();

    vi.setSystemTime(Date.now() + 61_000); // tab A crashed long ago: no heartbeat since
    const t3 = fakeTransport();
    queue({ transport: t3.transport, staleMs: 60_000 }, kv, 'tabC');
    await vi.advanceTimersByTimeAsync(0);
    expect(ids(t3.sent)).toHaveLength(1);
  });

  it('keeps waiting events in memory when storage throws', async () => {
    const broken = {
      getItem: () => {
        throw new Error('SecurityError');
      },
      setItem: () => {
        throw new Error('QuotaExceededError');
      },
      removeItem: () => {
        throw new Error('SecurityError');
      },
      key: () => null,
      length: 0,
      clear: () => {},
    } as Storage;
    const kv = safeKV(() => broken);
    const t = fakeTransport();
    const q = queue({ transport: t.transport }, kv);
    q.push(ev());
    await vi.advanceTimersByTimeAsync(1000);
    expect(t.sent).toHaveLength(1);
    expect(
      safeKV(() => {
        throw new Error('denied');
      }).get('x'),
    ).toBeNull();
  });

  it('forgets everything on clear() (opt-out), in memory and in storage', async () => {
    const kv = memoryKV();
    const t = fakeTransport();
    const q = queue({ transport: t.transport, flushAt: 100 }, kv);
    q.push(ev());
    q.push(ev());
    q.clear();
    expect(q.size()).toBe(0);
    expect(kv.keys()).toEqual([]);
    await vi.advanceTimersByTimeAsync(5000);
    expect(t.sent).toHaveLength(0);
  });
});

describe('unload', () => {
  it('hands waiting events to sendBeacon as text batches and forgets them', () => {
    const kv = memoryKV();
    const t = fakeTransport();
    const q = queue({ transport: t.transport, flushAt: 100 }, kv);
    const events = [ev(), ev()];
    for (const e of events) q.push(e);
    q.unload(true);
    expect(t.beacons).toHaveLength(1);
    const body = JSON.parse(t.beacons[0]!);
    expect(body.write_key).toBe('wk_demo');
    expect(body.events.map((e: WireEvent) => e.event_id)).toEqual(events.map((e) => e.event_id));
    expect(q.size()).toBe(0);
    expect(kv.keys()).toEqual([]);
  });

  it('stays within the keepalive budget and keeps the rest for the next page', () => {
    const kv = memoryKV();
    const t = fakeTransport();
    const q = queue({ transport: t.transport, flushAt: 1000, maxBatchBytes: 30_000 }, kv);
    for (let i = 0; i < 200; i++) q.push(ev({ page_title: 'y'.repeat(900) }));
    q.unload(true);
    const total = t.beacons.reduce((n, b) => n + new TextEncoder().encode(b).length, 0);
    expect(total).toBeLessThanOrEqual(KEEPALIVE_BUDGET);
    expect(t.beacons.length).toBeGreaterThanOrEqual(2);
    expect(q.size()).toBeGreaterThan(0);
    const rec = JSON.parse(kv.get('sp_q.page1')!);
    expect(rec.c).toBe(1);
    expect(rec.q).toHaveLength(q.size());
  });

  it('keeps events when the browser refuses the beacon', () => {
    const kv = memoryKV();
    const t = fakeTransport();
    t.refuseBeacons();
    const q = queue({ transport: t.transport, flushAt: 100 }, kv);
    q.push(ev());
    q.unload(true);
    expect(q.size()).toBe(1);
    expect(JSON.parse(kv.get('sp_q.page1')!).c).toBe(1);
  });

  it('does not beacon while the server asked to back off', async () => {
    const t = fakeTransport([{ status: 503, retryAfterMs: 30_000 }]);
    const q = queue({ transport: t.transport }, memoryKV());
    q.push(ev());
    await q.flush();
    q.unload(true);
    expect(t.beacons).toHaveLength(0);
    expect(q.size()).toBe(1);
  });

  it('gives a page restored from the back/forward cache its events back unless another page took them', async () => {
    const kv = memoryKV();
    const t = fakeTransport();
    t.refuseBeacons();
    const q = queue({ transport: t.transport, flushAt: 100 }, kv, 'p1');
    q.push(ev());
    q.unload(true);
    q.revive();
    expect(q.size()).toBe(1);
    expect(JSON.parse(kv.get('sp_q.p1')!).c).toBeUndefined();

    q.unload(true);
    queue({ transport: fakeTransport().transport }, kv, 'p2'); // adopts the closed record
    q.revive();
    expect(q.size()).toBe(0);
  });
});

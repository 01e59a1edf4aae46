/**
 * Scenario 10: a hot visitor. One anonymous_id floods POST /v1/batch with
 * thousands of events per second (no retries, as a runaway script would) beside
 * normal SDK-like traffic. The design isolates it at the door: the ingest API's
 * per-visitor limit (RATE_LIMIT_VISITOR_*, default 20 events/s, burst 200)
 * answers its batches 429 + Retry-After, so the flood never reaches Kafka, the
 * promotions processor or ClickHouse. Checked: normal visitors are never
 * limited and keep their latency and freshness (search -> homepage shows it);
 * the hot visitor's acknowledged events stay within the limit; what got 429 is
 * stored nowhere; what got 202 is in ClickHouse once and in the interests once.
 * Shared Kafka and Redis (nothing is broken here), a prefix of its own.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { WireEvent } from '@storepulse/contracts';
import { cleanup, requireServices, TEST_BROKERS, TEST_REDIS_URL } from '../../../scripts/src/testing/app.ts';
import { startFaultApp, type FaultApp } from '../../faults/app.ts';
import { checkRedis, checkWarehouse, waitLagZero } from '../../faults/checker.ts';
import { BROWSER_UA, EventFactory, Ledger, percentile, sendBatch, startLoad, type LedgerEntry } from '../../faults/ledger.ts';
import { FULL, pick, record, saveOutput } from '../../faults/scenario.ts';
import { sleep } from '../../faults/services.ts';

const BASELINE_MS = pick(5_000, 10_000);
const FLOOD_MS = pick(10_000, 30_000);
const FLOOD_WORKERS = 4;
const FLOOD_BATCH = 50;
// The defaults of RATE_LIMIT_VISITOR_EVENTS_PER_S / RATE_LIMIT_VISITOR_BURST, which the app runs with.
const VISITOR_RATE = 20;
const VISITOR_BURST = 200;

let app: FaultApp;
const ledger = new Ledger();
const run = `hv${Date.now().toString(36)}`;
const factory = new EventFactory(run);
const HOT = `${run}-hot`;

beforeAll(async () => {
  await requireServices();
  app = await startFaultApp({ brokers: TEST_BROKERS, redisUrl: TEST_REDIS_URL });
});

afterAll(async () => {
  await app?.kill();
  if (app) {
    saveOutput('hot-visitor', app.output());
    await cleanup(app.prefix, app.dataDir);
  }
});

interface Probe {
  at: number;
  ms: number;
  visible: boolean;
}

/** A new visitor searches once (through the ledger, so the checker counts it) and polls its promotions until they are personalized. */
async function probe(i: number): Promise<Probe> {
  const visitor = `${run}-p${i}`;
  const at = Date.now();
  const event: WireEvent = {
    event_id: randomUUID(),
    type: 'search',
    timestamp: at,
    anonymous_id: visitor,
    session_id: `s-${visitor}`,
    page_url: '/search',
    search_keyword: 'humidifier',
  };
  await sendBatch(ledger, [ledger.add(event, visitor)], { baseUrl: app.baseUrl, maxAttempts: 20 });
  while (Date.now() - at < 5000) {
    const r = await fetch(`${app.baseUrl}/v1/promotions/${visitor}?limit=3`, {
      headers: { 'User-Agent': BROWSER_UA },
      signal: AbortSignal.timeout(5000),
    }).catch(() => undefined);
    const body = ((await r?.json().catch(() => ({}))) ?? {}) as { personalized?: boolean };
    if (r?.status === 200 && body.personalized === true) return { at, ms: Date.now() - at, visible: true };
    await sleep(20);
  }
  return { at, ms: Date.now() - at, visible: false };
}

describe(`a hot visitor beside normal traffic (${FULL ? 'full' : 'short'} form)`, () => {
  it('limits the flood at the door while normal visitors keep their latency and freshness, and stores exactly what was acknowledged', async () => {
    const normal = startLoad({
      baseUrl: app.baseUrl,
      ledger,
      factory,
      visitors: 20,
      concurrency: 4,
      batchesPerS: 10,
      batchSize: 5,
      maxAttempts: 60,
    });
    const probes: Probe[] = [];
    let probing = true;
    const prober = (async () => {
      for (let i = 0; probing; i++) {
        probes.push(await probe(i));
        await sleep(400);
      }
    })();

    await sleep(BASELINE_MS);
    const floodFrom = Date.now();
    const floodUntil = floodFrom + FLOOD_MS;
    const hotEntries: LedgerEntry[] = [];
    // The hot visitor's own clock: batches 1 s apart (more than any transit-time difference between
    // concurrent requests, so ingest's skew correction keeps their order), events 1 ms apart, starting
    // a day back: a flood makes tens of thousands of batches, and a time past now + 60 s would be
    // clamped by ingest, where the model (client times) could no longer follow.
    let hotBatch = 0;
    const hotBase = Date.now() - 24 * 3_600_000;
    const hotEvent = (i: number): WireEvent => ({ ...factory.make(HOT), timestamp: hotBase + hotBatch * 1000 + i });
    const flood = async () => {
      while (Date.now() < floodUntil) {
        const entries = Array.from({ length: FLOOD_BATCH }, (_, i) => ledger.add(hotEvent(i), HOT));
        hotBatch++;
        hotEntries.push(...entries);
        await sendBatch(ledger, entries, { baseUrl: app.baseUrl, maxAttempts: 5, giveUpOn429: true, maxBackoffMs: 100 });
      }
    };
    await Promise.all(Array.from({ length: FLOOD_WORKERS }, flood));
    const floodTo = Date.now();
    await sleep(2000);
    probing = false;
    await prober;
    await normal.stop();

    const hotStatuses = hotEntries.map((e) => e.statuses[e.statuses.length - 1]);
    const hotAcked = hotEntries.filter((e) => e.status === 'acked').length;
    const hot429 = hotStatuses.filter((s) => s === 429).length;
    const offeredPerS = (hotEntries.length / (floodTo - floodFrom)) * 1000;
    const normalEntries = [...ledger.entries.values()].filter((e) => e.visitor !== HOT);
    const normalReqs = (from: number, to: number) =>
      ledger.requests.filter((r) => r.at >= from && r.at < to && r.events !== FLOOD_BATCH).map((r) => r.ms);
    const baselineMs = normalReqs(0, floodFrom);
    const floodMs = normalReqs(floodFrom, floodTo);
    const probesBefore = probes.filter((p) => p.at < floodFrom);
    const probesDuring = probes.filter((p) => p.at >= floodFrom && p.at < floodTo);

    console.log(
      `[hot-visitor] offered ${Math.round(offeredPerS)} ev/s; normal ms before p50/p99 ${percentile(baselineMs, 50)}/${percentile(baselineMs, 99)}, during ${percentile(floodMs, 50)}/${percentile(floodMs, 99)}; freshness before ${JSON.stringify(probesBefore.map((p) => p.ms))} during ${JSON.stringify(probesDuring.map((p) => p.ms))}`,
    );
    // The flood really was a flood, and the limit held it to its budget.
    expect(offeredPerS).toBeGreaterThan(1000);
    expect(hotStatuses.every((s) => s === 202 || s === 429)).toBe(true);
    expect(hotAcked).toBeLessThanOrEqual(VISITOR_BURST + FLOOD_BATCH + VISITOR_RATE * Math.ceil((floodTo - floodFrom) / 1000));
    expect(hot429).toBeGreaterThan(hotEntries.length * 0.8);
    // Normal visitors were never limited and never failed.
    expect(normalEntries.filter((e) => e.status !== 'acked' || e.statuses.some((s) => s !== 202))).toEqual([]);
    // ... kept their latency and their freshness.
    expect(floodMs.length).toBeGreaterThan(0);
    // Bounds relative to the same run's baseline: the machine is shared (2 cores, often loaded), so a
    // lone slow probe says nothing, while a flood that got through would multiply every figure.
    expect(percentile(floodMs, 99)).toBeLessThan(Math.max(1000, 3 * percentile(baselineMs, 99)));
    expect(probesDuring.length).toBeGreaterThan(3);
    expect(probesDuring.filter((p) => !p.visible)).toEqual([]);
    const fresh = (ps: Probe[]) =>
      percentile(
        ps.map((p) => p.ms),
        50,
      );
    expect(fresh(probesDuring)).toBeLessThanOrEqual(Math.max(250, 2 * fresh(probesBefore)));

    const lag = await waitLagZero(TEST_BROKERS, app.prefix, 150_000);
    expect(lag, app.output().slice(-3000)).toMatchObject({ promotions: 0, analytics: 0 });
    // Interests = the model fold over acknowledged events only: nothing the flood had refused moved them.
    const red = await checkRedis(TEST_REDIS_URL, app.prefix, ledger);
    expect(red.mismatches, JSON.stringify(red.mismatches).slice(0, 2000)).toEqual([]);
    expect(red.equal).toBe(red.visitors);
    await app.stop();
    const wh = await checkWarehouse(app.dataDir, ledger);
    expect(wh.missing).toEqual([]);
    expect(wh.duplicates).toEqual([]);
    // No batch written twice, even one a merge already hid from count().
    expect(wh.rollupTraffic).toBe(wh.distinct);
    // The flood's refused (429) events are stored nowhere and moved nothing.
    expect(wh.rejectedFound).toEqual([]);
    expect(red.rejectedApplied).toEqual([]);
    expect(wh.failedFound).toBe(0);

    record('10-hot-visitor', {
      flood_ms: floodTo - floodFrom,
      hot_offered_events_per_s: Math.round(offeredPerS),
      hot_sent: hotEntries.length,
      hot_acked: hotAcked,
      hot_429: hot429,
      normal_events: normalEntries.length,
      normal_not_acked_first_try: normalEntries.filter((e) => e.statuses.some((s) => s !== 202)).length,
      normal_p50_ms_before: percentile(baselineMs, 50),
      normal_p99_ms_before: percentile(baselineMs, 99),
      normal_p50_ms_during: percentile(floodMs, 50),
      normal_p99_ms_during: percentile(floodMs, 99),
      freshness_p50_ms_before: percentile(
        probesBefore.map((p) => p.ms),
        50,
      ),
      freshness_p95_ms_before: percentile(
        probesBefore.map((p) => p.ms),
        95,
      ),
      freshness_p50_ms_during: percentile(
        probesDuring.map((p) => p.ms),
        50,
      ),
      freshness_p95_ms_during: percentile(
        probesDuring.map((p) => p.ms),
        95,
      ),
      probes_during: probesDuring.length,
      found: wh.found,
      duplicates: wh.duplicates.length,
      rollup_traffic: wh.rollupTraffic,
      refused_found: wh.rejectedFound.length,
      redis_visitors_equal_model: `${red.equal}/${red.visitors}`,
      lag_zero_ms: lag.ms,
    });
  });
});

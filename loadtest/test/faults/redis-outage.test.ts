/**
 * Scenario 8: the promotions Redis is SIGKILLed under load and comes back
 * empty (no persistence, as a lost cache node). The homepage API must keep
 * answering with defaults at once (no 5xx, no stall: it reads through its own
 * Redis client without an offline queue, F6), ingest must not notice, the
 * process must stay up (the consumer restarts in-process, F2), analytics
 * must stay exactly once, and the processor must notice the lost state and
 * rebuild it by replay from Kafka, so that Redis ends equal to the model.
 * Kafka is the shared one (never touched); Redis is private.
 */
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stateKey } from '../../../processors/promotions/src/state-guard.ts';
import { generationKey } from '../../../processors/promotions/src/store.ts';
import { cleanup, requireServices, TEST_BROKERS } from '../../../scripts/src/testing/app.ts';
import { startFaultApp, type FaultApp } from '../../faults/app.ts';
import { checkRedis, checkWarehouse, waitLagZero } from '../../faults/checker.ts';
import { BROWSER_UA, EventFactory, Ledger, percentile, startLoad } from '../../faults/ledger.ts';
import { FULL, pick, record, saveOutput } from '../../faults/scenario.ts';
import { sleep, startPrivateRedis, type PrivateRedis } from '../../faults/services.ts';

const OUTAGE_MS = pick(5_000, 20_000);
/** The homepage API's answer bound while Redis is away (F6: it used to hang 5-10 s per request). */
const HOMEPAGE_P99_BOUND_MS = 150;

/** Waits until the promotions state marker says a rebuild finished (a generation was switched to). */
async function waitRebuilt(url: string, prefix: string, timeoutMs: number): Promise<{ ms: number; generation: string }> {
  const r = new Redis(url, { maxRetriesPerRequest: 2 });
  const t0 = Date.now();
  try {
    while (Date.now() - t0 < timeoutMs) {
      const doc = JSON.parse((await r.get(stateKey(prefix)).catch(() => null)) ?? '{}') as { status?: string; generation?: string };
      const pointer = await r.get(generationKey(prefix)).catch(() => null);
      if (doc.status === 'ok' && doc.generation && pointer === doc.generation) return { ms: Date.now() - t0, generation: doc.generation };
      await sleep(200);
    }
    throw new Error(`the promotions state was not rebuilt within ${timeoutMs} ms`);
  } finally {
    r.disconnect();
  }
}
let redis: PrivateRedis;
let app: FaultApp;
const ledger = new Ledger();
const factory = new EventFactory(`ro${Date.now().toString(36)}`);
const watchdog = { onStall: () => app.restartNow() };

beforeAll(async () => {
  await requireServices();
  redis = await startPrivateRedis();
  app = await startFaultApp({ brokers: TEST_BROKERS, redisUrl: redis.url, supervise: true });
});

afterAll(async () => {
  await app?.kill();
  if (app) {
    saveOutput('redis-outage', app.output());
    await cleanup(app.prefix, app.dataDir);
  }
  await redis?.stop();
});

describe(`Redis killed and restarted empty under load (${FULL ? 'full' : 'short'} form)`, () => {
  it(`keeps the homepage API answering fast without 5xx and ingest acknowledging while Redis is gone for ${OUTAGE_MS / 1000} s, then rebuilds the lost state`, async () => {
    const running = startLoad({
      baseUrl: app.baseUrl,
      ledger,
      factory,
      visitors: 20,
      concurrency: 4,
      batchesPerS: 10,
      batchSize: 5,
      maxAttempts: 80,
    });
    const homepage: Array<{ at: number; ms: number; status: number; personalized?: boolean }> = [];
    let polling = true;
    const poller = (async () => {
      let i = 0;
      while (polling) {
        const t0 = Date.now();
        try {
          const r = await fetch(`${app.baseUrl}/v1/promotions/${factory.visitor(i++ % 20)}`, {
            headers: { 'User-Agent': BROWSER_UA },
            signal: AbortSignal.timeout(10_000),
          });
          const body = (await r.json().catch(() => ({}))) as { personalized?: boolean };
          homepage.push({ at: t0, ms: Date.now() - t0, status: r.status, personalized: body.personalized });
        } catch {
          homepage.push({ at: t0, ms: Date.now() - t0, status: 0 });
        }
        await sleep(100);
      }
    })();
    await sleep(4000);
    const killedAt = Date.now();
    await redis.kill();
    const goneAt = Date.now();
    await sleep(OUTAGE_MS);
    await redis.start();
    const upAt = Date.now();
    // The state was lost with Redis; the processor should notice and rebuild it by replay from Kafka.
    const rebuilding = waitRebuilt(redis.url, app.prefix, 120_000);
    rebuilding.catch(() => {});
    await sleep(5000);
    polling = false;
    await poller;
    await running.stop();

    const during = homepage.filter((h) => h.at >= killedAt && h.at < upAt);
    const answered = during.filter((h) => h.status !== 0);
    expect(during.length).toBeGreaterThan(0);
    expect(homepage.filter((h) => h.status >= 500)).toEqual([]);
    expect(answered.every((h) => h.status === 200)).toBe(true);
    // Every request in the outage answered (defaults), and fast: no waiting for the reconnect.
    expect(answered.length).toBe(during.length);
    expect(answered.filter((h) => h.at >= goneAt).every((h) => h.personalized === false)).toBe(true);
    const homepageP99 = percentile(
      answered.map((h) => h.ms),
      99,
    );
    expect(homepageP99).toBeLessThan(HOMEPAGE_P99_BOUND_MS);
    // The process stayed up: the consumer's Redis failures are restarted in-process (F2).
    expect(app.restarts()).toBe(0);
    const c = ledger.counts();
    expect(c.failed + c.pending).toBe(0);
    const ingestDuring = ledger.requestsBetween(killedAt, upAt);
    expect(ingestDuring.filter((r) => r.status !== 202 && r.status !== 0)).toEqual([]);

    const rebuilt = await rebuilding;
    const lag = await waitLagZero(TEST_BROKERS, app.prefix, 150_000, watchdog);
    expect(lag, app.output().slice(-3000)).toMatchObject({ promotions: 0, analytics: 0 });
    // Every visitor equals the model fold over its acknowledged events: nothing lost, nothing twice.
    const red = await checkRedis(redis.url, `${app.prefix}${rebuilt.generation}`, ledger);
    expect(red.mismatches).toEqual([]);
    expect(red.equal).toBe(red.visitors);
    expect(red.appliedEvents).toBe(red.modelEvents);
    expect(red.rejectedApplied).toEqual([]);
    record('8-redis-lost', {
      outage_ms: upAt - killedAt,
      ...c,
      homepage_requests_during: during.length,
      homepage_answered_during: answered.length,
      homepage_5xx: homepage.filter((h) => h.status >= 500).length,
      homepage_p99_ms_during: homepageP99,
      homepage_max_ms_during: Math.max(...answered.map((h) => h.ms)),
      ingest_requests_during: ingestDuring.length,
      ingest_no_answer_during: ingestDuring.filter((r) => r.status === 0).length,
      app_restarts: app.restarts(),
      rebuilt_ms_after_redis_up: rebuilt.ms,
      rebuilt_generation: rebuilt.generation,
      redis_visitors_equal_model_after: `${red.equal}/${red.visitors}`,
      redis_applied_events_after: red.appliedEvents,
      model_events: red.modelEvents,
      lag_zero_ms: lag.ms,
      watchdog_restarts: lag.stalls,
    });
  });

  it('takes ingest traffic again within seconds of a SIGKILL of the app, before the processors rejoin their groups (F4)', async () => {
    const running = startLoad({
      baseUrl: app.baseUrl,
      ledger,
      factory,
      visitors: 20,
      concurrency: 4,
      batchesPerS: 10,
      batchSize: 5,
      maxAttempts: 80,
    });
    await sleep(3000);
    const restarts0 = app.restarts();
    const killedAt = Date.now();
    // No goodbye: the dead members stay in both consumer groups until their 30 s session timeout.
    process.kill(app.pid()!, 'SIGKILL');
    let healthyMs = -1;
    let readyMs = -1;
    while (Date.now() - killedAt < 90_000 && readyMs < 0) {
      const probe = async (path: string) =>
        (await fetch(`${app.baseUrl}${path}`, { signal: AbortSignal.timeout(2000) }).catch(() => undefined))?.status;
      if (healthyMs < 0 && (await probe('/healthz')) === 200) healthyMs = Date.now() - killedAt;
      if (healthyMs >= 0 && (await probe('/readyz')) === 200) readyMs = Date.now() - killedAt;
      await sleep(100);
    }
    const firstAck = ledger.requests.find((r) => r.at >= killedAt + 1000 && r.status === 202);
    const ackMs = firstAck ? firstAck.at + firstAck.ms - killedAt : -1;
    await sleep(2000);
    await running.stop();
    expect(app.restarts()).toBe(restarts0 + 1);
    expect(healthyMs).toBeGreaterThan(0);
    expect(ackMs).toBeGreaterThan(0);
    // Listening (and ingest) does not wait for the group joins; readiness does.
    expect(ackMs).toBeLessThan(20_000);
    const c = ledger.counts();
    expect(c.failed + c.pending).toBe(0);
    const lag = await waitLagZero(TEST_BROKERS, app.prefix, 150_000, watchdog);
    expect(lag, app.output().slice(-3000)).toMatchObject({ promotions: 0, analytics: 0 });
    // A chunk written to Redis but not committed before the kill is redelivered: still counted once.
    const r = new Redis(redis.url, { maxRetriesPerRequest: 2 });
    const generation = (await r.get(generationKey(app.prefix)).finally(() => r.disconnect())) ?? '';
    const red = await checkRedis(redis.url, `${app.prefix}${generation}`, ledger);
    expect(red.mismatches).toEqual([]);
    record('8b-app-killed', {
      healthz_ms_after_kill: healthyMs,
      first_202_ms_after_kill: ackMs,
      readyz_ms_after_kill: readyMs,
      ingest_no_answer_after_kill: ledger.requestsBetween(killedAt, killedAt + Math.max(ackMs, 0)).filter((r) => r.status === 0).length,
      app_restarts: app.restarts() - restarts0,
      lag_zero_ms: lag.ms,
      redis_visitors_equal_model: `${red.equal}/${red.visitors}`,
      redis_applied_events: red.appliedEvents,
      watchdog_restarts: lag.stalls,
    });
  });

  it('has every acknowledged event in ClickHouse exactly once after the Redis outage and the kill', async () => {
    await app.stop();
    const wh = await checkWarehouse(app.dataDir, ledger);
    record('8-warehouse', {
      sent: ledger.entries.size,
      acked: wh.acked,
      found: wh.found,
      missing: wh.missing.length,
      duplicates: wh.duplicates.length,
    });
    expect(wh.missing).toEqual([]);
    expect(wh.duplicates).toEqual([]);
    expect(wh.found).toBe(ledger.counts().acked);
  });
});

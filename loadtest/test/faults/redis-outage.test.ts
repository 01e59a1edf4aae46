/**
 * Scenario 8 (partly): the promotions Redis is SIGKILLed under load and comes
 * back empty (no persistence, as a lost cache node). The homepage API must
 * keep answering with defaults (no 5xx), ingest must not notice, analytics
 * must stay exactly once. The rebuild of the lost state by replay is not
 * automatic yet (RELIABILITY.md, "not yet covered"), so the Redis figures
 * after the restart are recorded, and only "nothing applied twice" is
 * asserted. Kafka is the shared one (never touched); Redis is private.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, requireServices, TEST_BROKERS } from '../../../scripts/src/testing/app.ts';
import { startFaultApp, type FaultApp } from '../../faults/app.ts';
import { checkRedis, checkWarehouse, waitLagZero } from '../../faults/checker.ts';
import { BROWSER_UA, EventFactory, Ledger, percentile, startLoad } from '../../faults/ledger.ts';
import { FULL, pick, record, saveOutput } from '../../faults/scenario.ts';
import { sleep, startPrivateRedis, type PrivateRedis } from '../../faults/services.ts';

const OUTAGE_MS = pick(5_000, 20_000);
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
  it(`keeps the homepage API answering without 5xx and ingest acknowledging while Redis is gone for ${OUTAGE_MS / 1000} s`, async () => {
    const running = startLoad({ baseUrl: app.baseUrl, ledger, factory, visitors: 20, concurrency: 4, batchesPerS: 10, batchSize: 5, maxAttempts: 80 });
    const homepage: Array<{ at: number; ms: number; status: number; personalized?: boolean }> = [];
    let polling = true;
    const poller = (async () => {
      let i = 0;
      while (polling) {
        const t0 = Date.now();
        try {
          const r = await fetch(`${app.baseUrl}/v1/promotions/${factory.visitor(i++ % 20)}`, { headers: { 'User-Agent': BROWSER_UA }, signal: AbortSignal.timeout(10_000) });
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
    await sleep(OUTAGE_MS);
    await redis.start();
    const upAt = Date.now();
    await sleep(5000);
    polling = false;
    await poller;
    await running.stop();

    const during = homepage.filter((h) => h.at >= killedAt && h.at < upAt);
    const answered = during.filter((h) => h.status !== 0);
    expect(during.length).toBeGreaterThan(0);
    expect(homepage.filter((h) => h.status >= 500)).toEqual([]);
    expect(answered.every((h) => h.status === 200)).toBe(true);
    const c = ledger.counts();
    expect(c.failed + c.pending).toBe(0);
    const ingestDuring = ledger.requestsBetween(killedAt, upAt);
    expect(ingestDuring.filter((r) => r.status !== 202 && r.status !== 0)).toEqual([]);

    const lag = await waitLagZero(TEST_BROKERS, app.prefix, 150_000, watchdog);
    expect(lag, app.output().slice(-3000)).toMatchObject({ promotions: 0, analytics: 0 });
    // State was lost with Redis: what is there now must never count an event twice.
    const red = await checkRedis(redis.url, app.prefix, ledger);
    expect(red.appliedEvents).toBeLessThanOrEqual(red.modelEvents);
    await app.stop();
    const wh = await checkWarehouse(app.dataDir, ledger);
    expect(wh.missing).toEqual([]);
    expect(wh.duplicates).toEqual([]);
    record('8-redis-lost', {
      outage_ms: upAt - killedAt,
      ...c,
      homepage_requests_during: during.length,
      homepage_answered_during: answered.length,
      homepage_5xx: homepage.filter((h) => h.status >= 500).length,
      homepage_p99_ms_during: percentile(answered.map((h) => h.ms), 99),
      ingest_requests_during: ingestDuring.length,
      ingest_no_answer_during: ingestDuring.filter((r) => r.status === 0).length,
      app_restarts: app.restarts(),
      found: wh.found,
      duplicates: wh.duplicates.length,
      redis_visitors_equal_model_after: `${red.equal}/${red.visitors}`,
      redis_applied_events_after: red.appliedEvents,
      model_events: red.modelEvents,
      lag_zero_ms: lag.ms,
      watchdog_restarts: lag.stalls,
    });
  });
});

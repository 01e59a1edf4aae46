/**
 * Scenarios 4 and 5: the process hosting both processors is SIGKILLed between
 * a confirmed write and its offset commit, first right after an analytics
 * insert into ClickHouse, then (next process life) right after a promotions
 * Redis write, while load keeps coming. A supervisor restarts it each time;
 * the redelivered batches must change nothing: every acknowledged event once
 * in ClickHouse, each visitor's interests equal to the model.
 * Only the app is killed, so this runs on the shared Kafka and Redis under
 * its own TOPIC_PREFIX.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { cleanup, requireServices, TEST_BROKERS, TEST_REDIS_URL } from '../../../scripts/src/testing/app.ts';
import { startFaultApp, type FaultApp } from '../../faults/app.ts';
import { checkRedis, checkWarehouse, waitLagZero } from '../../faults/checker.ts';
import { EventFactory, Ledger, startLoad } from '../../faults/ledger.ts';
import { FULL, pick, record, saveOutput } from '../../faults/scenario.ts';
import { sleep } from '../../faults/services.ts';

const HOST = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../faults/host.ts');
const markers = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-fault-kills-'));
let app: FaultApp;
const ledger = new Ledger();
const factory = new EventFactory(`kp${Date.now().toString(36)}`);

beforeAll(async () => {
  await requireServices();
  app = await startFaultApp({
    brokers: TEST_BROKERS,
    redisUrl: TEST_REDIS_URL,
    entry: HOST,
    supervise: true,
    env: { FAULT_KILLS: `analytics:${pick(3, 10)},promotions:${pick(5, 20)}`, FAULT_MARKER_DIR: markers, ANALYTICS_FLUSH_INTERVAL_MS: '300' },
  });
});

afterAll(async () => {
  await app?.kill();
  if (app) {
    saveOutput('kill-points', app.output());
    await cleanup(app.prefix, app.dataDir);
  }
  fs.rmSync(markers, { recursive: true, force: true });
});

const fired = (i: number) => {
  try {
    return JSON.parse(fs.readFileSync(path.join(markers, `kill-${i}.json`), 'utf8')) as { who: string; info: Record<string, unknown> };
  } catch {
    return undefined;
  }
};

describe(`SIGKILL between a confirmed write and its offset commit (${FULL ? 'full' : 'short'} form)`, () => {
  it('keeps every acknowledged event exactly once in ClickHouse and in the interests after an analytics and a promotions kill', async () => {
    const running = startLoad({ baseUrl: app.baseUrl, ledger, factory, visitors: 30, concurrency: 6, batchesPerS: pick(15, 30), batchSize: 5, maxAttempts: 80 });
    const deadline = Date.now() + 150_000;
    while (Date.now() < deadline && !(fired(1) && app.restarts() >= 2)) await sleep(250);
    await sleep(3000);
    await running.stop();
    expect(fired(0)?.who).toBe('analytics');
    expect(fired(1)?.who).toBe('promotions');
    expect(app.exits().filter((e) => e === 'SIGKILL')).toHaveLength(2);

    const c = ledger.counts();
    expect(c.failed + c.pending).toBe(0);
    await app.waitReady(120_000);
    const lag = await waitLagZero(TEST_BROKERS, app.prefix, 90_000);
    expect(lag, app.output().slice(-3000)).toMatchObject({ promotions: 0, analytics: 0 });
    const red = await checkRedis(TEST_REDIS_URL, app.prefix, ledger);
    expect(red.mismatches).toEqual([]);
    await app.stop();
    const wh = await checkWarehouse(app.dataDir, ledger);
    expect(wh.missing).toEqual([]);
    expect(wh.duplicates).toEqual([]);
    record('4+5-kill-points', {
      kills: [fired(0), fired(1)].map((f) => ({ who: f?.who, batch: f?.info })),
      ...c,
      requests_no_answer: ledger.requests.filter((r) => r.status === 0).length,
      found: wh.found,
      duplicates: wh.duplicates.length,
      redis_visitors_equal_model: `${red.equal}/${red.visitors}`,
      redis_applied_events: red.appliedEvents,
      lag_zero_ms: lag.ms,
      app_restarts: app.restarts(),
    });
  });
});

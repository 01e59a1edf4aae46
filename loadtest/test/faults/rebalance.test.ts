/**
 * Scenario 6: consumer-group rebalances under a slow sink. Under steady load,
 * a second promotions member and a second analytics member join their groups
 * and leave again, twice, while every Redis chunk and every ClickHouse insert
 * waits FAULT_SLOW_SINK_MS between its write and its offset commit, so
 * revoked partitions are redelivered from offsets whose effects were already
 * written. The promise: no loss and no double count, in ClickHouse and in the
 * interests. The extra members run inside the fault host (loadtest/faults/
 * host.ts), because an embedded ClickHouse data directory opens in one process
 * only; the group protocol, revocations and redeliveries are the real ones.
 */
import { Kafka, logLevel } from 'kafkajs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { groupId } from '@storepulse/contracts';
import { cleanup, requireServices, TEST_BROKERS, TEST_REDIS_URL } from '../../../scripts/src/testing/app.ts';
import { ROOT } from '../../../scripts/src/paths.ts';
import { startFaultApp, type FaultApp } from '../../faults/app.ts';
import { checkRedis, checkWarehouse, waitLagZero } from '../../faults/checker.ts';
import { EventFactory, Ledger, startLoad } from '../../faults/ledger.ts';
import { FULL, pick, record, saveOutput } from '../../faults/scenario.ts';
import { sleep } from '../../faults/services.ts';

const HOST = path.join(ROOT, 'loadtest/faults/host.ts');
const SLOW_MS = 300;
// Two join/leave cycles: `<startAfterMs>:<runMs>` after the host started.
const CYCLES: Array<[number, number]> = pick(
  [
    [4_000, 6_000],
    [14_000, 5_000],
  ],
  [
    [5_000, 15_000],
    [30_000, 15_000],
  ],
);
// The load runs until every cycle has joined and left (a join can wait for a session timeout), at most this long.
const MAX_LOAD_MS = 150_000;

let app: FaultApp;
const ledger = new Ledger();
const factory = new EventFactory(`rb${Date.now().toString(36)}`);

beforeAll(async () => {
  await requireServices();
  app = await startFaultApp({
    brokers: TEST_BROKERS,
    redisUrl: TEST_REDIS_URL,
    entry: HOST,
    env: {
      FAULT_SLOW_SINK_MS: String(SLOW_MS),
      FAULT_EXTRA_MEMBERS: CYCLES.map(([a, b]) => `${a}:${b}`).join(','),
      ANALYTICS_FLUSH_INTERVAL_MS: '300',
    },
  });
});

afterAll(async () => {
  await app?.kill();
  if (app) {
    saveOutput('rebalance', app.output());
    await cleanup(app.prefix, app.dataDir);
  }
});

describe(`consumer-group rebalances under a slow sink (${FULL ? 'full' : 'short'} form)`, () => {
  it('loses nothing and counts nothing twice while second members join and leave under load', async () => {
    const startedAt = Date.now();
    const running = startLoad({
      baseUrl: app.baseUrl,
      ledger,
      factory,
      visitors: 30,
      concurrency: 6,
      batchesPerS: pick(15, 30),
      batchSize: 5,
      maxAttempts: 80,
    });
    // Watch the groups: the extra members must really have joined (2 members) and left (back to 1).
    const kafka = new Kafka({ clientId: 'fault-rebalance-watch', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    const groups = [groupId(app.prefix, 'promotions'), groupId(app.prefix, 'analytics')];
    const members: Record<string, number[]> = Object.fromEntries(groups.map((g) => [g, []]));
    const cyclesDone = () => (app.output().match(/extra group members left/g) ?? []).length >= CYCLES.length;
    while (Date.now() - startedAt < MAX_LOAD_MS && !cyclesDone()) {
      const d = await admin.describeGroups(groups).catch(() => undefined);
      for (const g of d?.groups ?? []) members[g.groupId]!.push(g.members.length);
      await sleep(500);
    }
    // A little more load for the original members alone: they must still be consuming.
    await sleep(5000);
    await running.stop();
    const loadMs = Date.now() - startedAt;
    const c = ledger.counts();
    expect(c.failed + c.pending).toBe(0);

    const lag = await waitLagZero(TEST_BROKERS, app.prefix, 150_000);
    expect(lag, app.output().slice(-3000)).toMatchObject({ promotions: 0, analytics: 0 });
    const after = await admin.describeGroups(groups);
    await admin.disconnect();
    for (const g of groups) {
      expect(Math.max(...members[g]!), `${g} never had a second member`).toBeGreaterThanOrEqual(2);
      expect(after.groups.find((x) => x.groupId === g)?.members.length, `${g} members after the cycles`).toBe(1);
    }
    const joins = (app.output().match(/extra group members joined/g) ?? []).length;
    const leaves = (app.output().match(/extra group members left/g) ?? []).length;
    expect([joins, leaves]).toEqual([CYCLES.length, CYCLES.length]);

    const red = await checkRedis(TEST_REDIS_URL, app.prefix, ledger);
    expect(red.mismatches).toEqual([]);
    expect(red.equal).toBe(red.visitors);
    expect(red.appliedEvents).toBe(red.modelEvents);
    await app.stop();
    const wh = await checkWarehouse(app.dataDir, ledger);
    expect(wh.missing).toEqual([]);
    expect(wh.duplicates).toEqual([]);
    // No batch written twice, even one a merge already hid from count().
    expect(wh.rollupTraffic).toBe(wh.distinct);
    expect(wh.rejectedFound).toEqual([]);

    record('6-rebalance', {
      cycles: CYCLES.map(([a, b]) => `${a / 1000}s+${b / 1000}s`).join(', '),
      slow_sink_ms: SLOW_MS,
      load_ms: loadMs,
      ...c,
      found: wh.found,
      missing: wh.missing.length,
      duplicates: wh.duplicates.length,
      rollup_traffic: wh.rollupTraffic,
      redis_visitors_equal_model: `${red.equal}/${red.visitors}`,
      redis_applied_events: red.appliedEvents,
      model_events: red.modelEvents,
      max_members: Object.fromEntries(groups.map((g) => [g.slice(app.prefix.length), Math.max(...members[g]!)])),
      lag_zero_ms: lag.ms,
    });
  });
});

import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouseClient, type WarehouseClient } from '../../src/index.ts';

// One embedded engine per process: both clients share it, through 1 and 3 chDB connections.
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-pool-'));
let one: WarehouseClient;
let three: WarehouseClient;
beforeAll(() => {
  one = createWarehouseClient({ dataDir: dir });
  three = createWarehouseClient({ dataDir: dir, connections: 3 });
});
afterAll(async () => {
  await three?.close();
  await one?.close();
  fs.rmSync(dir, { recursive: true, force: true });
});

/** Runs `n` queries of 1 s (sleep, no CPU) at once; returns the seconds until the last one answered. */
async function sleeps(w: WarehouseClient, n: number): Promise<number> {
  const t = performance.now();
  await Promise.all(
    Array.from({ length: n }, () => w.client.query({ query: 'SELECT sleep(1) AS s', format: 'JSONEachRow' }).then((r) => r.json())),
  );
  return (performance.now() - t) / 1000;
}

describe('embedded client connections', () => {
  it('runs the queries of one connection one after another', async () => {
    expect(await sleeps(one, 2)).toBeGreaterThanOrEqual(1.95);
  });

  it('spreads calls over its connections, which run them in parallel', async () => {
    const secs = await sleeps(three, 3);
    expect(secs).toBeGreaterThanOrEqual(0.95);
    expect(secs).toBeLessThan(1.9);
  });

  it('keeps working through every connection and refuses a bad count', async () => {
    await three.client.command({ query: 'CREATE TABLE default.pool_t (n UInt32) ENGINE = MergeTree ORDER BY n' });
    await Promise.all(
      Array.from({ length: 6 }, (_, i) => three.client.insert({ table: 'default.pool_t', values: [{ n: i }], format: 'JSONEachRow' })),
    );
    const rs = await one.client.query({ query: 'SELECT count() AS c FROM default.pool_t', format: 'JSONEachRow' });
    expect(await rs.json()).toEqual([{ c: 6 }]);
    expect(await three.client.ping()).toEqual({ success: true });
    expect(() => createWarehouseClient({ dataDir: dir, connections: 0 })).toThrow(RangeError);
  });
});

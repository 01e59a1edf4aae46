import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ClickHouseError } from '@clickhouse/client';
import { createWarehouseClient, rawInsertStatement, type RawInsert, type WarehouseClient } from '../../src/index.ts';

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

describe('raw inserts (insertRaw)', () => {
  const t = (body: string, settings?: RawInsert['settings']): RawInsert => ({
    table: 'default.raw_t',
    columns: ['n', 's'],
    settings,
    format: 'TabSeparated',
    body: Buffer.from(body),
  });
  const count = async () =>
    (await (await one.client.query({ query: 'SELECT count() AS c FROM default.raw_t', format: 'JSONEachRow' })).json<{ c: number }>())[0]!
      .c;

  beforeAll(async () => {
    await one.client.command({
      query:
        'CREATE TABLE default.raw_t (n UInt32, s String) ENGINE = MergeTree ORDER BY n SETTINGS non_replicated_deduplication_window = 100',
    });
  });

  it('writes the body on either client, deduplicates by token and skips an empty body', async () => {
    await one.insertRaw(t('1\ta\n2\tb'));
    await three.insertRaw(t('3\tc'));
    await three.insertRaw(t(''));
    expect(await count()).toBe(3);
    const token = "x'\\y\n'); DROP TABLE default.raw_t; --";
    for (let i = 0; i < 3; i++) await three.insertRaw(t('4\td', { insert_deduplicate: true, insert_deduplication_token: token }));
    expect(await count()).toBe(4);
  });

  it('takes an idle connection of the pool while the others are busy', async () => {
    const t0 = performance.now();
    const busy = Promise.all(
      [0, 1].map(() => three.client.query({ query: 'SELECT sleep(1) AS s', format: 'JSONEachRow' }).then((r) => r.json())),
    );
    await new Promise((r) => setTimeout(r, 50));
    await three.insertRaw(t('5\te'));
    expect((performance.now() - t0) / 1000).toBeLessThan(0.9);
    await busy;
  });

  it('fails on bad data with a ClickHouseError carrying the ClickHouse code', async () => {
    const err = await three.insertRaw(t('not a number\tx')).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(ClickHouseError);
    expect((err as ClickHouseError).code).toBe('27');
    expect((err as Error).message).toMatch(/Cannot parse input/);
  });

  it('builds the same quoted statement for a server and refuses unsafe names', () => {
    expect(rawInsertStatement(t('', { a: 1, b: true, c: "it's \\ here" }))).toBe(
      "INSERT INTO default.raw_t (n, s) SETTINGS a = 1, b = 1, c = 'it\\'s \\\\ here' FORMAT TabSeparated",
    );
    expect(rawInsertStatement(t(''))).toBe('INSERT INTO default.raw_t (n, s) FORMAT TabSeparated');
    expect(() => rawInsertStatement({ ...t(''), table: 'x; DROP TABLE y' })).toThrow(TypeError);
    expect(() => rawInsertStatement({ ...t(''), columns: ['n) SELECT 1 --'] })).toThrow(TypeError);
    expect(() => rawInsertStatement(t('', { 'a = 1, b': 1 }))).toThrow(TypeError);
    expect(() => rawInsertStatement(t('', { a: Number.NaN }))).toThrow(TypeError);
  });
});

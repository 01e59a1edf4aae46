import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createWarehouseClient, migrate, MIGRATIONS_DIR, readMigrations, type WarehouseClient } from '../../src/index.ts';

let w: WarehouseClient;
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-migrate-'));

beforeAll(() => {
  w = createWarehouseClient({ dataDir: path.join(tmp, 'data') });
});
afterAll(async () => {
  await w?.close();
  fs.rmSync(tmp, { recursive: true, force: true });
});

async function tables(database: string): Promise<string[]> {
  const rs = await w.client.query({
    query: 'SELECT name FROM system.tables WHERE database = {db:String} ORDER BY name',
    query_params: { db: database },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ name: string }>()).map((r) => r.name);
}

function copyMigrations(name: string): string {
  const dir = path.join(tmp, name);
  fs.mkdirSync(dir);
  for (const f of fs.readdirSync(MIGRATIONS_DIR)) fs.copyFileSync(path.join(MIGRATIONS_DIR, f), path.join(dir, f));
  return dir;
}

describe('migrations against the embedded engine', () => {
  it('creates the schema, records it, and applying twice is a no-op', async () => {
    const shipped = readMigrations().map((m) => m.file);
    const first = await migrate(w.client, {});
    expect(first.applied).toEqual(shipped);
    expect(shipped.slice(0, 2)).toEqual(['0001_events.sql', '0002_rollups.sql']);
    const before = await tables('activity');
    expect(before).toEqual(expect.arrayContaining(['events', 'rollups', 'rollups_mv', 'schema_migrations']));
    const second = await migrate(w.client, {});
    expect(second).toEqual({ applied: [], alreadyApplied: shipped });
    expect(await tables('activity')).toEqual(before);
    const rs = await w.client.query({ query: 'SELECT count() AS n FROM activity.schema_migrations', format: 'JSONEachRow' });
    expect(Number((await rs.json<{ n: string }>())[0]!.n)).toBe(shipped.length);
  });

  it('refuses a folder with a duplicate number before touching the database', async () => {
    const dir = copyMigrations('dup');
    fs.writeFileSync(path.join(dir, '0002_other.sql'), 'SELECT 1;');
    await expect(migrate(w.client, { dir, database: 'dup_db' })).rejects.toThrow(/share number 0002/);
    expect(await tables('dup_db')).toEqual([]);
  });

  it('refuses an out-of-order number and an edited applied migration', async () => {
    const gap = copyMigrations('gap');
    const late = String(readMigrations().length + 2).padStart(4, '0');
    fs.writeFileSync(path.join(gap, `${late}_late.sql`), 'SELECT 1;');
    await expect(migrate(w.client, { dir: gap })).rejects.toThrow(/out of order/);
    const edited = copyMigrations('edited');
    fs.appendFileSync(path.join(edited, '0001_events.sql'), '\n-- edited\n');
    await expect(migrate(w.client, { dir: edited })).rejects.toThrow(/edited after it was applied/);
  });

  it('applies a changed EVENTS_TTL_DAYS to the existing tables', async () => {
    await migrate(w.client, { eventsTtlDays: 30 });
    const rs = await w.client.query({
      query: "SELECT create_table_query AS q FROM system.tables WHERE database = 'activity' AND name = 'events'",
      format: 'JSONEachRow',
    });
    expect((await rs.json<{ q: string }>())[0]!.q).toContain('toIntervalDay(30)');
  });

  it('migrates another database name when asked', async () => {
    await migrate(w.client, { database: 'shop_two' });
    expect(await tables('shop_two')).toEqual(expect.arrayContaining(['events', 'rollups', 'rollups_mv']));
  });
});

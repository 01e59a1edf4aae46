import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { createWarehouseClient } from '@storepulse/warehouse';

const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-ch-'));
const wh = createWarehouseClient({ dataDir });

describe('the embedded ClickHouse (chDB) behind @clickhouse/client', () => {
  afterAll(async () => {
    await wh.close();
    fs.rmSync(dataDir, { recursive: true, force: true });
  });

  it('is embedded under DATA_DIR and answers ping', async () => {
    expect(wh.mode).toBe('embedded');
    expect(wh.location).toBe(path.join(dataDir, 'clickhouse'));
    expect((await wh.client.ping()).success).toBe(true);
  });

  it('creates a table, inserts rows and reads them back with a bound parameter', async () => {
    const { client } = wh;
    await client.command({ query: 'CREATE DATABASE IF NOT EXISTS foundation' });
    await client.command({
      query: `CREATE TABLE foundation.searches (event_id String, keyword String, date DateTime64(3))
              ENGINE = MergeTree ORDER BY (keyword, date)`,
    });
    await client.insert({
      table: 'foundation.searches',
      format: 'JSONEachRow',
      values: [
        { event_id: 'e1', keyword: 'humidifier', date: Date.now() },
        { event_id: 'e2', keyword: "x' OR 1=1 --", date: Date.now() },
        { event_id: 'e3', keyword: 'humidifier', date: Date.now() },
      ],
    });
    const rs = await client.query({
      query: 'SELECT keyword, count() AS n FROM foundation.searches WHERE keyword = {kw:String} GROUP BY keyword',
      query_params: { kw: 'humidifier' },
      format: 'JSONEachRow',
    });
    expect(await rs.json()).toEqual([{ keyword: 'humidifier', n: 2 }]);
    const hostile = await client.query({
      query: 'SELECT count() AS n FROM foundation.searches WHERE keyword = {kw:String}',
      query_params: { kw: "x' OR 1=1 --" },
      format: 'JSONEachRow',
    });
    expect(await hostile.json()).toEqual([{ n: 1 }]);
  });

  it('persists to disk: the data directory holds the table', () => {
    const files = fs.readdirSync(path.join(dataDir, 'clickhouse'));
    expect(files.length).toBeGreaterThan(0);
  });
});

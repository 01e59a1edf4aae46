import fs from 'node:fs';
import path from 'node:path';
import { createClient, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
import { createChdbConnection } from 'chdb/connection';

export type { ClickHouseClient } from '@clickhouse/client';

export interface WarehouseClientOptions {
  /** A ClickHouse server/cluster over HTTP; unset means embedded chDB under dataDir. */
  clickhouseUrl?: string | undefined;
  /** Embedded engine data lives in `<dataDir>/clickhouse`. */
  dataDir: string;
  /** Extra settings sent with every query (for example async_insert on a server). */
  settings?: ClickHouseSettings;
}

export interface WarehouseClient {
  client: ClickHouseClient;
  /** 'embedded' (chDB in this process) or 'server' (HTTP). */
  mode: 'embedded' | 'server';
  /** Where the data is: the chDB path or the server URL with credentials masked. */
  location: string;
  close(): Promise<void>;
}

/**
 * One factory for both engines, so every caller uses the same
 * `@clickhouse/client` interface: embedded chDB (one engine per process,
 * one data directory per engine) or a ClickHouse server by URL.
 */
export function createWarehouseClient(opts: WarehouseClientOptions): WarehouseClient {
  // chDB answers 64-bit integers in JSON as numbers while a server quotes them by
  // default; pin one behaviour so the same code reads the same rows from both.
  const settings: ClickHouseSettings = { output_format_json_quote_64bit_integers: 0, ...(opts.settings ?? {}) };
  if (opts.clickhouseUrl) {
    const client = createClient({ url: opts.clickhouseUrl, clickhouse_settings: settings });
    const u = new URL(opts.clickhouseUrl);
    if (u.password) u.password = '***';
    return { client, mode: 'server', location: u.toString(), close: () => client.close() };
  }
  const dir = path.resolve(opts.dataDir, 'clickhouse');
  fs.mkdirSync(dir, { recursive: true });
  const client = createClient({
    // chdb types against its own copy of @clickhouse/client-common; the runtime contract is the same.
    connection: createChdbConnection({ path: dir }) as unknown as NonNullable<Parameters<typeof createClient>[0]>['connection'],
    clickhouse_settings: settings,
  });
  return { client, mode: 'embedded', location: dir, close: () => client.close() };
}

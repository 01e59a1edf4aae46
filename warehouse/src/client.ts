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
  /**
   * Embedded only: chDB connections to the one engine (default 1). One
   * connection runs its queries one after another; with several, each call
   * goes to the connection with the fewest calls in flight, so that many run
   * in parallel (processors/analytics/bench/RESULTS.md).
   */
  connections?: number;
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
  const n = opts.connections ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`connections must be a positive integer, got ${n}`);
  const conns = Array.from({ length: n }, () => createChdbConnection({ path: dir }));
  const client = createClient({
    // chdb types against its own copy of @clickhouse/client-common; the runtime contract is the same.
    connection: (n === 1 ? conns[0] : new ConnectionPool(conns)) as unknown as ClientConnection,
    clickhouse_settings: settings,
  });
  return { client, mode: 'embedded', location: dir, close: () => client.close() };
}

type ChdbConnection = ReturnType<typeof createChdbConnection>;
type ClientConnection = NonNullable<Parameters<typeof createClient>[0]>['connection'];

/** Several chDB connections behind one: each call goes to the one with the fewest calls in flight. */
class ConnectionPool {
  readonly #conns: ChdbConnection[];
  readonly #busy: number[];
  constructor(conns: ChdbConnection[]) {
    this.#conns = conns;
    this.#busy = conns.map(() => 0);
  }
  async #on<T>(f: (c: ChdbConnection) => Promise<T>): Promise<T> {
    const i = this.#busy.indexOf(Math.min(...this.#busy));
    this.#busy[i]!++;
    try {
      return await f(this.#conns[i]!);
    } finally {
      this.#busy[i]!--;
    }
  }
  query(p: Parameters<ChdbConnection['query']>[0]) {
    return this.#on((c) => c.query(p));
  }
  exec(p: Parameters<ChdbConnection['exec']>[0]) {
    return this.#on((c) => c.exec(p));
  }
  command(p: Parameters<ChdbConnection['command']>[0]) {
    return this.#on((c) => c.command(p));
  }
  insert(p: Parameters<ChdbConnection['insert']>[0]) {
    return this.#on((c) => c.insert(p));
  }
  ping(p: Parameters<ChdbConnection['ping']>[0]) {
    return this.#on((c) => c.ping(p));
  }
  async close() {
    await Promise.all(this.#conns.map((c) => c.close()));
  }
}

import fs from 'node:fs';
import path from 'node:path';
import { Readable } from 'node:stream';
import { ClickHouseError, createClient, parseError, type ClickHouseClient, type ClickHouseSettings } from '@clickhouse/client';
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

/** One INSERT of a body that is already in `format` (see {@link WarehouseClient.insertRaw}). */
export interface RawInsert {
  /** `table` or `db.table`. */
  table: string;
  /** The body's fields, in order. */
  columns: readonly string[];
  /** The statement's own SETTINGS clause; string values are sent as quoted literals. */
  settings?: Readonly<Record<string, string | number | boolean>>;
  format: 'TabSeparated';
  /** Rows separated by '\n'. An empty body inserts nothing. */
  body: Buffer;
}

export interface WarehouseClient {
  client: ClickHouseClient;
  /** 'embedded' (chDB in this process) or 'server' (HTTP). */
  mode: 'embedded' | 'server';
  /** Where the data is: the chDB path or the server URL with credentials masked. */
  location: string;
  /**
   * `INSERT INTO table (columns) SETTINGS … FORMAT …` with `body` as its data.
   * Embedded: chDB's raw insert, which hands the bytes to the engine's parser
   * as they are (the `client.exec` path turns them into a string appended to
   * the SQL), on the least busy connection. Server: `client.exec` over HTTP
   * with the same statement. Both fail with a `ClickHouseError` whose `code`
   * is the ClickHouse error code when the engine gave one (a bad row: '27',
   * '41', '469', …), otherwise with an Error without a code. Only the
   * statement's own settings apply on the embedded path, not `settings` of
   * the client (a server gets those too, as with every call).
   */
  insertRaw(insert: RawInsert): Promise<void>;
  close(): Promise<void>;
}

const IDENTIFIER = /^[A-Za-z_][A-Za-z0-9_]*$/;
const TABLE = /^[A-Za-z_][A-Za-z0-9_]*(\.[A-Za-z_][A-Za-z0-9_]*)?$/;

function sqlString(s: string): string {
  return `'${s.replace(/\\/g, '\\\\').replace(/'/g, "\\'")}'`;
}

/** Checks names and values and turns booleans into 0/1, so both engines get the same statement. */
function checkRawInsert(p: RawInsert): Record<string, string | number> {
  if (!TABLE.test(p.table)) throw new TypeError(`insertRaw: table must be name or db.name, got ${JSON.stringify(p.table)}`);
  if (p.columns.length === 0) throw new TypeError('insertRaw: columns must not be empty');
  for (const c of p.columns) if (!IDENTIFIER.test(c)) throw new TypeError(`insertRaw: bad column name ${JSON.stringify(c)}`);
  if (p.format !== 'TabSeparated') throw new TypeError(`insertRaw: unsupported format ${JSON.stringify(p.format)}`);
  const settings: Record<string, string | number> = {};
  for (const [k, v] of Object.entries(p.settings ?? {})) {
    if (!IDENTIFIER.test(k)) throw new TypeError(`insertRaw: bad setting name ${JSON.stringify(k)}`);
    if (typeof v === 'number' && !Number.isFinite(v)) throw new TypeError(`insertRaw: setting ${k} must be finite, got ${v}`);
    settings[k] = typeof v === 'boolean' ? Number(v) : v;
  }
  return settings;
}

/** The statement the server path sends (chDB builds the same one from the same parts). */
export function rawInsertStatement(p: RawInsert): string {
  const settings = Object.entries(checkRawInsert(p)).map(([k, v]) => `${k} = ${typeof v === 'string' ? sqlString(v) : v}`);
  return `INSERT INTO ${p.table} (${p.columns.join(', ')})${settings.length ? ` SETTINGS ${settings.join(', ')}` : ''} FORMAT ${p.format}`;
}

/**
 * chDB's insert errors carry the ClickHouse code as a number in
 * `clickhouseCode` and `code: 'CHDB_INSERT'`; the exec path gives a
 * ClickHouseError with the code as a string. Callers classify errors by that
 * code (bad data or not), so give them the exec path's shape.
 */
function asClickHouseError(err: unknown): Error {
  const e = err instanceof Error ? err : new Error(String(err));
  const chCode = (e as { clickhouseCode?: unknown }).clickhouseCode;
  const parsed = parseError(e.message);
  let mapped: Error;
  if (typeof chCode === 'number')
    mapped = new ClickHouseError({
      message: parsed instanceof ClickHouseError ? parsed.message : e.message,
      code: String(chCode),
      type: parsed instanceof ClickHouseError ? parsed.type : undefined,
    });
  else mapped = parsed instanceof ClickHouseError ? parsed : new Error(e.message);
  mapped.cause = e;
  return mapped;
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
    async function insertRaw(p: RawInsert): Promise<void> {
      const query = rawInsertStatement(p);
      if (p.body.length === 0) return;
      const res = await client.exec({ query, values: Readable.from([p.body]) });
      res.stream.resume();
    }
    return { client, mode: 'server', location: u.toString(), insertRaw, close: () => client.close() };
  }
  const dir = path.resolve(opts.dataDir, 'clickhouse');
  fs.mkdirSync(dir, { recursive: true });
  const n = opts.connections ?? 1;
  if (!Number.isInteger(n) || n < 1) throw new RangeError(`connections must be a positive integer, got ${n}`);
  const conns = Array.from({ length: n }, () => createChdbConnection({ path: dir }));
  const pool = n === 1 ? null : new ConnectionPool(conns);
  const client = createClient({
    // chdb types against its own copy of @clickhouse/client-common; the runtime contract is the same.
    connection: (pool ?? conns[0]) as unknown as ClientConnection,
    clickhouse_settings: settings,
  });
  async function insertRaw(p: RawInsert): Promise<void> {
    const settings = checkRawInsert(p);
    if (p.body.length === 0) return;
    const params = { table: p.table, columns: p.columns, settings, format: p.format, values: p.body };
    try {
      if (pool) await pool.rawInsert(params);
      else await conns[0]!.chdb.rawInsert(params);
    } catch (err) {
      throw asClickHouseError(err);
    }
  }
  return { client, mode: 'embedded', location: dir, insertRaw, close: () => client.close() };
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
  rawInsert(p: Parameters<ChdbConnection['chdb']['rawInsert']>[0]) {
    return this.#on((c) => c.chdb.rawInsert(p));
  }
  ping(p: Parameters<ChdbConnection['ping']>[0]) {
    return this.#on((c) => c.ping(p));
  }
  async close() {
    await Promise.all(this.#conns.map((c) => c.close()));
  }
}

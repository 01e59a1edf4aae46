/**
 * Consent opt-out on the warehouse side. A purge records a tombstone per
 * visitor key in `activity.purged_visitors` (migration 0003) and deletes the
 * visitor's rows from `activity.events`. The processor keeps the tombstones
 * in memory and drops every row of a tombstoned visitor received at or before
 * the purge time before it inserts, so a Kafka replay or redelivery does not
 * bring the rows back; rows received later (the visitor came back) are kept.
 *
 * The rollups (`activity.rollups`, filled by a materialized view) hold sums
 * and uniq states that cannot be taken apart per visitor: they keep counting
 * the purged events. They carry no visitor key.
 */
import type { ClickHouseClient } from '@storepulse/warehouse';
import { recloseSearchOutcomeDays, searchOutcomeDaysOf } from '@storepulse/warehouse';
import { EVENTS_TABLE, WAREHOUSE_DATABASE } from '@storepulse/contracts';

export const TOMBSTONES_TABLE = 'purged_visitors';

/** In-memory tombstones: visitor key -> purge time (epoch ms). Pure. */
export class Tombstones {
  readonly #at = new Map<string, number>();

  /** Records a purge; an earlier time never replaces a later one. */
  set(userKey: string, at: number): void {
    const prev = this.#at.get(userKey);
    if (prev === undefined || at > prev) this.#at.set(userKey, at);
  }

  /**
   * Takes the table's view. A key missing from it expired there and goes;
   * a key purged here but not (yet) visible there is kept.
   */
  replace(loaded: ReadonlyMap<string, number>, keepSince: number): void {
    for (const [k, at] of this.#at) if (!loaded.has(k) && at < keepSince) this.#at.delete(k);
    for (const [k, at] of loaded) this.set(k, at);
  }

  /** True when an event of `userKey` received at `receivedAt` belongs to erased history. */
  isPurged(userKey: string | undefined, receivedAt: number): boolean {
    if (userKey === undefined) return false;
    const at = this.#at.get(userKey);
    return at !== undefined && receivedAt <= at;
  }

  /** The rows to insert, without those of purged history. */
  keep<R extends { userKey?: string | undefined; receivedAt: number }>(rows: R[]): R[] {
    if (this.#at.size === 0) return rows;
    return rows.filter((r) => !this.isPurged(r.userKey, r.receivedAt));
  }

  get size(): number {
    return this.#at.size;
  }
}

export interface WarehousePurgeOptions {
  /** Visitor keys (`u:<user_id>` / `a:<anonymous_id>`). */
  userKeys: readonly string[];
  /** Purge time (epoch ms). */
  at: number;
  /** When the tombstone may go (epoch ms); must be later than the Kafka retention allows a replay. */
  expiresAt: number;
  /** `ON CLUSTER <name>` for a cluster; unset on one node or the embedded engine. */
  onCluster?: string | undefined;
  database?: string;
}

export interface WarehousePurgeResult {
  /** Rows deleted from activity.events. */
  rowsDeleted: number;
  /** Rows deleted per table: activity.events and every other table keyed by visitor (e.g. search_clicks). */
  tables: Record<string, number>;
}

const ms = (t: number) => new Date(t).toISOString().replace('T', ' ').replace('Z', '');

/** Reads the live tombstones of the table: visitor key -> latest purge time (epoch ms). */
export async function loadTombstones(client: ClickHouseClient, database = WAREHOUSE_DATABASE): Promise<Map<string, number>> {
  const rs = await client.query({
    query: `SELECT user_key, toUnixTimestamp64Milli(max(purged_at)) AS at FROM ${database}.${TOMBSTONES_TABLE}
            WHERE expires_at > now() GROUP BY user_key`,
    format: 'JSONEachRow',
  });
  const out = new Map<string, number>();
  for (const r of await rs.json<{ user_key: string; at: number | string }>()) out.set(r.user_key, Number(r.at));
  return out;
}

/** The anonymous ids a proven user was seen with (their identify events and visits): the user's linked history. */
export async function linkedAnonymousIds(client: ClickHouseClient, userKey: string, database = WAREHOUSE_DATABASE): Promise<string[]> {
  const rs = await client.query({
    query: `SELECT DISTINCT anonymous_id FROM ${database}.${EVENTS_TABLE} WHERE user_key = {k:String} AND anonymous_id != '' LIMIT 10000`,
    query_params: { k: userKey },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ anonymous_id: string }>()).map((r) => r.anonymous_id);
}

/**
 * The tables that hold rows per visitor: every MergeTree table of the
 * database with a `user_key` column (activity.events, and tables that views
 * fill from it row by row, such as search_clicks), apart from the tombstones.
 */
export async function visitorTables(client: ClickHouseClient, database = WAREHOUSE_DATABASE): Promise<string[]> {
  const rs = await client.query({
    query: `SELECT c.table AS name FROM system.columns AS c INNER JOIN system.tables AS t ON t.database = c.database AND t.name = c.table
            WHERE c.database = {db:String} AND c.name = 'user_key' AND t.engine LIKE '%MergeTree' AND c.table != {tomb:String}
            ORDER BY c.table != {events:String}, c.table`,
    query_params: { db: database, tomb: TOMBSTONES_TABLE, events: EVENTS_TABLE },
    format: 'JSONEachRow',
  });
  return (await rs.json<{ name: string }>()).map((r) => r.name);
}

/**
 * Records the tombstones, then deletes the visitors' rows from every table
 * keyed by visitor with a synchronous mutation (`ALTER TABLE … DELETE`: the
 * parts are rewritten, not masked as a lightweight DELETE would). The caller
 * makes sure no insert of these visitors runs concurrently (the processor
 * holds its insert lock and already filters by the tombstones).
 */
export async function purgeWarehouse(client: ClickHouseClient, o: WarehousePurgeOptions): Promise<WarehousePurgeResult> {
  const db = o.database ?? WAREHOUSE_DATABASE;
  const keys = [...new Set(o.userKeys)];
  if (keys.length === 0) return { rowsDeleted: 0, tables: {} };
  const onCluster = o.onCluster ? `ON CLUSTER ${o.onCluster}` : '';
  await client.insert({
    table: `${db}.${TOMBSTONES_TABLE}`,
    values: keys.map((user_key) => ({ user_key, purged_at: ms(o.at), expires_at: ms(o.expiresAt).slice(0, 19) })),
    format: 'JSONEachRow',
  });
  // The closed search outcomes (warehouse 0005) count these visitors too:
  // their days are recomputed once the rows are gone.
  const outcomeDays = await searchOutcomeDaysOf(client, keys, db);
  const tables: Record<string, number> = {};
  for (const table of await visitorTables(client, db)) {
    const rs = await client.query({
      query: `SELECT count() AS n FROM ${db}.${table} WHERE user_key IN {keys:Array(String)}`,
      query_params: { keys },
      format: 'JSONEachRow',
    });
    const n = Number((await rs.json<{ n: number | string }>())[0]?.n ?? 0);
    tables[table] = n;
    if (n === 0) continue;
    // mutations_sync in the statement, not as a client setting: the embedded
    // engine applies client settings with SET on a shared session.
    await client.command({
      query: `ALTER TABLE ${db}.${table} ${onCluster} DELETE WHERE user_key IN {keys:Array(String)} SETTINGS mutations_sync = 2`,
      query_params: { keys },
    });
  }
  await recloseSearchOutcomeDays(client, outcomeDays, db);
  return { rowsDeleted: tables[EVENTS_TABLE] ?? 0, tables };
}

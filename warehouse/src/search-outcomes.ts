/**
 * The search-outcomes "closer" (migration 0005). content-gaps and
 * search-conversion pair each search with the clicks of its session in the
 * next 30 minutes. Once an hour can no longer change (its searches' windows
 * are over, plus a lateness allowance), the closer stores per site, hour and
 * keyword what both reports need in activity.search_outcomes_hourly; the
 * reports read those rows for the closed hours and pair only the open tail.
 *
 * - The horizon: every hour before it is closed. A run moves it to
 *   floor_hour(now - 30 min - allowance) and closes the hours in between.
 * - Late rows: a run re-closes each closed hour that received rows in
 *   activity.search_clicks (by `inserted_at`) since the previous run, and the
 *   hour before it (a late click pairs with searches up to 30 min earlier).
 * - Idempotent: the unit of work is one day, recomputed whole from
 *   search_clicks into a staging table and swapped in with REPLACE PARTITION
 *   (atomic), so re-running never double counts.
 * - Consent purge: `searchOutcomeDaysOf` before the rows are deleted,
 *   `recloseSearchOutcomeDays` after (processors/analytics/src/purge.ts).
 */
import { randomBytes } from 'node:crypto';
import type { ClickHouseClient } from '@clickhouse/client';
import { WAREHOUSE_DATABASE } from '@storepulse/contracts';
import { assertIdentifier } from './sql.ts';

/** Default lateness allowance: an hour is closed 30 min + this after its end. */
export const DEFAULT_SEARCH_OUTCOMES_ALLOWANCE_MS = 3_600_000;
/** Rows inserted this long before a run started are looked at again by the next run (inserts in flight). */
const IN_FLIGHT_MARGIN_MS = 5 * 60_000;
const HOUR = 3_600_000;
const DAY = 86_400_000;
const WINDOW = 30 * 60_000;

export interface SearchOutcomesOptions {
  database?: string | undefined;
  /** Lateness allowance in ms (default 1 h). */
  allowanceMs?: number | undefined;
  /** The clock (epoch ms) that sets the horizon; default the engine's now. */
  now?: number | undefined;
  /**
   * Runs each day's rewrite; the analytics processor passes its insert lock
   * so that a rewrite never runs beside an insert or a purge of the embedded engine.
   */
  withLock?: (<T>(fn: () => Promise<T>) => Promise<T>) | undefined;
  /** Rows inserted up to this long before the previous run began are looked at again (inserts in flight); default 5 min. */
  inFlightMarginMs?: number | undefined;
  /** Stops between two days (the horizon is then not moved; the days done stay correct). */
  signal?: AbortSignal | undefined;
}

export interface CloseSearchOutcomesResult {
  /** The closed horizon after this run (ISO). */
  horizon: string;
  /** Days rewritten (ISO dates). */
  days: string[];
  /** Of those, the days re-closed because rows arrived after the previous run. */
  lateDays: string[];
  elapsedMs: number;
}

const chTime = (ms: number) => new Date(ms).toISOString().replace('T', ' ').slice(0, 19);
const isoDay = (ms: number) => new Date(ms).toISOString().slice(0, 10);

async function rows<T>(client: ClickHouseClient, query: string, query_params: Record<string, unknown> = {}): Promise<T[]> {
  const rs = await client.query({ query, query_params, format: 'JSONEachRow' });
  return rs.json<T>();
}

async function readState(client: ClickHouseClient, db: string): Promise<{ horizon: number; checkedAt: number; serverNow: number }> {
  const [r] = await rows<{ h: number | string; c: number | string; n: number | string }>(
    client,
    `SELECT toUnixTimestamp(max(horizon)) * 1000 AS h, toUnixTimestamp64Milli(max(checked_at)) AS c,
            toUnixTimestamp64Milli(now64(3)) AS n FROM ${db}.search_outcomes_state`,
  );
  return { horizon: Number(r?.h ?? 0), checkedAt: Number(r?.c ?? 0), serverNow: Number(r?.n ?? Date.now()) };
}

/** The closed horizon for a clock reading: hours ending 30 min + allowance ago. */
export function searchOutcomesHorizon(now: number, allowanceMs = DEFAULT_SEARCH_OUTCOMES_ALLOWANCE_MS): number {
  return Math.floor((now - WINDOW - allowanceMs) / HOUR) * HOUR;
}

/**
 * The outcomes of the searches in [from, to) (hour-aligned), per all_sites,
 * site, hour and keyword, with the reports' rules: pairing per (site,
 * session), or per session alone for all_sites = 1; clicks up to 30 minutes
 * after `to`; content-gaps dedups searches on (event_id, date, keyword,
 * user_key, zero_results), search-conversion on (event_id, date, keyword).
 */
function outcomesSelect(db: string): string {
  return `
WITH per_session AS (
    SELECT
        scope,
        session,
        groupUniqArrayIf((event_id, date, keyword, user_key, zero_results = 1), kind = 0 AND date < {to:DateTime('UTC')}) AS gap_searches,
        groupUniqArrayIf((event_id, date, keyword), kind = 0 AND date < {to:DateTime('UTC')}) AS conv_searches,
        groupArrayIf(date, kind != 0) AS clicks,
        groupArrayIf(date, kind = 2) AS product_clicks
    FROM ${db}.search_clicks
    ARRAY JOIN [(toUInt8(0), toString(site)), (toUInt8(1), '')] AS scope
    WHERE date >= {from:DateTime('UTC')} AND date < {to:DateTime('UTC')} + INTERVAL 30 MINUTE
    GROUP BY scope, session
)
SELECT
    scope.1 AS all_sites,
    scope.2 AS site,
    toUInt8(0) AS whole_day,
    toStartOfHour(s.3) AS hour,
    s.4 AS keyword,
    countIf(s.1 = 0) AS searches,
    countIf(s.1 = 0 AND NOT arrayExists(c -> c > s.3 AND c <= s.3 + INTERVAL 30 MINUTE, clicks)) AS searches_without_click,
    countIf(s.1 = 0 AND s.6) AS zero_result_searches,
    groupUniqArrayIf(sipHash64(s.5), s.1 = 0) AS visitor_hashes,
    countIf(s.1 = 1) AS conversion_searches,
    countIf(s.1 = 1 AND arrayExists(c -> c > s.3 AND c <= s.3 + INTERVAL 30 MINUTE, product_clicks)) AS converted
FROM per_session
ARRAY JOIN arrayConcat(
    arrayMap(x -> (toUInt8(0), x.1, x.2, x.3, x.4, x.5), gap_searches),
    arrayMap(x -> (toUInt8(1), x.1, x.2, x.3, '', false), conv_searches)
) AS s
WHERE s.4 != ''
GROUP BY all_sites, site, hour, keyword`;
}

/** A whole day's row per keyword from its 24 hourly rows (same sums, the union of the visitor hashes). */
function dayTotalSelect(stage: string): string {
  return `
SELECT all_sites, site, toUInt8(1), toStartOfDay(hour) AS day, keyword,
       sum(searches), sum(searches_without_click), sum(zero_result_searches), groupUniqArrayArray(visitor_hashes),
       sum(conversion_searches), sum(converted)
FROM ${stage}
WHERE whole_day = 0 AND hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}
GROUP BY all_sites, site, day, keyword`;
}

const COLUMNS =
  'all_sites, site, whole_day, hour, keyword, searches, searches_without_click, zero_result_searches, visitor_hashes, conversion_searches, converted';

/** A staging table for one run (REPLACE PARTITION needs the same structure, partition and order). */
async function withStage<T>(client: ClickHouseClient, db: string, fn: (stage: string) => Promise<T>): Promise<T> {
  const stage = `${db}.search_outcomes_stage_${randomBytes(6).toString('hex')}`;
  await client.command({
    query: `CREATE TABLE ${stage} AS ${db}.search_outcomes_hourly
            ENGINE = MergeTree PARTITION BY toYYYYMMDD(hour) ORDER BY (all_sites, site, whole_day, hour, keyword)`,
  });
  try {
    return await fn(stage);
  } finally {
    await client.command({ query: `DROP TABLE IF EXISTS ${stage} SYNC` }).catch(() => {});
  }
}

/**
 * Rewrites the closed hours of one day, [day, min(day + 1 d, horizon)):
 * those before `keepBefore` copied from the day's current rows (closed
 * before and unchanged), the others recomputed from search_clicks; plus the
 * whole-day rows once all 24 hours are closed. Then swaps the day in.
 */
async function rewriteDay(
  client: ClickHouseClient,
  db: string,
  stage: string,
  day: number,
  horizon: number,
  keepBefore: number = day,
): Promise<void> {
  const to = Math.min(day + DAY, horizon);
  const partition = isoDay(day).replaceAll('-', '');
  const computeFrom = Math.min(Math.max(day, keepBefore), to);
  if (to > day) {
    if (computeFrom > day) {
      await client.command({
        query: `INSERT INTO ${stage} (${COLUMNS}) SELECT ${COLUMNS} FROM ${db}.search_outcomes_hourly
                WHERE whole_day = 0 AND hour >= {from:DateTime('UTC')} AND hour < {to:DateTime('UTC')}`,
        query_params: { from: chTime(day), to: chTime(computeFrom) },
      });
    }
    if (to > computeFrom) {
      await client.command({
        query: `INSERT INTO ${stage} (${COLUMNS}) ${outcomesSelect(db)}`,
        query_params: { from: chTime(computeFrom), to: chTime(to) },
      });
    }
    if (to === day + DAY) {
      await client.command({
        query: `INSERT INTO ${stage} (${COLUMNS}) ${dayTotalSelect(stage)}`,
        query_params: { from: chTime(day), to: chTime(to) },
      });
    }
  }
  // With nothing staged for the day, this empties the day's partition.
  await client.command({ query: `ALTER TABLE ${db}.search_outcomes_hourly REPLACE PARTITION ID '${partition}' FROM ${stage}` });
  await client.command({ query: `ALTER TABLE ${stage} DROP PARTITION ID '${partition}'` });
}

/**
 * One run of the closer: moves the horizon, closes the new hours and
 * re-closes the hours that received late rows. Safe to run again at any
 * time, or from two processes (each day is swapped in whole).
 */
export async function closeSearchOutcomes(client: ClickHouseClient, opts: SearchOutcomesOptions = {}): Promise<CloseSearchOutcomesResult> {
  const t0 = performance.now();
  const db = assertIdentifier('database', opts.database ?? WAREHOUSE_DATABASE);
  const allowance = opts.allowanceMs ?? DEFAULT_SEARCH_OUTCOMES_ALLOWANCE_MS;
  if (!Number.isFinite(allowance) || allowance < 0) throw new Error(`search outcomes allowance must be >= 0 ms, got ${allowance}`);
  const withLock = opts.withLock ?? (<T>(fn: () => Promise<T>) => fn());
  const prev = await readState(client, db);
  // Taken before anything is read: a row inserted from now on is looked at by the next run.
  const checkedAt = prev.serverNow;
  const margin = opts.inFlightMarginMs ?? IN_FLIGHT_MARGIN_MS;
  const horizon = Math.max(prev.horizon, searchOutcomesHorizon(opts.now ?? prev.serverNow, allowance));

  // day -> hours before this are kept as they are (the rest is recomputed)
  const days = new Map<number, number>();
  const late = new Set<number>();
  if (prev.horizon === 0) {
    // First run: every day with rows before the horizon.
    const found = await rows<{ d: number | string }>(
      client,
      `SELECT DISTINCT toUnixTimestamp(toStartOfDay(date)) * 1000 AS d FROM ${db}.search_clicks WHERE date < {h:DateTime('UTC')}`,
      { h: chTime(horizon) },
    );
    for (const r of found) days.set(Number(r.d), Number(r.d));
  } else {
    // The newly closed hours; the hours this day had closed before stay.
    if (horizon > prev.horizon) for (let d = Math.floor(prev.horizon / DAY) * DAY; d < horizon; d += DAY) days.set(d, prev.horizon);
    // Rows written since the previous run into hours it had closed (or into
    // the 30 minutes after them, where a click pairs with an earlier search).
    const found = await rows<{ d: number | string }>(
      client,
      `SELECT DISTINCT toUnixTimestamp(arrayJoin([toStartOfDay(date), toStartOfDay(date - INTERVAL 30 MINUTE)])) * 1000 AS d
       FROM ${db}.search_clicks
       WHERE inserted_at >= {since:DateTime64(3, 'UTC')} AND date < {h:DateTime('UTC')} + INTERVAL 30 MINUTE`,
      {
        since: new Date(prev.checkedAt - margin).toISOString().replace('T', ' ').slice(0, 23),
        h: chTime(prev.horizon),
      },
    );
    for (const r of found) {
      const d = Number(r.d);
      if (d < prev.horizon) {
        late.add(d);
        days.set(d, d);
      }
    }
  }
  const sorted = [...days.keys()].sort((a, b) => a - b);
  await withStage(client, db, async (stage) => {
    for (const d of sorted) {
      if (opts.signal?.aborted) return;
      await withLock(() => rewriteDay(client, db, stage, d, horizon, days.get(d)));
    }
  });
  if (opts.signal?.aborted) {
    return { horizon: new Date(prev.horizon).toISOString(), days: [], lateDays: [], elapsedMs: Math.round(performance.now() - t0) };
  }
  if (horizon !== prev.horizon || sorted.length > 0 || prev.checkedAt === 0) {
    // After the first run the next one looks from this run's start, without
    // the in-flight margin: this run read every day whole, and the rows 0005
    // found in search_clicks carry the migration's time, which the margin
    // would otherwise catch, making the second run redo the whole history.
    const recorded = prev.horizon === 0 ? checkedAt + margin : checkedAt;
    await client.insert({
      table: `${db}.search_outcomes_state`,
      values: [{ horizon: chTime(horizon), checked_at: new Date(recorded).toISOString().replace('T', ' ').slice(0, 23) }],
      format: 'JSONEachRow',
    });
  }
  return {
    horizon: new Date(horizon).toISOString(),
    days: sorted.map(isoDay),
    lateDays: [...late].sort((a, b) => a - b).map(isoDay),
    elapsedMs: Math.round(performance.now() - t0),
  };
}

async function hasOutcomes(client: ClickHouseClient, db: string): Promise<boolean> {
  const r = await rows<{ n: number | string }>(
    client,
    `SELECT count() AS n FROM system.tables WHERE database = {db:String} AND name = 'search_outcomes_state'`,
    { db },
  );
  return Number(r[0]?.n ?? 0) > 0;
}

/**
 * The closed days that hold rows of these visitors (or the 30 minutes
 * after them): call before deleting the rows, then `recloseSearchOutcomeDays`.
 * Empty before migration 0005.
 */
export async function searchOutcomeDaysOf(
  client: ClickHouseClient,
  userKeys: readonly string[],
  database: string = WAREHOUSE_DATABASE,
): Promise<number[]> {
  const db = assertIdentifier('database', database);
  if (userKeys.length === 0 || !(await hasOutcomes(client, db))) return [];
  const { horizon } = await readState(client, db);
  if (horizon === 0) return [];
  const found = await rows<{ d: number | string }>(
    client,
    `SELECT DISTINCT toUnixTimestamp(arrayJoin([toStartOfDay(date), toStartOfDay(date - INTERVAL 30 MINUTE)])) * 1000 AS d
     FROM ${db}.search_clicks WHERE user_key IN {keys:Array(String)} AND date < {h:DateTime('UTC')} + INTERVAL 30 MINUTE`,
    { keys: [...userKeys], h: chTime(horizon) },
  );
  return found
    .map((r) => Number(r.d))
    .filter((d) => d < horizon)
    .sort((a, b) => a - b);
}

/**
 * Recomputes these days' closed hours from search_clicks as it is now (after
 * a purge). The caller holds the insert lock if it needs one. A day is never
 * shrunk below the hours it already holds, so a closer run moving the
 * horizon at the same time loses nothing.
 */
export async function recloseSearchOutcomeDays(
  client: ClickHouseClient,
  days: readonly number[],
  database: string = WAREHOUSE_DATABASE,
): Promise<void> {
  const db = assertIdentifier('database', database);
  if (days.length === 0) return;
  const { horizon } = await readState(client, db);
  await withStage(client, db, async (stage) => {
    for (const d of days) {
      const [r] = await rows<{ h: number | string }>(
        client,
        `SELECT toUnixTimestamp(max(hour)) * 1000 AS h FROM ${db}.search_outcomes_hourly
         WHERE whole_day = 0 AND hour >= {d:DateTime('UTC')} AND hour < {d:DateTime('UTC')} + INTERVAL 1 DAY`,
        { d: chTime(d) },
      );
      const held = Number(r?.h ?? 0) > 0 ? Number(r!.h) + HOUR : 0;
      await rewriteDay(client, db, stage, d, Math.max(horizon, held));
    }
  });
}

export interface SearchOutcomesCloser {
  /** Stops the timer and waits for a run in progress (it stops at the next day). */
  stop(): Promise<void>;
  /** Runs once now (or waits for the run in progress); for tests and tools. */
  runNow(): Promise<CloseSearchOutcomesResult | undefined>;
}

export interface SearchOutcomesCloserOptions extends Omit<SearchOutcomesOptions, 'now' | 'signal'> {
  /** Pause between runs (ms); the first run starts at once. */
  intervalMs: number;
  logger?: { info(obj: object, msg?: string): void; warn(obj: object, msg?: string): void } | undefined;
}

/**
 * Runs the closer now and then every `intervalMs`, one run at a time, in
 * the process that owns the warehouse client (the analytics processor).
 * A failed run is logged and retried at the next tick; the reports stay
 * correct meanwhile (they compute whatever is not closed).
 */
export function startSearchOutcomesCloser(client: ClickHouseClient, opts: SearchOutcomesCloserOptions): SearchOutcomesCloser {
  const abort = new AbortController();
  let running: Promise<CloseSearchOutcomesResult | undefined> | null = null;
  const run = (): Promise<CloseSearchOutcomesResult | undefined> => {
    if (running) return running;
    running = closeSearchOutcomes(client, { ...opts, signal: abort.signal })
      .then((r) => {
        if (r.days.length > 0) opts.logger?.info({ ...r, days: r.days.length }, 'search outcomes closed');
        return r;
      })
      .catch((err: unknown) => {
        opts.logger?.warn({ err }, 'search outcomes closer failed; the reports compute the open hours, retrying at the next tick');
        return undefined;
      })
      .finally(() => {
        running = null;
      });
    return running;
  };
  void run();
  const timer = setInterval(() => void run(), opts.intervalMs);
  timer.unref?.();
  return {
    async stop() {
      clearInterval(timer);
      abort.abort();
      await running;
    },
    runNow: () => run(),
  };
}

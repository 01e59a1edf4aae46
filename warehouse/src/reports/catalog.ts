/**
 * The report catalog and its parameter rules (pure apart from reading the
 * SQL files once). Every filter reaches ClickHouse only as a typed query
 * parameter ({name:Type}); nothing from a request is ever spliced into SQL.
 */
import fs from 'node:fs';
import { fileURLToPath } from 'node:url';
import { ReportRequestError } from '../errors.ts';
import { chDateTime, parseTime } from './time.ts';

export const REPORTS_DIR = fileURLToPath(new URL('../../reports/', import.meta.url));

export type ParamName = 'since' | 'until' | 'site' | 'limit' | 'keyword' | 'page' | 'kind' | 'interval';

export interface ReportDefinition {
  name: string;
  title: string;
  description: string;
  /** Parameters this report accepts besides since/until/site. */
  extra: ParamName[];
  /** Reads raw events rather than rollups (slower over long ranges). */
  raw?: boolean;
}

export const REPORTS: readonly ReportDefinition[] = Object.freeze([
  {
    name: 'top-searches',
    title: 'Top searches',
    description: 'Most searched keywords (normalized), searches and distinct visitors',
    extra: ['limit', 'keyword'],
  },
  {
    name: 'content-gaps',
    title: 'Searches without a click',
    description: 'Keywords whose searches were not followed by a click in the same session within 30 minutes',
    extra: ['limit', 'keyword'],
    raw: true,
  },
  {
    name: 'search-conversion',
    title: 'Search to product click',
    description: 'Share of searches followed by a product click in the same session within 30 minutes',
    extra: ['limit', 'keyword'],
    raw: true,
  },
  {
    name: 'scroll-depth',
    title: 'Scroll depth per page',
    description: 'Scroll events and visitors per depth bucket (0/25/50/75/100 %) for the most scrolled pages',
    extra: ['limit', 'page'],
  },
  {
    name: 'active-visitors',
    title: 'Active visitors and sessions',
    description: 'Events, page views, distinct visitors and sessions per minute, hour or day',
    extra: ['interval'],
  },
  {
    name: 'top-clicks',
    title: 'Top clicked products and elements',
    description: 'Clicks and visitors per product, promotion or element',
    extra: ['limit', 'kind'],
  },
  { name: 'top-pages', title: 'Top pages', description: 'Page views and distinct visitors per page', extra: ['limit', 'page'] },
  {
    name: 'promotions',
    title: 'Promotions',
    description: 'Impressions, clicks and click-through rate per promotion, personalized vs default',
    extra: ['limit'],
  },
  {
    name: 'promotion-lift',
    title: 'Promotion lift',
    description: 'Click-through rate of personalized vs default promotions and the lift over default',
    extra: [],
  },
]);

const BY_NAME = new Map(REPORTS.map((r) => [r.name, r]));
const sqlCache = new Map<string, string>();

export function reportSql(name: string): string {
  let sql = sqlCache.get(name);
  if (sql === undefined) {
    sql = expandMacros(fs.readFileSync(new URL(`${name}.sql`, `file://${REPORTS_DIR}`), 'utf8'));
    sqlCache.set(name, sql);
  }
  return sql;
}

const SINCE_HOUR = "toStartOfHour({since:DateTime64(3, 'UTC')})";
const UNTIL = "{until:DateTime64(3, 'UTC')}";
const FIRST_FULL_DAY = `if(toStartOfDay(${SINCE_HOUR}) = ${SINCE_HOUR}, ${SINCE_HOUR}, toStartOfDay(${SINCE_HOUR}) + INTERVAL 1 DAY)`;
const END_OF_FULL_DAYS = `toStartOfDay(${UNTIL})`;

/**
 * `{{ROLLUP_RANGE:search}}` (or a comma-separated list of metrics) selects
 * the rollup rows covering [since, until): daily rows for the whole days in
 * the range, hourly rows for the partial days at its edges.
 */
function rollupRange(metrics: string[]): string {
  for (const m of metrics) if (!/^[a-z_]+$/.test(m)) throw new Error(`bad metric name in report macro: ${m}`);
  const hourly = metrics.map((m) => `'${m}'`).join(', ');
  const daily = metrics.map((m) => `'${m}/day'`).join(', ');
  return (
    `((metric IN (${hourly}) AND bucket >= ${SINCE_HOUR} AND bucket < ${UNTIL}` +
    ` AND NOT (bucket >= ${FIRST_FULL_DAY} AND bucket < ${END_OF_FULL_DAYS}))` +
    ` OR (metric IN (${daily}) AND bucket >= ${FIRST_FULL_DAY} AND bucket < ${END_OF_FULL_DAYS}))`
  );
}

/**
 * The two reports on search outcomes (content-gaps, search-conversion) split
 * [since, until) the same way (migration 0005): the whole hours in
 * [cache_from, cache_to) come from activity.search_outcomes_hourly (day rows
 * for the whole days [first_day, end_days), hourly rows at the edges), the
 * rest (a partial first hour, the hours from the closed horizon to `until`)
 * is paired at query time from activity.search_clicks, with the clicks up to
 * 30 minutes after it. With no closed hour that is the whole range.
 *
 * `{{OUTCOMES_BOUNDS}}`: the WITH items naming those bounds (and
 * keyword_filter, the normalized `keyword` parameter).
 */
const OUTCOMES_BOUNDS = `{since:DateTime64(3, 'UTC')} AS since_t,
    {until:DateTime64(3, 'UTC')} AS until_t,
    (SELECT max(horizon) FROM activity.search_outcomes_state) AS horizon,
    toDateTime(if(toStartOfHour(since_t) = since_t, toStartOfHour(since_t), toStartOfHour(since_t) + INTERVAL 1 HOUR), 'UTC') AS cache_from,
    greatest(cache_from, least(toDateTime(toStartOfHour(until_t), 'UTC'), horizon)) AS cache_to,
    if(toStartOfDay(cache_from) = cache_from, cache_from, toStartOfDay(cache_from) + INTERVAL 1 DAY) AS first_day,
    greatest(first_day, toStartOfDay(cache_to)) AS end_days,
    lowerUTF8(trimBoth(replaceRegexpAll({keyword:String}, '\\\\s+', ' '))) AS keyword_filter`;

/**
 * `{{OUTCOMES_CACHED_ROWS}}`: the WHERE of the cached rows (site, range,
 * keyword filter) in activity.search_outcomes_hourly.
 */
const OUTCOMES_CACHED_ROWS = `all_sites = ({site:String} = '') AND site = {site:String}
      AND ((whole_day = 0 AND hour >= cache_from AND hour < cache_to AND (hour < first_day OR hour >= end_days))
           OR (whole_day = 1 AND hour >= first_day AND hour < end_days))
      AND ({keyword:String} = '' OR positionUTF8(keyword, keyword_filter) > 0)`;

/**
 * `{{OUTCOMES_OPEN_ROWS}}`: the WHERE of the activity.search_clicks rows the
 * open part pairs: both time ranges in one read (two reads cost the planner
 * ~9 ms more), each also on the sort key's hour so that it skips granules.
 */
const OUTCOMES_OPEN_ROWS = `({site:String} = '' OR site = {site:String})
          AND ((date >= since_t
                AND date < least(until_t, toDateTime64(cache_from, 3, 'UTC')) + INTERVAL 30 MINUTE
                AND toStartOfHour(date) >= toStartOfHour(since_t)
                AND toStartOfHour(date) <= toStartOfHour(least(until_t, toDateTime64(cache_from, 3, 'UTC')) + INTERVAL 30 MINUTE))
            OR (date >= greatest(since_t, toDateTime64(cache_to, 3, 'UTC'))
                AND date < until_t + INTERVAL 30 MINUTE
                AND toStartOfHour(date) >= toStartOfHour(greatest(since_t, toDateTime64(cache_to, 3, 'UTC')))
                AND toStartOfHour(date) <= toStartOfHour(until_t + INTERVAL 30 MINUTE)))`;

const MACROS: Record<string, string> = { OUTCOMES_BOUNDS, OUTCOMES_CACHED_ROWS, OUTCOMES_OPEN_ROWS };

/** Expands the `{{…}}` macros of a report's SQL (also for the benches' copies of older SQL). */
export function expandMacros(sql: string): string {
  return sql.replace(/\{\{([A-Z_]+)(?::([a-z_,]+))?\}\}/g, (m, name: string, list?: string) => {
    if (name === 'ROLLUP_RANGE' && list) return rollupRange(list.split(','));
    const text = list === undefined ? MACROS[name] : undefined;
    if (text === undefined) throw new Error(`unknown report macro ${m}`);
    return text;
  });
}

export function findReport(name: string): ReportDefinition {
  const def = BY_NAME.get(name);
  if (!def) {
    throw new ReportRequestError(
      `unknown report ${JSON.stringify(name.slice(0, 80))}; available: ${REPORTS.map((r) => r.name).join(', ')}`,
      { code: 'unknown_report' },
    );
  }
  return def;
}

export interface ResolvedParams {
  /** What the caller asked for, normalized (times as ISO). */
  echo: Record<string, string | number>;
  /** What ClickHouse receives. */
  query: Record<string, string | number>;
}

const MAX_RANGE_MS = 400 * 86_400_000;
const KINDS = ['', 'product', 'promotion', 'element'];
const INTERVALS = ['minute', 'hour', 'day'];

function bad(param: string, message: string): never {
  throw new ReportRequestError(`parameter ${param} ${message}`, { code: 'bad_parameter', param });
}

function text(param: string, raw: string | undefined, max: number): string {
  if (raw === undefined) return '';
  if (raw.length > max) bad(param, `is longer than ${max} characters`);
  // Control characters are never part of a site, page or keyword.
  // eslint-disable-next-line no-control-regex
  if (/[\u0000-\u001f\u007f]/.test(raw)) bad(param, 'contains control characters');
  return raw;
}

/**
 * Checks and normalizes the query string of a report request. Unknown or
 * repeated parameters and malformed values are refused with a message that
 * names the parameter and the expected form.
 */
export function resolveParams(def: ReportDefinition, input: Record<string, unknown>, now: number): ResolvedParams {
  const allowed = new Set<string>(['since', 'until', 'site', ...def.extra]);
  const raw: Record<string, string> = {};
  for (const [k, v] of Object.entries(input)) {
    if (!allowed.has(k)) {
      throw new ReportRequestError(
        `unknown parameter ${JSON.stringify(k.slice(0, 40))} for report ${def.name}; allowed: ${[...allowed].join(', ')}`,
        { code: 'bad_parameter', param: k },
      );
    }
    if (typeof v !== 'string') bad(k, 'must be given once, as a plain value');
    raw[k] = v;
  }
  const sinceP = parseTime(raw.since ?? '24h', now);
  if (!sinceP.ok) bad('since', sinceP.message);
  const untilP = parseTime(raw.until ?? 'now', now);
  if (!untilP.ok) bad('until', untilP.message);
  if (sinceP.ms >= untilP.ms) bad('since', 'must be before until');
  if (untilP.ms - sinceP.ms > MAX_RANGE_MS) bad('since', 'is more than 400 days before until');

  const echo: Record<string, string | number> = { since: new Date(sinceP.ms).toISOString(), until: new Date(untilP.ms).toISOString() };
  const query: Record<string, string | number> = { since: chDateTime(sinceP.ms), until: chDateTime(untilP.ms) };
  const site = text('site', raw.site, 128);
  echo.site = site;
  query.site = site;
  for (const p of def.extra) {
    switch (p) {
      case 'limit': {
        const v = raw.limit ?? '20';
        if (!/^\d{1,4}$/.test(v) || Number(v) < 1 || Number(v) > 1000) bad('limit', 'must be a whole number from 1 to 1000');
        echo.limit = query.limit = Number(v);
        break;
      }
      case 'keyword':
        echo.keyword = query.keyword = text('keyword', raw.keyword, 256);
        break;
      case 'page':
        echo.page = query.page = text('page', raw.page, 1024);
        break;
      case 'kind': {
        const v = raw.kind ?? '';
        if (!KINDS.includes(v)) bad('kind', 'must be product, promotion or element');
        echo.kind = query.kind = v;
        break;
      }
      case 'interval': {
        const span = untilP.ms - sinceP.ms;
        const v = raw.interval ?? (span <= 3 * 3_600_000 ? 'minute' : span <= 3 * 86_400_000 ? 'hour' : 'day');
        if (!INTERVALS.includes(v)) bad('interval', 'must be minute, hour or day');
        echo.interval = query.interval = v;
        // Derived here rather than in SQL, so that ClickHouse sees plain
        // constants and can use the table's sort key.
        const step = v === 'minute' ? 60_000 : v === 'hour' ? 3_600_000 : 86_400_000;
        query.traffic_metric = v === 'minute' ? 'traffic' : `traffic/${v}`;
        query.visits_metric = v === 'minute' ? 'visits' : `visits/${v}`;
        query.bucket_from = chDateTime(Math.floor(sinceP.ms / step) * step).slice(0, 19);
        query.step_s = step / 1000;
        break;
      }
      default:
        break;
    }
  }
  return { echo, query };
}

/**
 * Report time ranges (pure). `since`/`until` accept a relative duration
 * counted back from now (`30s`, `15m`, `24h`, `7d`, `2w`), `now`, epoch
 * milliseconds, or an ISO 8601 date/time (UTC unless it names a zone).
 */
const RELATIVE = /^(\d{1,6})(s|m|h|d|w)$/;
const ISO = /^\d{4}-\d{2}-\d{2}([T ]\d{2}:\d{2}(:\d{2}(\.\d{1,6})?)?(Z|[+-]\d{2}:?\d{2})?)?$/;
const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };
const MIN_MS = Date.UTC(2000, 0, 1);
const MAX_MS = Date.UTC(2100, 0, 1);

export type TimeParse = { ok: true; ms: number } | { ok: false; message: string };

export function parseTime(raw: string, now: number): TimeParse {
  const v = raw.trim();
  if (v === 'now') return { ok: true, ms: now };
  const rel = RELATIVE.exec(v);
  if (rel) return { ok: true, ms: now - Number(rel[1]) * UNIT_MS[rel[2]!]! };
  if (/^\d{12,14}$/.test(v)) return inRange(Number(v));
  if (ISO.test(v)) {
    const hasZone = /(Z|[+-]\d{2}:?\d{2})$/.test(v) && v.length > 10;
    const text = v.length === 10 ? `${v}T00:00:00Z` : hasZone ? v.replace(' ', 'T') : `${v.replace(' ', 'T')}Z`;
    const ms = Date.parse(text);
    if (Number.isNaN(ms)) return { ok: false, message: 'is not a valid date' };
    return inRange(ms);
  }
  return {
    ok: false,
    message: 'expected a relative time like 15m, 24h, 7d, "now", epoch milliseconds, or an ISO date such as 2026-11-21T10:00:00Z',
  };
}

function inRange(ms: number): TimeParse {
  if (ms < MIN_MS || ms > MAX_MS) return { ok: false, message: 'must be between 2000-01-01 and 2100-01-01' };
  return { ok: true, ms };
}

/** ClickHouse DateTime64(3) text in UTC: 'YYYY-MM-DD hh:mm:ss.sss'. */
export function chDateTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/**
 * Kafka message -> ClickHouse row (pure, no I/O). Payloads are untrusted:
 * the shape is checked field by field, strings are capped, and anything that
 * is not an enriched event becomes a dead letter with a reason.
 */
import { isEventType, personalizationKey, type DeadLetter, type EventRow } from '@storepulse/contracts';
import { InvalidEventError } from './errors.ts';

export const MAX_MESSAGE_BYTES = 256 * 1024;
const MAX_PROPERTIES = 32;
const MAX_PROPERTY_KEY = 64;
const MAX_PROPERTY_VALUE = 512;
/** Years 1..9999: what a DateTime64 text form can carry. The table's constraint narrows it further. */
const MIN_MS = -62135596800000;
const MAX_MS = 253402300799999;

type Obj = Record<string, unknown>;

function isObj(v: unknown): v is Obj {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

// A lone UTF-16 surrogate (legal in JSON text as "\ud800") cannot be encoded
// as UTF-8, and ClickHouse refuses the whole insert for it; a retry cannot
// help, so it would stall the partition. Replace it, as TextEncoder would.
const LONE_SURROGATE = /[\uD800-\uDBFF](?![\uDC00-\uDFFF])|(?<![\uD800-\uDBFF])[\uDC00-\uDFFF]/g;
function wellFormed(v: string): string {
  return v.replace(LONE_SURROGATE, '\uFFFD');
}

function str(v: unknown, max: number): string {
  if (typeof v === 'string') return wellFormed(v.length > max ? v.slice(0, max) : v);
  if (typeof v === 'number' && Number.isFinite(v)) return String(v);
  return '';
}

function num(v: unknown): number | null {
  return typeof v === 'number' && Number.isFinite(v) ? v : null;
}

function flag(v: unknown): number | null {
  return v === true ? 1 : v === false ? 0 : null;
}

function fail(code: string, message: string): never {
  throw new InvalidEventError(code, message);
}

function scalarText(v: unknown): string | undefined {
  if (typeof v === 'string') return wellFormed(v);
  if (typeof v === 'number' || typeof v === 'boolean') return String(v);
  if (v === null) return 'null';
  return undefined;
}

/** Maps one parsed enriched event to a row; throws InvalidEventError for a wrong shape. */
export function toEventRow(e: unknown): EventRow {
  if (!isObj(e)) fail('not_an_object', 'message value is not a JSON object');
  const eventId = e.event_id;
  if (typeof eventId !== 'string' || eventId.length === 0 || eventId.length > 128) {
    fail('bad_event_id', 'event_id must be a string of 1-128 characters');
  }
  if (!isEventType(e.type)) fail('bad_type', `type ${JSON.stringify(e.type)} is not a known event type`);
  const date = e.date;
  if (typeof date !== 'number' || !Number.isInteger(date) || date < MIN_MS || date > MAX_MS) {
    fail('bad_date', 'date must be an integer epoch-ms timestamp');
  }
  const receivedAt =
    typeof e.received_at === 'number' && Number.isInteger(e.received_at) && e.received_at >= MIN_MS && e.received_at <= MAX_MS
      ? e.received_at
      : date;
  const anonymousId = e.anonymous_id;
  if (typeof anonymousId !== 'string' || anonymousId.length === 0 || anonymousId.length > 256) {
    fail('bad_anonymous_id', 'anonymous_id must be a string of 1-256 characters');
  }
  const userId = typeof e.user_id === 'string' ? e.user_id.slice(0, 256) : '';
  const userVerified = e.user_verified === true;
  const element = isObj(e.element) ? e.element : {};
  const context = isObj(e.context) ? e.context : {};
  const depth = num(e.depth_pct);
  const results = num(e.results_count);
  const promotionIds = Array.isArray(e.promotion_ids)
    ? e.promotion_ids
        .filter((x): x is string => typeof x === 'string' && x.length > 0)
        .slice(0, 50)
        .map((x) => x.slice(0, 128))
    : [];

  const props: Record<string, string> = {};
  let nProps = 0;
  const put = (key: string, value: unknown) => {
    if (nProps >= MAX_PROPERTIES) return;
    const text = scalarText(value);
    if (text === undefined || key.length === 0) return;
    props[key.slice(0, MAX_PROPERTY_KEY)] = text.slice(0, MAX_PROPERTY_VALUE);
    nProps++;
  };
  if (isObj(e.properties)) for (const [k, v] of Object.entries(e.properties)) put(k, v);
  put('page_title', e.page_title);
  put('element_classes', element.classes);
  if (isObj(e.traits)) for (const [k, v] of Object.entries(e.traits)) put(`trait.${k}`, v);
  if (isObj(e.form)) {
    const f = e.form;
    put('form_id', f.id);
    put('form_name', f.name);
    put('form_action', f.action);
    if (Array.isArray(f.fields)) put('form_fields', f.fields.filter((x) => typeof x === 'string').join(','));
    if (isObj(f.values)) for (const [k, v] of Object.entries(f.values)) put(`form.${k}`, v);
  }
  put('locale', context.locale);
  put('screen', context.screen);
  if (e.clock_clamped === true) put('clock_clamped', true);

  return {
    event_id: eventId,
    type: e.type,
    date,
    received_at: receivedAt,
    site: str(e.site, 128),
    user_key: personalizationKey({ user_id: userId || null, anonymous_id: anonymousId, user_verified: userVerified }),
    user_id: userId,
    anonymous_id: anonymousId,
    session_id: str(e.session_id, 128),
    user_verified: userVerified ? 1 : 0,
    page_url: str(e.page_url, 2048),
    page_path: str(e.page_path, 1024) || pathOf(str(e.page_url, 2048)),
    referrer: str(e.referrer, 2048),
    search_keyword: str(e.search_keyword, 256),
    results_count: results !== null && results >= 0 && results <= 4_294_967_295 ? Math.floor(results) : null,
    element_tag: str(element.tag, 32).toLowerCase(),
    element_id: str(element.id, 256),
    element_text: str(element.text, 256),
    element_selector: str(element.selector, 512),
    element_href: str(element.href, 2048),
    product_id: str(e.product_id, 128) || str(element.product_id, 128),
    category: str(e.category, 128) || str(element.category, 128),
    promotion_id: str(e.promotion_id, 128) || str(element.promotion_id, 128),
    promotion_ids: promotionIds,
    personalized: flag(e.personalized),
    depth_pct: depth !== null ? Math.min(100, Math.max(0, Math.round(depth))) : null,
    value: num(e.value),
    currency: str(e.currency, 8).toUpperCase(),
    is_bot: context.is_bot === true ? 1 : 0,
    country: str(context.country, 2).toUpperCase(),
    user_agent: str(context.user_agent, 512),
    properties: props,
  };
}

function pathOf(url: string): string {
  if (!url) return '';
  try {
    return new URL(url, 'http://x').pathname;
  } catch {
    return '';
  }
}

/** ClickHouse 'YYYY-MM-DD hh:mm:ss.sss' in UTC, the basic DateTime64(3) text form. */
export function chDateTime(ms: number): string {
  const iso = new Date(ms).toISOString();
  return `${iso.slice(0, 10)} ${iso.slice(11, 23)}`;
}

/**
 * One JSONEachRow line for the events table. The sink sends TabSeparated
 * (`toTsvLine`, about half the engine's parse cost); this form is kept for
 * tools and tests.
 */
export function toJsonLine(row: EventRow): string {
  return JSON.stringify({ ...row, date: chDateTime(row.date), received_at: chDateTime(row.received_at) });
}

export type Decoded = { ok: true; row: EventRow; line: string } | { ok: false; code: string; reason: string; payload: unknown };

/** Parses one Kafka message value. Never throws. */
export function decodeMessage(value: Buffer | null): Decoded {
  if (value === null || value.length === 0) return { ok: false, code: 'empty', reason: 'message has no value', payload: null };
  if (value.length > MAX_MESSAGE_BYTES) {
    return {
      ok: false,
      code: 'too_large',
      reason: `message is ${value.length} bytes, over ${MAX_MESSAGE_BYTES}`,
      payload: value.subarray(0, 4096).toString('utf8'),
    };
  }
  const text = value.toString('utf8');
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    return { ok: false, code: 'bad_json', reason: `message is not JSON: ${(err as Error).message}`, payload: text.slice(0, 4096) };
  }
  try {
    const row = toEventRow(parsed);
    return { ok: true, row, line: toTsvLine(row) };
  } catch (err) {
    if (err instanceof InvalidEventError) return { ok: false, code: err.code, reason: err.message, payload: parsed };
    return { ok: false, code: 'unmappable', reason: (err as Error).message, payload: parsed };
  }
}

export function deadLetter(
  d: { code: string; reason: string; payload: unknown },
  origin: { topic: string; partition: number; offset: string },
  now: number,
): DeadLetter {
  const site = isObj(d.payload) && typeof d.payload.site === 'string' ? d.payload.site : undefined;
  return { reason: d.reason, code: d.code, source: 'analytics', received_at: now, origin, payload: d.payload, ...(site ? { site } : {}) };
}

/** The events table's columns in the order of `toTsvLine`'s fields. */
export const EVENT_COLUMNS = [
  'event_id',
  'type',
  'date',
  'received_at',
  'site',
  'user_key',
  'user_id',
  'anonymous_id',
  'session_id',
  'user_verified',
  'page_url',
  'page_path',
  'referrer',
  'search_keyword',
  'results_count',
  'element_tag',
  'element_id',
  'element_text',
  'element_selector',
  'element_href',
  'product_id',
  'category',
  'promotion_id',
  'promotion_ids',
  'personalized',
  'depth_pct',
  'value',
  'currency',
  'is_bot',
  'country',
  'user_agent',
  'properties',
] as const satisfies readonly (keyof EventRow)[];

// TabSeparated escaping: a field never holds a raw tab, newline or backslash.
const TSV_SPECIAL = /[\\\t\n\r\0\b\f]/;
const TSV_SPECIAL_G = /[\\\t\n\r\0\b\f]/g;
// Inside a quoted literal (array and map elements) the quote is escaped too.
const QUOTED_SPECIAL_G = /[\\'\t\n\r\0\b\f]/g;
const ESCAPES: Record<string, string> = {
  '\\': '\\\\',
  "'": "\\'",
  '\t': '\\t',
  '\n': '\\n',
  '\r': '\\r',
  '\0': '\\0',
  '\b': '\\b',
  '\f': '\\f',
};
const escapeChar = (c: string): string => ESCAPES[c]!;

function tsvText(s: string): string {
  return TSV_SPECIAL.test(s) ? s.replace(TSV_SPECIAL_G, escapeChar) : s;
}
function quoted(s: string): string {
  return `'${s.replace(QUOTED_SPECIAL_G, escapeChar)}'`;
}
function tsvNullable(v: number | null): string {
  return v === null ? '\\N' : String(v);
}

/** One TabSeparated line for the events table, fields in EVENT_COLUMNS order. */
export function toTsvLine(r: EventRow): string {
  let props = '{';
  let first = true;
  for (const k in r.properties) {
    props += `${first ? '' : ','}${quoted(k)}:${quoted(r.properties[k]!)}`;
    first = false;
  }
  props += '}';
  return [
    tsvText(r.event_id),
    tsvText(r.type),
    chDateTime(r.date),
    chDateTime(r.received_at),
    tsvText(r.site),
    tsvText(r.user_key),
    tsvText(r.user_id),
    tsvText(r.anonymous_id),
    tsvText(r.session_id),
    String(r.user_verified),
    tsvText(r.page_url),
    tsvText(r.page_path),
    tsvText(r.referrer),
    tsvText(r.search_keyword),
    tsvNullable(r.results_count),
    tsvText(r.element_tag),
    tsvText(r.element_id),
    tsvText(r.element_text),
    tsvText(r.element_selector),
    tsvText(r.element_href),
    tsvText(r.product_id),
    tsvText(r.category),
    tsvText(r.promotion_id),
    `[${r.promotion_ids.map(quoted).join(',')}]`,
    tsvNullable(r.personalized),
    tsvNullable(r.depth_pct),
    tsvNullable(r.value),
    tsvText(r.currency),
    String(r.is_bot),
    tsvText(r.country),
    tsvText(r.user_agent),
    props,
  ].join('\t');
}

const UNESCAPES: Record<string, string> = { t: '\t', n: '\n', r: '\r', '0': '\0', b: '\b', f: '\f' };
function unescape(s: string): string {
  return s.includes('\\') ? s.replace(/\\(.)/gs, (_m, c: string) => UNESCAPES[c] ?? c) : s;
}

/** Reads the quoted literals of an array or map text form (`['a','b']`, `{'k':'v'}`) in order. */
function quotedLiterals(text: string): string[] {
  const out: string[] = [];
  let i = 0;
  while ((i = text.indexOf("'", i)) !== -1) {
    let j = i + 1;
    let v = '';
    while (j < text.length && text[j] !== "'") {
      if (text[j] === '\\' && j + 1 < text.length) {
        v += UNESCAPES[text[j + 1]!] ?? text[j + 1]!;
        j += 2;
      } else v += text[j++];
    }
    out.push(v);
    i = j + 1;
  }
  return out;
}

const NUMERIC = new Set(['user_verified', 'results_count', 'personalized', 'depth_pct', 'value', 'is_bot']);

/**
 * The row of a `toTsvLine` line as an object (the JSONEachRow shape), for
 * the dead letter of a row ClickHouse rejected. Never throws.
 */
export function linePayload(line: string): unknown {
  const fields = line.split('\t');
  if (fields.length !== EVENT_COLUMNS.length) return line;
  const out: Record<string, unknown> = {};
  EVENT_COLUMNS.forEach((col, i) => {
    const f = fields[i]!;
    if (col === 'promotion_ids') out[col] = quotedLiterals(f);
    else if (col === 'properties') {
      const kv = quotedLiterals(f);
      const props: Record<string, string> = {};
      for (let k = 0; k + 1 < kv.length; k += 2) props[kv[k]!] = kv[k + 1]!;
      out[col] = props;
    } else if (NUMERIC.has(col)) out[col] = f === '\\N' ? null : Number(f);
    else out[col] = unescape(f);
  });
  return out;
}

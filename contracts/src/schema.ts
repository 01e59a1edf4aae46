import { z } from 'zod';
import { EVENT_TYPES, type EventType } from './topics.ts';
import type { WireEvent } from './events.ts';

/**
 * Validation of the wire format, one schema per event type, defined once here
 * so ingest (which enforces it) and the processors (which must treat Kafka
 * payloads as untrusted too) agree.
 *
 * Why zod 4 and not a compiled JSON schema: zod 4 compiles object shapes into
 * straight-line code, so a typical 10-field event validates in about a
 * microsecond (see ingest-api/bench/RESULTS.md), well under the cost of
 * JSON.parse of the same bytes. It keeps the TypeScript types and the checks in
 * one place and needs no code generation step.
 *
 * Unknown fields are dropped (not forwarded), so what reaches Kafka is bounded
 * by the fields below; every string is length-capped; `properties`/`traits` are
 * flat records with capped key count, key length and value length.
 */
export const LIMITS = Object.freeze({
  idChars: 128,
  eventIdChars: 64,
  userIdChars: 256,
  urlChars: 2048,
  titleChars: 512,
  keywordChars: 256,
  textChars: 512,
  propertyKeys: 50,
  propertyKeyChars: 64,
  propertyValueChars: 512,
  listItems: 50,
});

const str = (max: number) => z.string().max(max);
const id = (max: number = LIMITS.idChars) => z.string().min(1).max(max);
// Epoch ms; anything past year 2200 or negative is a broken clock, not data.
const epochMs = z.number().int().min(0).max(7_258_118_400_000);

function flatRecord(valueSchema: z.ZodType) {
  return z.record(str(LIMITS.propertyKeyChars), valueSchema).refine((o) => Object.keys(o).length <= LIMITS.propertyKeys, {
    message: `at most ${LIMITS.propertyKeys} keys`,
  });
}

const propertyValue = z.union([str(LIMITS.propertyValueChars), z.number(), z.boolean(), z.null()]);
export const propertiesSchema = flatRecord(propertyValue);

export const elementSchema = z.object({
  tag: str(32).optional(),
  id: str(LIMITS.idChars).optional(),
  classes: str(LIMITS.textChars).optional(),
  text: str(LIMITS.textChars).optional(),
  href: str(LIMITS.urlChars).optional(),
  selector: str(LIMITS.textChars).optional(),
  product_id: str(LIMITS.idChars).optional(),
  promotion_id: str(LIMITS.idChars).optional(),
  category: str(LIMITS.idChars).optional(),
});

export const formSchema = z.object({
  id: str(LIMITS.idChars).optional(),
  name: str(LIMITS.idChars).optional(),
  action: str(LIMITS.urlChars).optional(),
  fields: z.array(str(LIMITS.idChars)).max(LIMITS.listItems).optional(),
  values: flatRecord(str(LIMITS.propertyValueChars)).optional(),
});

/** Fields every event type may carry. */
const baseShape = {
  event_id: id(LIMITS.eventIdChars),
  timestamp: epochMs,
  anonymous_id: id(),
  user_id: str(LIMITS.userIdChars).nullable().optional(),
  session_id: str(LIMITS.idChars).optional(),
  page_url: str(LIMITS.urlChars).optional(),
  page_title: str(LIMITS.titleChars).optional(),
  referrer: str(LIMITS.urlChars).optional(),
  product_id: str(LIMITS.idChars).optional(),
  category: str(LIMITS.idChars).optional(),
  promotion_id: str(LIMITS.idChars).optional(),
  properties: propertiesSchema.optional(),
  locale: str(35).optional(),
  screen: str(32).optional(),
};

const search = z.object({
  ...baseShape,
  type: z.literal('search'),
  search_keyword: z.string().trim().min(1).max(LIMITS.keywordChars),
  results_count: z.number().int().min(0).optional(),
});
const click = z.object({ ...baseShape, type: z.literal('click'), element: elementSchema });
const scroll = z.object({ ...baseShape, type: z.literal('scroll'), depth_pct: z.number().min(0).max(100) });
const pageView = z.object({ ...baseShape, type: z.literal('page_view') });
const formSubmit = z.object({ ...baseShape, type: z.literal('form_submit'), form: formSchema });
const identify = z.object({
  ...baseShape,
  type: z.literal('identify'),
  user_id: id(LIMITS.userIdChars),
  traits: propertiesSchema.optional(),
});
const promotionView = z.object({
  ...baseShape,
  type: z.literal('promotion_view'),
  promotion_ids: z.array(id()).min(1).max(LIMITS.listItems),
  personalized: z.boolean().optional(),
});
const addToCart = z.object({
  ...baseShape,
  type: z.literal('add_to_cart'),
  product_id: id(),
  value: z.number().finite().optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
});
const purchase = z.object({
  ...baseShape,
  type: z.literal('purchase'),
  value: z.number().finite().optional(),
  currency: z
    .string()
    .regex(/^[A-Z]{3}$/)
    .optional(),
});

/** One schema per event type. */
export const EVENT_SCHEMAS = Object.freeze({
  search,
  click,
  scroll,
  page_view: pageView,
  form_submit: formSubmit,
  identify,
  promotion_view: promotionView,
  add_to_cart: addToCart,
  purchase,
}) satisfies Readonly<Record<EventType, z.ZodType>>;

export type EventValidation =
  { ok: true; event: WireEvent } | { ok: false; code: 'not_an_object' | 'unknown_type' | 'invalid_field'; reason: string };

/**
 * Validates one wire event. Never throws; the reason names the first bad field
 * and what was expected, so a shop engineer can fix the sender.
 */
export function validateWireEvent(raw: unknown): EventValidation {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) {
    return { ok: false, code: 'not_an_object', reason: 'event must be a JSON object' };
  }
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(EVENT_SCHEMAS, type)) {
    const shown = typeof type === 'string' ? JSON.stringify(type.slice(0, 40)) : String(type === undefined ? 'missing' : typeof type);
    return { ok: false, code: 'unknown_type', reason: `type ${shown} is not one of ${EVENT_TYPES.join(', ')}` };
  }
  const fast = FAST_EVENT_CHECKS[type as EventType];
  if (fast !== undefined) {
    const out = fast(raw);
    if (out !== INVALID) return { ok: true, event: out as WireEvent };
  }
  const result = EVENT_SCHEMAS[type as EventType].safeParse(raw);
  if (result.success) return { ok: true, event: result.data as WireEvent };
  const issue = result.error.issues[0];
  const path = issue && issue.path.length > 0 ? issue.path.join('.') : '(event)';
  return { ok: false, code: 'invalid_field', reason: `${path}: ${issue?.message ?? 'invalid'}` };
}

/** Batch envelope fields (events are validated one by one with validateWireEvent). */
export const batchEnvelopeSchema = z.object({
  write_key: z.string().min(1).max(LIMITS.idChars).optional(),
  sent_at: epochMs.optional(),
  user_token: z.string().max(256).optional(),
  events: z.array(z.unknown()).min(1),
});

/*
 * Fast path. The zod schemas above are the reference; validateWireEvent first
 * tries a hand-written check of the same rules (no per-field payload objects,
 * no issue bookkeeping), which only ever answers "valid, here is the output"
 * or "not sure". On "not sure" the zod schema runs and decides, with its
 * error message, so a rejection is always zod's. An event the fast path
 * accepts gets the same output zod gives (same keys, same order, trimmed
 * keyword, unknown fields dropped): contracts/test/unit/fast-validate.test.ts
 * checks that on generated events, valid and invalid. Profiled in the ingest
 * API, zod was ~8 % of its CPU (ingest-api/bench/RESULTS.md).
 */
const INVALID: unique symbol = Symbol('invalid');
type FastCheck = (v: unknown) => unknown;
interface FastField {
  key: string;
  check: FastCheck;
  required: boolean;
}

/**
 * zod 4 measures string lengths in code points (a surrogate pair counts once,
 * a lone surrogate as one), checking units first. A minimum of 1 needs no
 * counting: one unit is at least one code point.
 */
export function fitsMax(s: string, max: number): boolean {
  if (s.length <= max) return true;
  let count = s.length;
  for (let i = 0; i < s.length - 1 && count > max; i++) {
    if ((s.charCodeAt(i) & 0xfc00) === 0xd800 && (s.charCodeAt(i + 1) & 0xfc00) === 0xdc00) {
      count--;
      i++;
    }
  }
  return count <= max;
}
const fStr =
  (max: number): FastCheck =>
  (v) =>
    typeof v === 'string' && fitsMax(v, max) ? v : INVALID;
const fId =
  (max: number = LIMITS.idChars): FastCheck =>
  (v) =>
    typeof v === 'string' && v.length >= 1 && fitsMax(v, max) ? v : INVALID;
const fNullableStr =
  (max: number): FastCheck =>
  (v) =>
    v === null || (typeof v === 'string' && fitsMax(v, max)) ? v : INVALID;
const fEpochMs: FastCheck = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 && v <= 7_258_118_400_000 ? v : INVALID);
const fNonNegInt: FastCheck = (v) => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : INVALID);
const fFinite: FastCheck = (v) => (typeof v === 'number' && Number.isFinite(v) ? v : INVALID);
const fPct: FastCheck = (v) => (typeof v === 'number' && v >= 0 && v <= 100 ? v : INVALID);
const fBool: FastCheck = (v) => (typeof v === 'boolean' ? v : INVALID);
const CURRENCY = /^[A-Z]{3}$/;
const fCurrency: FastCheck = (v) => (typeof v === 'string' && CURRENCY.test(v) ? v : INVALID);
const fKeyword: FastCheck = (v) => {
  if (typeof v !== 'string') return INVALID;
  const t = v.trim();
  return t.length >= 1 && fitsMax(t, LIMITS.keywordChars) ? t : INVALID;
};
const fArray =
  (item: FastCheck, min: number, max: number): FastCheck =>
  (v) => {
    if (!Array.isArray(v) || v.length < min || v.length > max) return INVALID;
    const out = new Array<unknown>(v.length);
    for (let i = 0; i < v.length; i++) {
      const r = item(v[i]);
      if (r === INVALID) return INVALID;
      out[i] = r;
    }
    return out;
  };
/** Flat record: only plain objects (anything else is left to zod), capped keys and values. */
const fFlatRecord =
  (value: FastCheck): FastCheck =>
  (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v) || Object.getPrototypeOf(v) !== Object.prototype) return INVALID;
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    let n = 0;
    for (const k in src) {
      if (k === '__proto__' || !fitsMax(k, LIMITS.propertyKeyChars) || ++n > LIMITS.propertyKeys) return INVALID;
      const r = value(src[k]);
      if (r === INVALID) return INVALID;
      out[k] = r;
    }
    return out;
  };
const fPropertyValue: FastCheck = (v) =>
  v === null ||
  typeof v === 'boolean' ||
  (typeof v === 'number' && Number.isFinite(v)) ||
  (typeof v === 'string' && fitsMax(v, LIMITS.propertyValueChars))
    ? v
    : INVALID;
const fObject = (fields: FastField[]): FastCheck => {
  return (v) => {
    if (typeof v !== 'object' || v === null || Array.isArray(v)) return INVALID;
    const src = v as Record<string, unknown>;
    const out: Record<string, unknown> = {};
    for (let i = 0; i < fields.length; i++) {
      const f = fields[i]!;
      if (f.key in src) {
        const r = f.check(src[f.key]);
        if (r === INVALID) return INVALID;
        out[f.key] = r;
      } else if (f.required) return INVALID;
    }
    return out;
  };
};
const optionalFields = (checks: Record<string, FastCheck>): FastField[] =>
  Object.entries(checks).map(([key, check]) => ({ key, check, required: false }));

const fElement = fObject(
  optionalFields({
    tag: fStr(32),
    id: fStr(LIMITS.idChars),
    classes: fStr(LIMITS.textChars),
    text: fStr(LIMITS.textChars),
    href: fStr(LIMITS.urlChars),
    selector: fStr(LIMITS.textChars),
    product_id: fStr(LIMITS.idChars),
    promotion_id: fStr(LIMITS.idChars),
    category: fStr(LIMITS.idChars),
  }),
);
const fForm = fObject(
  optionalFields({
    id: fStr(LIMITS.idChars),
    name: fStr(LIMITS.idChars),
    action: fStr(LIMITS.urlChars),
    fields: fArray(fStr(LIMITS.idChars), 0, LIMITS.listItems),
    values: fFlatRecord(fStr(LIMITS.propertyValueChars)),
  }),
);

/** [check, required] per field; per-type entries override the base ones. */
const FAST_BASE: Record<string, [FastCheck, boolean]> = {
  event_id: [fId(LIMITS.eventIdChars), true],
  timestamp: [fEpochMs, true],
  anonymous_id: [fId(), true],
  user_id: [fNullableStr(LIMITS.userIdChars), false],
  session_id: [fStr(LIMITS.idChars), false],
  page_url: [fStr(LIMITS.urlChars), false],
  page_title: [fStr(LIMITS.titleChars), false],
  referrer: [fStr(LIMITS.urlChars), false],
  product_id: [fStr(LIMITS.idChars), false],
  category: [fStr(LIMITS.idChars), false],
  promotion_id: [fStr(LIMITS.idChars), false],
  properties: [fFlatRecord(fPropertyValue), false],
  locale: [fStr(35), false],
  screen: [fStr(32), false],
  // The type was matched before the schema was chosen.
  type: [(v) => v, true],
};
const FAST_BY_TYPE: Record<EventType, Record<string, [FastCheck, boolean]>> = {
  search: { search_keyword: [fKeyword, true], results_count: [fNonNegInt, false] },
  click: { element: [fElement, true] },
  scroll: { depth_pct: [fPct, true] },
  page_view: {},
  form_submit: { form: [fForm, true] },
  identify: { user_id: [fId(LIMITS.userIdChars), true], traits: [fFlatRecord(fPropertyValue), false] },
  promotion_view: { promotion_ids: [fArray(fId(), 1, LIMITS.listItems), true], personalized: [fBool, false] },
  add_to_cart: { product_id: [fId(), true], value: [fFinite, false], currency: [fCurrency, false] },
  purchase: { value: [fFinite, false], currency: [fCurrency, false] },
};

/**
 * The fast check of each type, in the zod shape's key order (so the output
 * serialises identically); a type with a field the table above does not know
 * has none and always goes through zod.
 */
const FAST_EVENT_CHECKS: Partial<Record<EventType, FastCheck>> = {};
for (const type of EVENT_TYPES) {
  const fields: FastField[] = [];
  let complete = true;
  for (const key of Object.keys(EVENT_SCHEMAS[type].shape)) {
    const spec = FAST_BY_TYPE[type][key] ?? FAST_BASE[key];
    if (!spec) complete = false;
    else fields.push({ key, check: spec[0], required: spec[1] });
  }
  if (complete) FAST_EVENT_CHECKS[type] = fObject(fields);
}

/** Event types with a fast path (all of them, unless the table above lags a schema change: the test checks). */
export const FAST_VALIDATED_TYPES: readonly EventType[] = Object.freeze(Object.keys(FAST_EVENT_CHECKS) as EventType[]);

/** The fast path alone: the parsed event, or undefined when zod has to decide (tests and benchmarks). */
export function fastValidateWireEvent(raw: unknown): WireEvent | undefined {
  if (typeof raw !== 'object' || raw === null || Array.isArray(raw)) return undefined;
  const type = (raw as { type?: unknown }).type;
  if (typeof type !== 'string' || !Object.hasOwn(FAST_EVENT_CHECKS, type)) return undefined;
  const r = FAST_EVENT_CHECKS[type as EventType]!(raw);
  return r === INVALID ? undefined : (r as WireEvent);
}

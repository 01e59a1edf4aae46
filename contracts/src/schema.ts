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
  return z
    .record(str(LIMITS.propertyKeyChars), valueSchema)
    .refine((o) => Object.keys(o).length <= LIMITS.propertyKeys, {
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
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
});
const purchase = z.object({
  ...baseShape,
  type: z.literal('purchase'),
  value: z.number().finite().optional(),
  currency: z.string().regex(/^[A-Z]{3}$/).optional(),
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
  | { ok: true; event: WireEvent }
  | { ok: false; code: 'not_an_object' | 'unknown_type' | 'invalid_field'; reason: string };

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

/**
 * Pure: validates a Kafka message as an enriched event and turns it into
 * interest contributions for one visitor key.
 */
import { EVENT_TYPES, fitsMax, personalizationKey, type EnrichedEvent } from '@storepulse/contracts';
import { z } from 'zod';
import type { ActivityWeights } from './config.ts';
import { InvalidEventError } from './errors.ts';
import { matchCategory, matchPage, matchProduct, matchPromotion, matchText, type MatchIndex, type TermMatch } from './matching.ts';
import { type ActivityKind, type Contribution, encodeReason } from './profile.ts';

const id = z.string().min(1).max(256);
const shortText = z.string().max(2048);

/** The reference schema of an enriched event as this processor reads it (see isValidEvent). */
export const eventSchema = z
  .object({
    event_id: id,
    type: z.enum(EVENT_TYPES),
    date: z.number().finite().nonnegative(),
    received_at: z.number().finite().nonnegative().optional(),
    anonymous_id: id,
    user_id: z.string().max(256).nullable().optional(),
    user_verified: z.boolean().optional(),
    page_url: shortText.optional(),
    page_path: shortText.optional(),
    search_keyword: shortText.optional(),
    product_id: z.string().max(256).optional(),
    category: z.string().max(256).optional(),
    promotion_id: z.string().max(256).optional(),
    element: z
      .object({
        text: shortText.optional(),
        href: shortText.optional(),
        product_id: z.string().max(256).optional(),
        promotion_id: z.string().max(256).optional(),
        category: z.string().max(256).optional(),
      })
      .loose()
      .optional(),
    context: z.object({ is_bot: z.boolean() }).loose().optional(),
  })
  .loose();

export type ValidEvent = z.infer<typeof eventSchema> & Pick<EnrichedEvent, 'event_id' | 'type' | 'date' | 'anonymous_id'>;

const EVENT_TYPE_SET: ReadonlySet<unknown> = new Set(EVENT_TYPES);
const isObject = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);
// Lengths as zod 4 counts them (code points), min 0 or 1.
const str = (v: unknown, max: number, min = 0) => typeof v === 'string' && v.length >= min && fitsMax(v, max);
const optStr = (v: unknown, max: number) => v === undefined || str(v, max);
const time = (v: unknown) => typeof v === 'number' && Number.isFinite(v) && v >= 0;

/**
 * The same check as `eventSchema`, without zod's copy of the event (the consumer's hot path; a
 * property test holds the two equal). Unknown keys pass, as with the schema's `.loose()`.
 */
export function isValidEvent(v: unknown): v is ValidEvent {
  if (!isObject(v)) return false;
  if (!str(v.event_id, 256, 1) || !EVENT_TYPE_SET.has(v.type) || !time(v.date) || !str(v.anonymous_id, 256, 1)) return false;
  if (v.received_at !== undefined && !time(v.received_at)) return false;
  if (v.user_id !== undefined && v.user_id !== null && !str(v.user_id, 256)) return false;
  if (v.user_verified !== undefined && typeof v.user_verified !== 'boolean') return false;
  if (!optStr(v.page_url, 2048) || !optStr(v.page_path, 2048) || !optStr(v.search_keyword, 2048)) return false;
  if (!optStr(v.product_id, 256) || !optStr(v.category, 256) || !optStr(v.promotion_id, 256)) return false;
  const el = v.element;
  if (el !== undefined) {
    if (!isObject(el) || !optStr(el.text, 2048) || !optStr(el.href, 2048)) return false;
    if (!optStr(el.product_id, 256) || !optStr(el.promotion_id, 256) || !optStr(el.category, 256)) return false;
  }
  const ctx = v.context;
  return ctx === undefined || (isObject(ctx) && typeof ctx.is_bot === 'boolean');
}

/** Parses a raw Kafka value. Throws InvalidEventError (never retriable) with a code and reason. */
export function parseEvent(value: Buffer | string | null): ValidEvent {
  if (value === null || value.length === 0) throw new InvalidEventError('empty_message', 'the message has no value');
  if (value.length > 1_000_000) throw new InvalidEventError('too_large', `the message is ${value.length} bytes (max 1000000)`);
  let json: unknown;
  try {
    json = JSON.parse(typeof value === 'string' ? value : value.toString('utf8'));
  } catch (err) {
    throw new InvalidEventError('invalid_json', `the message is not JSON: ${(err as Error).message}`, err);
  }
  if (isValidEvent(json)) return json;
  // Only a rejected event gets here: zod is the reference, and words the reason.
  const r = eventSchema.safeParse(json);
  if (!r.success) {
    const first = r.error.issues.slice(0, 3).map((i) => `${i.path.join('.') || '(event)'}: ${i.message}`);
    throw new InvalidEventError('invalid_event', `not an enriched event: ${first.join('; ')}`);
  }
  return r.data as ValidEvent;
}

/** The visitor whose promotions this event may move (proven user, else the anonymous id). */
export function visitorKey(e: ValidEvent): string {
  return personalizationKey({ user_id: e.user_id ?? null, anonymous_id: e.anonymous_id, user_verified: e.user_verified === true });
}

export interface Signal {
  /** Event time used for decay: the event's date, clamped to received_at + maxFutureMs. */
  date: number;
  contributions: Contribution[];
}

function display(term: string): string {
  return term.replace(/-/g, ' ');
}

/**
 * What an event says about the visitor's interests. Empty for bots, for
 * types that carry no interest (form_submit, identify, promotion_view,
 * purchase), and when nothing in it matches the catalog.
 */
export function extractSignal(e: ValidEvent, index: MatchIndex, weights: ActivityWeights, maxFutureMs: number): Signal {
  const date = e.received_at !== undefined ? Math.min(e.date, e.received_at + maxFutureMs) : e.date;
  if (e.context?.is_bot === true) return { date, contributions: [] };
  const found = new Map<string, { strength: number; text: string }>();
  const add = (ms: readonly TermMatch[], text: (m: TermMatch) => string) => {
    for (const m of ms) {
      const prev = found.get(m.term);
      if (!prev || m.strength > prev.strength) found.set(m.term, { strength: m.strength, text: text(m) });
    }
  };
  const byTerm = (m: TermMatch) => display(m.term);
  const fromItem = (productId?: string, category?: string, promotionId?: string) => {
    if (productId) add(matchProduct(index, productId), byTerm);
    if (category) add(matchCategory(index, category), byTerm);
    if (promotionId) add(matchPromotion(index, promotionId), byTerm);
  };
  let kind: ActivityKind;
  switch (e.type) {
    case 'search': {
      kind = 'search';
      const kw = (e.search_keyword ?? '').slice(0, 200);
      if (kw.trim()) add(matchText(index, kw), () => kw.trim());
      break;
    }
    case 'click': {
      kind = 'click';
      fromItem(e.element?.product_id ?? e.product_id, e.element?.category ?? e.category, e.element?.promotion_id ?? e.promotion_id);
      if (found.size === 0 && e.element?.href) add(matchPage(index, e.element.href), byTerm);
      if (found.size === 0 && e.element?.text) add(matchText(index, e.element.text.slice(0, 200)), byTerm);
      break;
    }
    case 'add_to_cart':
      kind = 'add_to_cart';
      fromItem(e.product_id ?? e.element?.product_id, e.category ?? e.element?.category);
      break;
    case 'page_view':
    case 'scroll': {
      kind = e.type;
      fromItem(e.product_id, e.category);
      const page = e.page_path ?? e.page_url;
      if (page) add(matchPage(index, page), byTerm);
      break;
    }
    default:
      return { date, contributions: [] };
  }
  const w = weights[kind];
  if (!(w > 0)) return { date, contributions: [] };
  const contributions = [...found]
    .sort((a, b) => (a[0] < b[0] ? -1 : 1))
    .slice(0, 16)
    .map(([term, f]) => ({ term, weight: w * f.strength, reason: encodeReason(date, kind, f.text) }));
  return { date, contributions };
}

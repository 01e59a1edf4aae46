import type { EventType } from './topics.ts';

/** Flat, size-capped bag of extra fields. */
export type Properties = Record<string, string | number | boolean | null>;

/** What the tracker puts on a clicked element. */
export interface ElementInfo {
  tag?: string;
  id?: string;
  classes?: string;
  text?: string;
  href?: string;
  selector?: string;
  product_id?: string;
  promotion_id?: string;
  category?: string;
}

export interface FormInfo {
  id?: string;
  name?: string;
  action?: string;
  fields?: string[];
  /** Values only of fields the shop explicitly allowed. */
  values?: Record<string, string>;
}

/** One event as the SDK sends it inside a batch (client clock). */
export interface WireEvent {
  event_id: string;
  type: EventType;
  timestamp: number;
  anonymous_id: string;
  user_id?: string | null;
  session_id?: string;
  page_url?: string;
  page_title?: string;
  referrer?: string;
  search_keyword?: string;
  results_count?: number;
  element?: ElementInfo;
  depth_pct?: number;
  form?: FormInfo;
  traits?: Properties;
  product_id?: string;
  category?: string;
  promotion_id?: string;
  promotion_ids?: string[];
  personalized?: boolean;
  value?: number;
  currency?: string;
  properties?: Properties;
  locale?: string;
  screen?: string;
}

/** `POST /v1/batch` body. */
export interface WireBatch {
  write_key?: string;
  sent_at?: number;
  /** The storefront's signed proof (HMAC) for the user_id the events name. */
  user_token?: string;
  events: WireEvent[];
}

export interface EventContext {
  user_agent?: string;
  is_bot: boolean;
  /** Coarse country (ISO 3166 alpha-2) when a trusted proxy header gave one; never the IP. */
  country?: string;
  locale?: string;
  screen?: string;
}

/**
 * The Kafka message value for every activity topic: the wire event plus what
 * ingest adds. A superset of the classic `{user_id, page_url, search_keyword, date}`.
 */
export interface EnrichedEvent extends Omit<WireEvent, 'locale' | 'screen'> {
  /** Skew-corrected event time, epoch ms: received_at - (sent_at - timestamp), clamped. */
  date: number;
  received_at: number;
  sent_at: number;
  /** true when `date` was clamped into the accepted window. */
  clock_clamped?: boolean;
  user_id: string | null;
  /** true only when the batch carried a valid user_token for `user_id`. */
  user_verified: boolean;
  site: string;
  page_path?: string;
  context: EventContext;
}

/** The visitor key an event belongs to for personalization and partitioning. */
export function messageKey(event: Pick<EnrichedEvent, 'user_id' | 'anonymous_id'>): string {
  return event.user_id ? event.user_id : event.anonymous_id;
}

/**
 * The key under which an event moves promotions: the user id only when it is
 * proven, otherwise the anonymous id (an unproven claim must not move the
 * named user's promotions).
 */
export function personalizationKey(event: Pick<EnrichedEvent, 'user_id' | 'anonymous_id' | 'user_verified'>): string {
  return event.user_id && event.user_verified ? `u:${event.user_id}` : `a:${event.anonymous_id}`;
}

/** Record on the `invalid_events` topic. */
export interface DeadLetter {
  reason: string;
  code: string;
  source: 'ingest' | 'promotions' | 'analytics';
  received_at: number;
  write_key?: string;
  site?: string;
  /** Where the bad message came from, when a processor dead-lettered it. */
  origin?: { topic: string; partition: number; offset: string };
  /** The original payload: the event object, or the raw message text (capped). */
  payload: unknown;
}

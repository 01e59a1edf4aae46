/**
 * Kafka topic names. One topic per activity, plus the dead-letter topic.
 * `TOPIC_PREFIX` (when set) is prepended to every topic so that several shops
 * or test runs can share one cluster without touching each other.
 */
export const EVENT_TYPES = [
  'page_view',
  'click',
  'search',
  'scroll',
  'form_submit',
  'identify',
  'promotion_view',
  'add_to_cart',
  'purchase',
] as const;

export type EventType = (typeof EVENT_TYPES)[number];

export const TOPIC_BY_TYPE: Readonly<Record<EventType, string>> = Object.freeze({
  page_view: 'page_views',
  click: 'clicks',
  search: 'searches',
  scroll: 'scrolls',
  form_submit: 'form_submissions',
  identify: 'identifies',
  promotion_view: 'promotion_views',
  add_to_cart: 'carts',
  purchase: 'purchases',
});

export const DEAD_LETTER_TOPIC = 'invalid_events';

/** Every activity topic (without prefix), in a stable order. */
export const ACTIVITY_TOPICS: readonly string[] = Object.freeze([...new Set(Object.values(TOPIC_BY_TYPE))]);

/** Every topic the project creates (without prefix). */
export const ALL_TOPICS: readonly string[] = Object.freeze([...ACTIVITY_TOPICS, DEAD_LETTER_TOPIC]);

export function isEventType(value: unknown): value is EventType {
  return typeof value === 'string' && (EVENT_TYPES as readonly string[]).includes(value);
}

/** `prefix` is used verbatim; pass '' for none. */
export function topicName(prefix: string, topic: string): string {
  return `${prefix}${topic}`;
}

export function topicForType(prefix: string, type: EventType): string {
  return topicName(prefix, TOPIC_BY_TYPE[type]);
}

/** Consumer group ids also carry the prefix, so test runs never share offsets. */
export const CONSUMER_GROUPS = Object.freeze({
  promotions: 'promotions',
  analytics: 'analytics',
});

export function groupId(prefix: string, group: string): string {
  return `${prefix}${group}`;
}

import type { EventType, Properties, WireEvent } from '@storepulse/contracts';

export type { EventType, Properties, WireEvent };

export interface AutocaptureOptions {
  /** Page views, including SPA navigations (pushState/replaceState/popstate). Default true. */
  pageViews: boolean;
  /** Clicks on links, buttons and elements with data-product-id / data-promotion-id. Default true. */
  clicks: boolean;
  /** Searches from search forms, search inputs (after typing stops) and results URLs. Default true. */
  search: boolean;
  /** Scroll depth milestones 25/50/75/100 per page view. Default true. */
  scroll: boolean;
  /** Form submissions: form id/name/action and field names, never values unless allowed. Default true. */
  forms: boolean;
}

export interface TrackerOptions {
  /** The shop's write key (e.g. `wk_demo`). Required. */
  writeKey: string;
  /** Batch endpoint. Default `/v1/batch` (same origin). */
  endpoint?: string;
  /** `true`/`false` for all, or per feature. Default: everything on. */
  autocapture?: boolean | Partial<AutocaptureOptions>;
  /** Send when this many events wait. Default 20. */
  flushAt?: number;
  /** Send at most this long after the first waiting event. Default 1000 ms. */
  flushIntervalMs?: number;
  /** Per request, under the 64 KB keepalive limit. Default 60000. */
  maxBatchBytes?: number;
  /** Events kept while the API is unreachable; the oldest are dropped beyond. Default 500. */
  maxQueueSize?: number;
  /** First retry delay; doubles per attempt with jitter. Default 1000 ms. */
  retryBaseMs?: number;
  /** Longest retry delay (unless Retry-After asks for more). Default 60000 ms. */
  retryMaxMs?: number;
  /** A new session starts after this much inactivity. Default 30 min. */
  sessionTimeoutMs?: number;
  /** Honour Global Privacy Control and Do Not Track (capture nothing). Default true. */
  respectPrivacySignals?: boolean;
  /** Query parameters that carry a search keyword on results pages. Default ['q', 'query', 's']. */
  searchParams?: string[];
  /** Search inputs watched while typing (besides input[type=search]). Default none. */
  searchInputSelector?: string;
  /** Quiet time after typing before a typed search counts. Default 1000 ms. */
  searchDebounceMs?: number;
  /** The same keyword again within this time is the same search. Default 30000 ms. */
  searchDedupeMs?: number;
  /** Form field names whose values may be captured (never sensitive fields). Default none. */
  formValueFields?: string[];
  /** localStorage key prefix. Default `sp_`. */
  storagePrefix?: string;
  /** Log dropped events and swallowed errors to the console. Default false. */
  debug?: boolean;
}

export interface SearchOptions {
  resultsCount?: number;
}

export interface IdentifyOptions {
  traits?: Properties;
  /** The storefront's signed proof (HMAC) for this user id. */
  token?: string;
}

export interface PromotionViewOptions {
  /** true when the promotions were personalized for this visitor, false for defaults. */
  personalized?: boolean;
}

/** Fields a caller may set on `track()`; anything else goes into `properties`. */
export type TrackProps = Partial<Omit<WireEvent, 'event_id' | 'type' | 'timestamp' | 'anonymous_id' | 'session_id' | 'user_id'>> &
  Record<string, unknown>;

export interface Storepulse {
  init(options: TrackerOptions): void;
  track(type: EventType, props?: TrackProps): void;
  page(props?: TrackProps): void;
  search(keyword: string, options?: SearchOptions): void;
  identify(userId: string, options?: IdentifyOptions): void;
  /** Promotions were shown: ids in display order, personalized or defaults. */
  promotionView(promotionIds: string[], options?: PromotionViewOptions): void;
  /** Forget the user and start a new anonymous id and session (e.g. on logout). */
  reset(): void;
  optOut(): void;
  optIn(): void;
  isOptedOut(): boolean;
  /** Send what waits now; resolves when the queue is drained or delivery is blocked (offline, backoff). */
  flush(): Promise<void>;
  anonymousId(): string;
  sessionId(): string;
  userId(): string | null;
  /** Runs `fn` once init() has run (at once if it has). */
  ready(fn: (sp: Storepulse) => void): void;
  /** Remove listeners and timers (tests, micro-frontends). */
  shutdown(): void;
}

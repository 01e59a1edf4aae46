/**
 * @storepulse/tracker-sdk: shopper activity capture for storefronts.
 *
 *   import { createStorepulse } from '@storepulse/tracker-sdk';
 *   const sp = createStorepulse();
 *   sp.init({ writeKey: 'wk_demo' });
 */
export { createStorepulse } from './tracker.ts';
export type {
  AutocaptureOptions,
  EventType,
  IdentifyOptions,
  PromotionViewOptions,
  Properties,
  SearchOptions,
  Storepulse,
  TrackerOptions,
  TrackProps,
  WireEvent,
} from './types.ts';

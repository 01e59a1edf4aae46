// Realistic generated storefront traffic for k6 scenarios: visitors with
// sessions, page views, searches from a keyword list with plurals and typos,
// product clicks, scroll milestones; occasional duplicate batches (an SDK
// retry) and invalid events. Batches are sized like the SDK's (1..20 events).
import { randomBytes } from 'k6/crypto';

export const KEYWORDS = [
  'humidifier',
  'Humidifiers',
  'humidifer',
  'cool mist humidifier',
  'humidifier for bedroom',
  'air purifier',
  'air purifiers',
  'hepa purifer',
  'tower fan',
  'desk fans',
  'pedestal fan',
  'space heater',
  'oil heater',
  'heaters',
  'espresso machine',
  'coffee grinder',
  'coffe beans',
  'blender',
  'knife set',
  'cast iron pan',
  'robot vacuum',
  'cordless vacuum',
  'vaccum',
  'duvet',
  'pillows',
  'weighted blanket',
  'desk lamp',
  'led bulbs',
  'floor lamp',
  'headphones',
  'bluetooth speaker',
  'soundbar',
  'earbuds',
];
const CATEGORIES = {
  hum: 'humidifiers',
  pur: 'air-purifiers',
  fan: 'fans',
  hea: 'heaters',
  cof: 'coffee',
  kit: 'kitchen',
  vac: 'vacuums',
  bed: 'bedding',
  lig: 'lighting',
  aud: 'audio',
};
const PREFIXES = Object.keys(CATEGORIES);
const PAGES = ['/', '/deals/', '/search', '/about', '/category/humidifiers', '/category/coffee', '/category/audio'];

function hex(n) {
  const b = new Uint8Array(randomBytes(n));
  let s = '';
  for (let i = 0; i < b.length; i++) s += (b[i] < 16 ? '0' : '') + b[i].toString(16);
  return s;
}

export function uuid() {
  const h = hex(16);
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-a${h.slice(17, 20)}-${h.slice(20, 32)}`;
}

export const pick = (arr) => arr[Math.floor(Math.random() * arr.length)];

export function productId() {
  const p = pick(PREFIXES);
  return { id: `p-${p}-${String(1 + Math.floor(Math.random() * 8)).padStart(3, '0')}`, category: CATEGORIES[p] };
}

/** A visitor: stable anonymous id and session for the life of a VU iteration chain. */
export function visitor() {
  return { anonymous_id: `a-${uuid()}`, session_id: `s-${uuid()}` };
}

/**
 * Visitors come and go: a VU sends `batches` batches as one visitor, then
 * becomes a new one. A VU iterates far faster than a shopper's page flushes,
 * so keeping one visitor per VU would make every VU a "hot visitor" that the
 * ingest API's per-visitor limit (RATE_LIMIT_VISITOR_*) answers with 429.
 */
export function rotatingVisitor(batches) {
  let v = visitor();
  let left = batches;
  return () => {
    if (left-- <= 0) {
      v = visitor();
      left = batches - 1;
    }
    return v;
  };
}

function base(v, type, now) {
  return {
    event_id: uuid(),
    type,
    timestamp: now - Math.floor(Math.random() * 500),
    anonymous_id: v.anonymous_id,
    session_id: v.session_id,
    page_url: pick(PAGES),
  };
}

export function eventFor(v, now) {
  const r = Math.random();
  if (r < 0.35) return base(v, 'page_view', now);
  if (r < 0.55) {
    const e = base(v, 'search', now);
    e.search_keyword = pick(KEYWORDS);
    e.results_count = Math.floor(Math.random() * 40);
    return e;
  }
  if (r < 0.8) {
    const p = productId();
    const e = base(v, 'click', now);
    e.element = {
      tag: 'a',
      text: 'View product',
      href: `/products/${p.id}`,
      selector: 'main .product-card > a',
      product_id: p.id,
      category: p.category,
    };
    e.product_id = p.id;
    return e;
  }
  const e = base(v, 'scroll', now);
  e.depth_pct = pick([25, 50, 75, 100]);
  return e;
}

/**
 * One SDK-like batch for a visitor. `invalidRate` of batches carry one invalid
 * event (no event_id); the caller decides on duplicates by resending a body.
 */
export function batch(v, size, invalidRate) {
  const now = Date.now();
  const events = [];
  for (let i = 0; i < size; i++) events.push(eventFor(v, now));
  if (Math.random() < invalidRate) {
    const bad = eventFor(v, now);
    delete bad.event_id;
    events[events.length - 1] = bad;
  }
  return { write_key: __ENV.WRITE_KEY || 'wk_demo', sent_at: now, events };
}

export function sdkBatchSize() {
  // Mostly small batches, like a real page's flushes; a few larger ones on unload.
  const r = Math.random();
  return r < 0.6 ? 1 + Math.floor(Math.random() * 5) : r < 0.95 ? 5 + Math.floor(Math.random() * 10) : 15 + Math.floor(Math.random() * 6);
}

export const JSON_HEADERS = { 'Content-Type': 'application/json' };

import type { EventType, Properties, WireEvent } from '@storepulse/contracts';
import type { AutocaptureOptions, Storepulse, TrackerOptions, TrackProps } from './types.ts';
import { uuid } from './core/ids.ts';
import { type KV, safeKV } from './core/storage.ts';
import { createQueue, type Queue } from './core/queue.ts';
import { createIdentity, type Identity } from './core/identity.ts';
import { keywordFromUrl, normalizeKeyword, seenSearch } from './core/search.ts';
import { privacySignal } from './core/privacy.ts';
import { elementInfo, formInfo, isSearchInput, searchFormKeyword } from './dom/element.ts';
import { httpTransport } from './dom/transport.ts';

/** Caller-settable WireEvent fields; anything else in track() props goes into `properties`. */
const FIELDS = [
  'page_url',
  'page_title',
  'referrer',
  'search_keyword',
  'results_count',
  'element',
  'depth_pct',
  'form',
  'product_id',
  'category',
  'promotion_id',
  'promotion_ids',
  'personalized',
  'value',
  'currency',
];
const CLICKABLE = 'a,button,input[type=submit],input[type=button],[role=button],[data-product-id],[data-promotion-id],[data-sp-track]';
const MILESTONES = [25, 50, 75, 100];

type Call = [string, unknown[]];

/** Flat scalar bag, capped: the wire format's `Properties`. */
function flat(src: unknown, skip: readonly string[] = []): Properties | undefined {
  if (!src || typeof src !== 'object') return undefined;
  const out: Properties = {};
  let n = 0;
  for (const [k, v] of Object.entries(src)) {
    if (skip.includes(k) || n >= 50) continue;
    const t = typeof v;
    if (t === 'string' || (t === 'number' ? Number.isFinite(v) : t === 'boolean' || v === null)) {
      out[k.slice(0, 64)] = t === 'string' ? (v as string).slice(0, 500) : (v as number | boolean | null);
      n++;
    }
  }
  return n ? out : undefined;
}

export function createStorepulse(): Storepulse {
  let opts: Required<Omit<TrackerOptions, 'autocapture' | 'searchInputSelector'>> | undefined;
  let ac: AutocaptureOptions;
  let kv: KV;
  let id: Identity;
  let queue: Queue | undefined;
  let searchSel = 'input[type=search]';
  const pending: Call[] = [];
  const readyFns: ((sp: Storepulse) => void)[] = [];
  const offs: (() => void)[] = [];
  let lastUrl = '';
  let reached: number[] = [];
  let typing: ReturnType<typeof setTimeout> | undefined;
  let scrollTimer: ReturnType<typeof setTimeout> | undefined;

  const log = (...a: unknown[]) => {
    if (opts?.debug) console.warn('[storepulse]', ...a);
  };
  const key = (k: string) => opts!.storagePrefix + k;
  const hrefNow = () => location.href.split('#')[0]!.slice(0, 1000);

  const capturing = () => {
    if (!opts) return false;
    const c = kv.get(key('consent'));
    return c !== 'out' && (c === 'in' || !(opts.respectPrivacySignals && privacySignal(navigator, window)));
  };

  const ensureQueue = () =>
    (queue ??= createQueue({
      ...opts!,
      storage: kv,
      transport: httpTransport(opts!.endpoint),
      prefix: opts!.storagePrefix,
      instanceId: uuid(),
      online: () => navigator.onLine !== false,
      onDrop: (reason, count) => log('drop', count, reason),
    }));

  function capture(type: EventType, fields: Partial<WireEvent>) {
    if (!capturing()) return;
    const now = Date.now();
    const e = {
      event_id: uuid(now),
      type,
      timestamp: now,
      anonymous_id: id.anonymousId(),
      session_id: id.touchSession(now),
      page_url: hrefNow(),
      locale: navigator.language,
      screen: `${screen.width}x${screen.height}`,
      ...fields,
    } as WireEvent;
    const uid = id.userId();
    if (uid) e.user_id = uid;
    ensureQueue().push(e, uid ? id.userToken() : undefined);
  }

  function searched(raw: unknown, source: string, resultsCount?: unknown) {
    const k = normalizeKeyword(raw);
    if (!k || !capturing() || seenSearch(kv, key('ls'), k, Date.now(), opts!.searchDedupeMs)) return;
    capture('search', {
      search_keyword: k,
      results_count: typeof resultsCount === 'number' && resultsCount >= 0 ? Math.floor(resultsCount) : undefined,
      properties: { source },
    });
  }

  function navigated(initial: boolean) {
    const url = hrefNow();
    if (url === lastUrl) return;
    const referrer = initial ? document.referrer : lastUrl;
    lastUrl = url;
    reached = [];
    if (ac.pageViews) capture('page_view', { page_title: document.title.slice(0, 300), referrer: referrer || undefined });
    if (ac.search) searched(keywordFromUrl(url, opts!.searchParams), 'url');
  }

  function scrolled() {
    const d = document.documentElement;
    const h = Math.max(d.scrollHeight, document.body ? document.body.scrollHeight : 0);
    if (h <= 0) return;
    const pct = ((window.scrollY + window.innerHeight + 2) / h) * 100;
    for (const m of MILESTONES) {
      if (pct >= m && !reached.includes(m)) {
        reached.push(m);
        capture('scroll', { depth_pct: m });
      }
    }
  }

  function on(target: EventTarget, type: string, fn: (e: Event) => void, options?: AddEventListenerOptions | boolean) {
    const h = (e: Event) => {
      try {
        fn(e);
      } catch (err) {
        log(type, err);
      }
    };
    target.addEventListener(type, h, options);
    offs.push(() => target.removeEventListener(type, h, options));
  }

  function install() {
    on(window, 'pagehide', () => queue?.unload(true));
    on(document, 'visibilitychange', () => document.visibilityState === 'hidden' && queue?.unload(false));
    on(window, 'pageshow', (e) => (e as PageTransitionEvent).persisted && queue?.revive());
    on(window, 'online', () => void queue?.flush());

    if (ac.pageViews || ac.search || ac.scroll) {
      const check = () =>
        setTimeout(() => {
          try {
            navigated(false);
          } catch (err) {
            log('navigation', err);
          }
        }, 0);
      for (const m of ['pushState', 'replaceState'] as const) {
        const orig = history[m];
        const patched = function (this: History, ...a: Parameters<History['pushState']>) {
          const r = orig.apply(this, a);
          check();
          return r;
        };
        history[m] = patched;
        offs.push(() => {
          if (history[m] === patched) history[m] = orig;
        });
      }
      on(window, 'popstate', check);
    }
    if (ac.clicks) {
      on(
        document,
        'click',
        (ev) => {
          const t = ev.target;
          const el = t instanceof Element ? t.closest(CLICKABLE) : null;
          if (!el || el.closest('[data-sp-ignore]')) return;
          const element = elementInfo(el);
          capture('click', { element, product_id: element.product_id, promotion_id: element.promotion_id, category: element.category });
        },
        true,
      );
    }
    if (ac.search) {
      on(
        document,
        'input',
        (ev) => {
          const t = ev.target as Element | null;
          if (!isSearchInput(t, searchSel)) return;
          clearTimeout(typing);
          typing = setTimeout(() => searched(t.value, 'input'), opts!.searchDebounceMs);
        },
        true,
      );
    }
    if (ac.search || ac.forms) {
      on(
        document,
        'submit',
        (ev) => {
          const f = ev.target;
          if (!(f instanceof HTMLFormElement) || f.closest('[data-sp-ignore]')) return;
          const kw = ac.search ? searchFormKeyword(f, searchSel, opts!.searchParams) : null;
          if (kw !== null) {
            clearTimeout(typing);
            searched(kw, 'form');
          } else if (ac.forms) capture('form_submit', { form: formInfo(f, opts!.formValueFields) });
        },
        true,
      );
    }
    if (ac.scroll) {
      on(
        window,
        'scroll',
        () => {
          scrollTimer ??= setTimeout(() => {
            scrollTimer = undefined;
            try {
              scrolled();
            } catch (err) {
              log('scroll', err);
            }
          }, 200);
        },
        { passive: true },
      );
    }
  }

  const api: Storepulse = {
    init(o) {
      if (opts) return log('init twice');
      if (!o || typeof o.writeKey !== 'string' || !o.writeKey) return log('no writeKey');
      const a = o.autocapture ?? true;
      ac =
        typeof a === 'boolean'
          ? { pageViews: a, clicks: a, search: a, scroll: a, forms: a }
          : { pageViews: true, clicks: true, search: true, scroll: true, forms: true, ...a };
      opts = {
        endpoint: '/v1/batch',
        flushAt: 20,
        flushIntervalMs: 1000,
        maxBatchBytes: 60_000,
        maxQueueSize: 500,
        retryBaseMs: 1000,
        retryMaxMs: 60_000,
        sessionTimeoutMs: 30 * 60_000,
        respectPrivacySignals: true,
        searchParams: ['q', 'query', 's'],
        searchDebounceMs: 1000,
        searchDedupeMs: 30_000,
        formValueFields: [],
        storagePrefix: 'sp_',
        debug: false,
        ...o,
      };
      opts.maxBatchBytes = Math.min(opts.maxBatchBytes, 63_000);
      if (o.searchInputSelector) searchSel += `,${o.searchInputSelector}`;
      kv = safeKV(() => window.localStorage);
      id = createIdentity(kv, opts.storagePrefix, opts.sessionTimeoutMs);
      // leftovers of earlier pages go out only with consent
      if (capturing()) ensureQueue();
      install();
      navigated(true);
      for (const [m, args] of pending.splice(0)) (api as unknown as Record<string, (...a: unknown[]) => void>)[m]?.(...args);
      for (const fn of readyFns.splice(0)) api.ready(fn);
    },
    track(type, props) {
      // the type is checked by ingest (an unknown one is dead-lettered with the reason, not lost)
      if (typeof type !== 'string') return;
      const p = (props ?? {}) as TrackProps;
      const fields: Record<string, unknown> = {};
      for (const f of FIELDS) if (p[f] !== undefined) fields[f] = p[f];
      const extra = flat(p.properties ?? p, FIELDS);
      if (extra) fields.properties = extra;
      if (type === 'search') return searched(p.search_keyword, 'api', p.results_count);
      capture(type, fields as Partial<WireEvent>);
    },
    page(props) {
      lastUrl = hrefNow();
      reached = [];
      api.track('page_view', { page_title: document.title.slice(0, 300), ...props });
    },
    search(keyword, o) {
      searched(keyword, 'api', o?.resultsCount);
    },
    identify(userId, o) {
      if (typeof userId !== 'string' || !userId) return log('no userId');
      id.setUser(userId.slice(0, 200), o?.token);
      capture('identify', { traits: flat(o?.traits) });
    },
    promotionView(ids, o) {
      const list = (Array.isArray(ids) ? ids : []).filter((x) => typeof x === 'string' && x).slice(0, 50);
      if (list.length) capture('promotion_view', { promotion_ids: list, personalized: !!o?.personalized });
    },
    reset() {
      id.reset();
      kv.del(key('ls'));
    },
    optOut() {
      kv.set(key('consent'), 'out');
      queue?.clear();
    },
    optIn() {
      kv.set(key('consent'), 'in');
      ensureQueue();
    },
    isOptedOut: () => !capturing(),
    flush: () => (queue ? queue.flush() : Promise.resolve()),
    anonymousId: () => id.anonymousId(),
    sessionId: () => id.touchSession(Date.now()),
    userId: () => id.userId(),
    ready(fn) {
      if (!opts) return void readyFns.push(fn);
      try {
        fn(api);
      } catch (err) {
        log('ready', err);
      }
    },
    shutdown() {
      for (const off of offs.splice(0)) off();
      clearTimeout(typing);
      clearTimeout(scrollTimer);
    },
  };

  // Nothing escapes into the host page: every method is guarded, and calls made
  // before init() are kept and replayed by it.
  // Before init, getters answer empty and flush resolves at once.
  const safe = {} as Record<string, unknown>;
  for (const [name, fn] of Object.entries(api) as [string, (...a: unknown[]) => unknown][]) {
    safe[name] = (...args: unknown[]) => {
      try {
        if (opts || name === 'init' || name === 'ready' || name === 'isOptedOut') {
          const r = fn(...args);
          return r instanceof Promise ? r.catch(log) : r;
        }
        if (name === 'flush') return Promise.resolve();
        if (!/Id$/.test(name)) pending.push([name, args]);
      } catch (err) {
        log(name, err);
      }
      return name === 'userId' ? null : /Id$/.test(name) ? '' : undefined;
    };
  }
  Object.assign(api, safe);
  return api;
}

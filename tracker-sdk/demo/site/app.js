// Hearth & Air: the demo storefront. A small single-page app (history API
// routing) so that the SDK's SPA page views are exercised, with real links,
// a search form, product pages carrying data-* ids, a contact form and long
// pages. All text from the catalog and the promotions API is set with
// textContent (never innerHTML), and promotion urls are used only when they
// are relative or https.

const ICON = {
  humidifiers: '💧',
  'air-purifiers': '🌬️',
  fans: '🌀',
  heaters: '🔥',
  coffee: '☕',
  kitchen: '🍳',
  vacuums: '🧹',
  bedding: '🛏️',
  lighting: '💡',
  audio: '🎧',
};
const app = document.getElementById('app');
const sp = () => window.storepulse;
let catalog = { categories: [], products: [] };

function el(tag, attrs, ...children) {
  const node = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs || {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k === 'text') node.textContent = String(v);
    else node.setAttribute(k, String(v));
  }
  for (const c of children.flat()) if (c) node.append(c);
  return node;
}

const money = (p) => new Intl.NumberFormat('en-IE', { style: 'currency', currency: p.currency || 'EUR' }).format(p.price);
const stem = (w) => w.toLowerCase().replace(/(es|s)$/, '');

export function searchProducts(query) {
  const words = query
    .toLowerCase()
    .split(/[^a-z0-9.]+/)
    .filter(Boolean)
    .map(stem);
  if (!words.length) return [];
  return catalog.products.filter((p) => {
    const hay = [p.name, p.category, p.category_name, p.description, ...p.keywords].join(' ').toLowerCase();
    return words.every((w) => hay.includes(w));
  });
}

function safeUrl(url) {
  if (typeof url !== 'string') return null;
  if (url.startsWith('/') && !url.startsWith('//')) return url;
  try {
    return new URL(url).protocol === 'https:' ? url : null;
  } catch {
    return null;
  }
}

function productCard(p) {
  return el(
    'article',
    { class: 'card', 'data-product-id': p.id, 'data-category': p.category },
    el('div', { class: 'thumb', 'aria-hidden': 'true', text: ICON[p.category] || '🛍️' }),
    el('a', { href: `/products/${p.id}`, class: 'product-link', text: p.name }),
    el('p', { class: 'muted', text: p.category_name }),
    el('p', { class: 'price', text: money(p) }),
  );
}

function filler(title, paragraphs = 6) {
  const s = el('section', { class: 'section long' }, el('h2', { text: title }));
  const lines = [
    'Dry indoor air in winter irritates skin, eyes and throats; a relative humidity between 40 and 60 percent is what most people find comfortable.',
    'Every product we sell is tested in a real flat for a month before it joins the catalogue, and we publish the noise levels we measured.',
    'Free delivery over €49, 60-day returns, and a two-year warranty handled by us, not by a call centre abroad.',
    'Our team answers questions seven days a week; write to us from the contact page and a human replies within a day.',
    'Filters, wicks and spare parts for everything we sell stay in stock for at least five years after the product leaves the shop.',
    'We ship in recycled cardboard without plastic fillers, and take your old appliance back for recycling when we deliver the new one.',
  ];
  for (let i = 0; i < paragraphs; i++) s.append(el('p', { text: lines[i % lines.length] }));
  return s;
}

function setPage(title, ...nodes) {
  document.title = `${title} — Hearth & Air`;
  app.replaceChildren(...nodes);
  window.scrollTo(0, 0);
}

function withAnonymousId(fn) {
  let done = false;
  const run = (id) => {
    if (done) return;
    done = true;
    fn(id);
  };
  sp()?.ready?.((s) => run(s.anonymousId()));
  // the SDK may be blocked or slow: promotions still load, as for an unknown visitor
  setTimeout(() => run(''), 3000);
}

function renderPromotions(slot) {
  withAnonymousId(async (anonymousId) => {
    try {
      const res = await fetch(`/v1/promotions/${encodeURIComponent(anonymousId || 'anonymous')}`, {
        headers: { accept: 'application/json' },
      });
      if (!res.ok) throw new Error(`promotions answered ${res.status}`);
      const body = await res.json();
      const promos = Array.isArray(body.promotions) ? body.promotions : [];
      slot.replaceChildren(
        ...promos.map((p) => {
          const url = safeUrl(p.url);
          return el(
            url ? 'a' : 'div',
            { class: 'promo', href: url, 'data-promotion-id': String(p.id) },
            el('strong', { text: p.title }),
            el('small', { text: p.reason || '' }),
          );
        }),
      );
      slot.setAttribute('data-personalized', String(!!body.personalized));
      slot.setAttribute('data-state', 'loaded');
      const ids = promos.map((p) => String(p.id));
      if (ids.length) sp()?.promotionView?.(ids, { personalized: !!body.personalized });
    } catch {
      slot.replaceChildren(el('p', { class: 'muted', text: 'Our deals are taking a short break. Browse the shop below.' }));
      slot.setAttribute('data-state', 'error');
    }
  });
}

function home() {
  const slot = el(
    'div',
    { id: 'promotions', class: 'promos', 'data-state': 'loading' },
    el('p', { class: 'muted', text: 'Loading your deals…' }),
  );
  const sections = catalog.categories.map((c) =>
    el(
      'section',
      { class: 'section', id: `cat-${c.slug}` },
      el('h2', {}, el('a', { href: `/category/${c.slug}`, text: c.name })),
      el('div', { class: 'grid' }, catalog.products.filter((p) => p.category === c.slug).map(productCard)),
    ),
  );
  setPage(
    'Home comfort, delivered',
    el(
      'section',
      { class: 'hero' },
      el('h1', { text: 'Breathe easier this winter' }),
      el('p', { text: 'Humidifiers, purifiers, heaters and everything that makes home comfortable.' }),
    ),
    el('h2', { text: 'Deals for you' }),
    slot,
    ...sections,
    filler('Why shop with us'),
  );
  renderPromotions(slot);
}

function searchPage(params) {
  const q = (params.get('q') || '').trim();
  const results = searchProducts(q);
  const input = document.getElementById('search-input');
  if (input && document.activeElement !== input) input.value = q;
  setPage(
    q ? `Search: ${q}` : 'Search',
    el('h1', { text: q ? `Results for “${q}”` : 'Search the shop' }),
    el('p', {
      id: 'results-count',
      'data-results-count': results.length,
      text: `${results.length} product${results.length === 1 ? '' : 's'} found`,
    }),
    el('div', { class: 'grid', id: 'results' }, results.map(productCard)),
    results.length ? null : el('p', { text: 'Nothing matched. Try “humidifier”, “fan” or “coffee”.' }),
    filler('Need help choosing?', 8),
  );
}

function productPage(id) {
  const p = catalog.products.find((x) => x.id === id);
  if (!p) return notFound();
  const related = catalog.products.filter((x) => x.category === p.category && x.id !== p.id);
  const add = el('button', {
    class: 'btn',
    id: 'add-to-cart',
    type: 'button',
    'data-product-id': p.id,
    text: p.in_stock ? 'Add to cart' : 'Notify me',
  });
  add.addEventListener('click', () => {
    const count = document.getElementById('cart-count');
    count.textContent = String(Number(count.textContent) + 1);
    sp()?.track?.('add_to_cart', { product_id: p.id, category: p.category, value: p.price, currency: p.currency });
  });
  setPage(
    p.name,
    el(
      'article',
      { class: 'product', id: 'product', 'data-product-id': p.id, 'data-category': p.category },
      el('div', { class: 'thumb', 'aria-hidden': 'true', text: ICON[p.category] || '🛍️' }),
      el(
        'div',
        {},
        el('p', {}, el('a', { href: `/category/${p.category}`, text: p.category_name })),
        el('h1', { text: p.name }),
        el('p', { class: 'price', text: money(p) }),
        el('p', { class: 'muted', text: `Rated ${p.rating} / 5 · ${p.in_stock ? 'In stock' : 'Back soon'}` }),
        el('p', { text: p.description }),
        add,
      ),
    ),
    el('section', { class: 'section' }, el('h2', { text: 'You may also like' }), el('div', { class: 'grid' }, related.map(productCard))),
    filler('Details and care', 10),
    filler('Reviews', 10),
  );
}

function categoryPage(slug) {
  const c = catalog.categories.find((x) => x.slug === slug);
  if (!c) return notFound();
  setPage(
    c.name,
    el('h1', { text: c.name }),
    el('div', { class: 'grid', 'data-category': c.slug }, catalog.products.filter((p) => p.category === slug).map(productCard)),
    filler(`Buying guide: ${c.name.toLowerCase()}`, 10),
  );
}

function dealsPage(slug, title) {
  const c = catalog.categories.find((x) => x.slug === slug);
  const items = catalog.products.filter((p) => (c ? p.category === c.slug : true)).slice(0, c ? 20 : 12);
  setPage(
    title || (c ? `Deals: ${c.name}` : 'Deals'),
    el('h1', { text: title || (c ? `Deals on ${c.name.toLowerCase()}` : 'This week’s deals') }),
    el('div', { class: 'grid', 'data-category': c ? c.slug : undefined }, items.map(productCard)),
    filler('How our deals work', 6),
  );
}

function contactPage() {
  const form = el(
    'form',
    { id: 'contact-form', name: 'contact', action: '/contact', method: 'post', class: 'stack' },
    el('label', { text: 'Name' }, el('input', { name: 'name', autocomplete: 'name', required: '' })),
    el('label', { text: 'Email' }, el('input', { name: 'email', type: 'email', autocomplete: 'email', required: '' })),
    el(
      'label',
      { text: 'Topic' },
      el(
        'select',
        { name: 'topic' },
        ['Order', 'Product question', 'Returns', 'Other'].map((t) => el('option', { text: t })),
      ),
    ),
    el('label', { text: 'Message' }, el('textarea', { name: 'message', rows: '4' })),
    el('label', {}, el('input', { type: 'checkbox', name: 'newsletter', value: 'yes' }), ' Send me the newsletter'),
    el('button', { class: 'btn', type: 'submit', id: 'contact-submit', text: 'Send' }),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    form.replaceWith(el('p', { class: 'notice', id: 'contact-thanks', text: 'Thanks! We will answer within a day.' }));
  });
  setPage('Contact', el('h1', { text: 'Contact & newsletter' }), form, filler('Visit us', 4));
}

function notFound() {
  setPage('Not found', el('h1', { text: 'Page not found' }), el('p', {}, el('a', { href: '/', text: 'Back to the shop' })));
}

function route() {
  const { pathname, searchParams } = new URL(location.href);
  const m = pathname.match(/^\/(products|category)\/([\w-]+)\/?$/);
  if (pathname === '/' || pathname === '/index.html') home();
  else if (pathname === '/search') searchPage(searchParams);
  else if (m && m[1] === 'products') productPage(m[2]);
  else if (m) categoryPage(m[2]);
  else if (pathname === '/contact') contactPage();
  else if (pathname === '/deals' || pathname.startsWith('/deals/')) dealsPage(pathname.split('/')[2]);
  else if (pathname === '/shipping')
    setPage(
      'Shipping',
      el('h1', { text: 'Free shipping over €49' }),
      el('p', { text: 'Orders over €49 ship free within the EU, usually in two working days.' }),
      filler('Delivery and returns', 6),
    );
  else if (pathname === '/new') dealsPage(undefined, 'New arrivals');
  else if (pathname === '/privacy')
    setPage(
      'Privacy',
      el('h1', { text: 'Privacy' }),
      el('p', { text: 'We honour Global Privacy Control and Do Not Track: with either on, this shop records nothing about your visit.' }),
      filler('Your data', 3),
    );
  else if (pathname === '/cart')
    setPage('Cart', el('h1', { text: 'Your cart' }), el('p', { text: 'This is a demo: the cart only counts.' }));
  else notFound();
}

export function navigate(url) {
  history.pushState(null, '', url);
  route();
}

// same-origin links navigate inside the app (an SPA navigation) unless marked data-native
document.addEventListener('click', (e) => {
  const a = e.target instanceof Element ? e.target.closest('a[href]') : null;
  if (!a || e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || a.target || a.hasAttribute('data-native'))
    return;
  const url = new URL(a.href);
  if (url.origin !== location.origin) return;
  e.preventDefault();
  navigate(url.pathname + url.search);
});

document.getElementById('site-search').addEventListener('submit', (e) => {
  e.preventDefault();
  const q = new FormData(e.currentTarget).get('q');
  navigate(`/search?q=${encodeURIComponent(String(q || '').trim())}`);
});

window.addEventListener('popstate', route);

async function start() {
  const res = await fetch('/products.json');
  catalog = await res.json();
  const nav = document.getElementById('main-nav');
  nav.replaceChildren(...catalog.categories.map((c) => el('a', { href: `/category/${c.slug}`, text: c.name })));
  route();
  document.documentElement.setAttribute('data-ready', '1');
}

start().catch(() => app.replaceChildren(el('p', { text: 'The shop could not load its catalogue. Please reload.' })));

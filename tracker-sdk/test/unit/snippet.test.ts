import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const read = (p: string) => fs.readFileSync(path.join(ROOT, p), 'utf8');
const script = (html: string) => /<script>([\s\S]*?)<\/script>/.exec(html)?.[1]?.trim();

describe('loader snippet', () => {
  it('is embedded in the demo storefront exactly as a shop would paste it', () => {
    const snippet = script(read('snippet.html'));
    expect(snippet).toBeTruthy();
    expect(script(read('demo/site/index.html'))).toBe(snippet);
  });

  it('queues calls made before the SDK loads, in order, and loads /sdk.js asynchronously', () => {
    const appended: { async?: boolean; src?: string }[] = [];
    const win: Record<string, unknown> = {};
    const doc = {
      createElement: () => ({}),
      head: { appendChild: (s: { async?: boolean; src?: string }) => appended.push(s) },
    };
    new Function('window', 'document', script(read('snippet.html'))!)(win, doc);
    const sp = win.storepulse as { _q: [string, unknown[]][]; track(...a: unknown[]): void; ready(fn: () => void): void };
    sp.track('add_to_cart', { product_id: 'p-hum-001' });
    sp.ready(() => {});
    expect(appended).toEqual([{ async: true, src: '/sdk.js' }]);
    expect(sp._q.map(([m]) => m)).toEqual(['init', 'track', 'ready']);
    expect(sp._q[0]![1]).toEqual([{ writeKey: 'wk_demo', endpoint: '/v1/batch' }]);
    expect(sp._q[1]![1]).toEqual(['add_to_cart', { product_id: 'p-hum-001' }]);
  });

  it('is not loaded twice when pasted twice', () => {
    const appended: unknown[] = [];
    const win: Record<string, unknown> = {};
    const doc = { createElement: () => ({}), head: { appendChild: (s: unknown) => appended.push(s) } };
    const run = new Function('window', 'document', script(read('snippet.html'))!);
    run(win, doc);
    run(win, doc);
    expect(appended).toHaveLength(1);
  });
});

describe('demo catalog', () => {
  it('has dozens of products in the ten categories, humidifiers among them, with stable ids', () => {
    const { categories, products } = JSON.parse(read('demo/site/products.json')) as {
      categories: { slug: string }[];
      products: { id: string; category: string; name: string; price: number }[];
    };
    const prefix: Record<string, string> = {
      humidifiers: 'hum',
      'air-purifiers': 'pur',
      fans: 'fan',
      heaters: 'hea',
      coffee: 'cof',
      kitchen: 'kit',
      vacuums: 'vac',
      bedding: 'bed',
      lighting: 'lig',
      audio: 'aud',
    };
    expect(categories.map((c) => c.slug)).toEqual(Object.keys(prefix));
    expect(products.length).toBeGreaterThanOrEqual(36);
    expect(new Set(products.map((p) => p.id)).size).toBe(products.length);
    for (const p of products) {
      expect(p.id).toMatch(new RegExp(`^p-${prefix[p.category]}-\\d{3}$`));
      expect(p.price).toBeGreaterThan(0);
    }
    expect(products.filter((p) => p.category === 'humidifiers').length).toBeGreaterThanOrEqual(4);
  });
});

import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium, type Browser } from 'playwright-core';
import { loadFixture, NOW } from '../fixtures.ts';
import { startReportsApp } from './harness.ts';

const CHROMIUM = '/usr/bin/chromium';
const OUT_DIR = path.resolve(fileURLToPath(new URL('../../../test-output/', import.meta.url)));

let app: Awaited<ReturnType<typeof startReportsApp>>;
let browser: Browser;

beforeAll(async () => {
  if (!fs.existsSync(CHROMIUM)) throw new Error(`${CHROMIUM} is missing: install Debian's chromium (npm run services:up installs it)`);
  app = await startReportsApp();
  // The fixture's day moved to yesterday (whole days), inside the dashboard's 7-day range.
  const days = Math.floor((Date.now() - NOW) / 86_400_000) - 1;
  await loadFixture(app.warehouse.client, Math.max(0, days) * 86_400_000);
  browser = await chromium.launch({
    executablePath: CHROMIUM,
    args: [
      '--headless',
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
});
afterAll(async () => {
  await browser?.close();
  await app?.close();
});

describe('dashboard in headless Chromium', () => {
  it('draws the report charts with Chart.js, refreshes them, and saves a screenshot', async () => {
    const page = await browser.newPage({ viewport: { width: 1280, height: 1000 } });
    const errors: string[] = [];
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${app.baseUrl}/dashboard?site=shop-a&range=7d&refresh=1000`);
    // Browser-side code as strings: this file is compiled without DOM types.
    await page.waitForFunction('Number(document.body.dataset.loaded || 0) >= 1', undefined, { timeout: 15_000 });
    const labels = (id: string) =>
      page.evaluate(`(Chart.getChart(${JSON.stringify(id)}) || { data: { labels: null } }).data.labels`) as Promise<unknown[] | null>;
    expect(await labels('searches-chart')).toEqual(['humidifier', 'cool mist humidifier', 'desk lamp']);
    expect(await labels('scroll-chart')).toEqual(['0%', '25%', '50%', '75%', '100%']);
    expect(await labels('lift-chart')).toEqual(['default', 'personalized']);
    expect((await labels('traffic-chart'))!.length).toBeGreaterThan(0);
    expect(await page.textContent('#lift-note')).toContain('+100.0% vs default');
    expect(await page.textContent('#gaps-table')).toContain('desk lamp');

    // New activity shows up without a reload.
    const now = new Date(Date.now() - 60_000).toISOString().replace('T', ' ').slice(0, 23);
    await app.warehouse.client.insert({
      table: 'activity.events',
      values: Array.from({ length: 5 }, (_, i) => ({
        event_id: `live-${i}`,
        type: 'search',
        date: now,
        received_at: now,
        site: 'shop-a',
        user_key: `a:live${i}`,
        anonymous_id: `live${i}`,
        search_keyword: 'air purifier',
      })),
      format: 'JSONEachRow',
    });
    await page.waitForFunction("Chart.getChart('searches-chart').data.labels[0] === 'air purifier'", undefined, { timeout: 10_000 });

    fs.mkdirSync(OUT_DIR, { recursive: true });
    const file = path.join(OUT_DIR, 'dashboard.png');
    await page.screenshot({ path: file, fullPage: true });
    expect(fs.statSync(file).size).toBeGreaterThan(20_000);
    expect(errors).toEqual([]);
  });
});

/**
 * What every SDK browser test needs: the SDK built from source, the whole app
 * running (startTestApp: ingest, promotions, analytics and the demo storefront
 * in a child process with its own topic prefix), a Kafka consumer that
 * collects what actually arrived on the prefixed topics, and headless
 * Chromium driven by playwright-core.
 */
import fs from 'node:fs';
import { randomUUID } from 'node:crypto';
import { Kafka, logLevel, type Consumer } from 'kafkajs';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { ALL_TOPICS, topicName, type EnrichedEvent } from '@storepulse/contracts';
import { startTestApp, TEST_BROKERS, type TestApp } from '../../../scripts/src/testing/app.ts';
import { buildSdk } from '../../scripts/build.ts';

export const CHROMIUM = '/usr/bin/chromium';

export interface Arrived {
  topic: string;
  key: string | null;
  event: EnrichedEvent;
}

/** Collects every message of the app's topics from the beginning, for the whole file. */
export class KafkaCollector {
  readonly messages: Arrived[] = [];
  private constructor(private readonly consumer: Consumer) {}

  static async start(prefix: string): Promise<KafkaCollector> {
    const kafka = new Kafka({ clientId: 'sdk-e2e', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
    const consumer = kafka.consumer({
      groupId: `${prefix}sdk-e2e-${randomUUID()}`,
      sessionTimeout: 10_000,
      heartbeatInterval: 1000,
      maxWaitTimeInMs: 100,
    });
    const c = new KafkaCollector(consumer);
    await consumer.connect();
    await consumer.subscribe({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)), fromBeginning: true });
    let joined!: () => void;
    const ready = new Promise<void>((r) => (joined = r));
    consumer.on(consumer.events.GROUP_JOIN, () => joined());
    await consumer.run({
      eachMessage: async ({ topic, message }) => {
        let event: EnrichedEvent;
        try {
          event = JSON.parse(message.value?.toString() ?? 'null') as EnrichedEvent;
        } catch {
          return;
        }
        c.messages.push({ topic: topic.slice(prefix.length), key: message.key?.toString() ?? null, event });
      },
    });
    await ready;
    return c;
  }

  /** Events of one visitor (by anonymous id), optionally of one type. */
  of(anonymousId: string, type?: string): EnrichedEvent[] {
    return this.messages.filter((m) => m.event?.anonymous_id === anonymousId && (!type || m.event.type === type)).map((m) => m.event);
  }

  /** Waits until `pick` returns a value (not undefined/false) for what has arrived. */
  async waitFor<T>(what: string, pick: () => T | undefined | false, timeoutMs = 15_000): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pick();
      if (v !== undefined && v !== false) return v;
      if (Date.now() > deadline) {
        const seen = this.messages.slice(-15).map((m) => `${m.topic}:${m.event?.type}:${m.event?.anonymous_id?.slice(0, 8)}`);
        throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last arrivals: ${seen.join(', ') || 'none'}`);
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  }

  async stop(): Promise<void> {
    await this.consumer.disconnect().catch(() => {});
  }
}

export interface E2E {
  app: TestApp;
  kafka: KafkaCollector;
  browser: Browser;
  stop(): Promise<void>;
}

/** Builds the SDK, starts the app, the collector and Chromium. Fails with how to fix a missing part. */
export async function startE2E(extraEnv: Record<string, string> = {}): Promise<E2E> {
  if (!fs.existsSync(CHROMIUM)) {
    throw new Error(
      `Chromium is missing at ${CHROMIUM}: install it with \`apt-get install chromium\` (npm test does this through scripts/src/services/chromium.ts)`,
    );
  }
  await buildSdk({ types: false });
  const app = await startTestApp(extraEnv);
  let kafka: KafkaCollector | undefined;
  let browser: Browser | undefined;
  try {
    kafka = await KafkaCollector.start(app.prefix);
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
  } catch (err) {
    await kafka?.stop();
    await app.stop();
    throw err;
  }
  const k = kafka;
  const b = browser;
  return {
    app,
    kafka: k,
    browser: b,
    async stop() {
      await b.close().catch(() => {});
      await k.stop();
      await app.stop();
    },
  };
}

/**
 * A fresh visitor: its own context, so its own storage and anonymous id. It
 * presents the user agent of a regular desktop Chrome: ingest rightly flags
 * "HeadlessChrome" as a bot, and bots do not move promotions.
 */
export async function newVisitor(e2e: E2E, init?: (ctx: BrowserContext) => Promise<unknown>): Promise<{ ctx: BrowserContext; page: Page }> {
  const userAgent = `Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/${e2e.browser.version()} Safari/537.36`;
  const ctx = await e2e.browser.newContext({ baseURL: e2e.app.baseUrl, viewport: { width: 1200, height: 800 }, userAgent });
  if (init) await init(ctx);
  const page = await ctx.newPage();
  return { ctx, page };
}

/** Opens a storefront path and waits until the app rendered and the SDK replaced the snippet's stub. */
export async function open(page: Page, path: string): Promise<string> {
  await page.goto(path);
  return sdkReady(page);
}

export async function sdkReady(page: Page): Promise<string> {
  await page.waitForSelector('html[data-ready="1"]');
  await page.waitForFunction(() => (window as unknown as { storepulse?: { _loaded?: boolean } }).storepulse?._loaded === true);
  return page.evaluate(
    () =>
      new Promise<string>((resolve) =>
        (window as unknown as { storepulse: { ready(fn: (sp: { anonymousId(): string }) => void): void } }).storepulse.ready((sp) =>
          resolve(sp.anonymousId()),
        ),
      ),
  );
}

/**
 * Tracks a marker event and waits until it is in Kafka. The SDK sends one
 * request at a time, in order, and ingest answers only after Kafka acked, so
 * once the marker arrived every event tracked before it is durable in Kafka
 * too; a short grace lets the collector read the other topics.
 */
export async function settle(page: Page, kafka: KafkaCollector, anonymousId: string): Promise<void> {
  const marker = randomUUID();
  await page.evaluate((m) => {
    const sp = (window as unknown as { storepulse: { track(t: string, p: object): void; flush(): Promise<void> } }).storepulse;
    sp.track('purchase', { properties: { marker: m } });
    return sp.flush();
  }, marker);
  await kafka.waitFor('the marker event', () => kafka.of(anonymousId, 'purchase').some((e) => e.properties?.marker === marker));
  await new Promise((r) => setTimeout(r, 700));
}

export const pathOf = (url: string | undefined) => (url ? new URL(url).pathname + new URL(url).search : undefined);

/**
 * Serves a page of the shop's own making at `path` (on the app's origin) that
 * embeds the SDK with the loader snippet and the given init options: how a
 * shop with other settings than the demo storefront would use it.
 */
export async function customPage(page: Page, path: string, options: Record<string, unknown>, body = ''): Promise<string> {
  const snippet = fs.readFileSync(new URL('../../snippet.html', import.meta.url), 'utf8');
  const html = snippet.replace('{writeKey:"wk_demo",endpoint:"/v1/batch"}', JSON.stringify({ writeKey: 'wk_demo', ...options }));
  if (html === snippet) throw new Error('snippet.html changed: update customPage() in the e2e harness');
  await page.route(`**${path.split('?')[0]}*`, (route) =>
    route.fulfill({
      status: 200,
      contentType: 'text/html',
      body: `<!doctype html><html><head><title>Custom shop page</title>${html}</head><body>${body}
        <a id="home-link" href="/">Home</a> <button id="buy" data-product-id="p-kit-001">Buy</button>
        <div style="height:4000px">long content</div></body></html>`,
    }),
  );
  await page.goto(path);
  await page.waitForFunction(() => (window as unknown as { storepulse?: { _loaded?: boolean } }).storepulse?._loaded === true);
  return page.evaluate(
    () =>
      new Promise<string>((resolve) =>
        (window as unknown as { storepulse: { ready(fn: (sp: { anonymousId(): string }) => void): void } }).storepulse.ready((sp) =>
          resolve(sp.anonymousId()),
        ),
      ),
  );
}

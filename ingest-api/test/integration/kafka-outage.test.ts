import net from 'node:net';
import type { ISocketFactory } from 'kafkajs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, makeEvent, newPrefix, post, startCollector, startIngest, type RunningIngest } from './harness.ts';

/**
 * Cuts the ingest API off Kafka without touching the shared broker. kafkajs
 * learns the advertised address (127.0.0.1:9092) from metadata, so a plain
 * forwarding proxy would be bypassed; instead the socket factory (a kafkajs
 * option) sends every broker connection, seed or advertised, through this
 * proxy to the single local broker.
 * - down: open connections are reset (RST) and new ones reset on accept, as when the broker process dies;
 * - hang: connections stay open but nothing is forwarded, as when the broker or network is wedged;
 * - up: forwarding resumes (paused bytes flow again).
 */
class KafkaSwitch {
  mode: 'up' | 'down' | 'hang' = 'up';
  private server: net.Server | undefined;
  private port = 0;
  private readonly pairs = new Set<{ client: net.Socket; broker: net.Socket }>();

  async init(): Promise<void> {
    this.server = net.createServer((client) => {
      client.on('error', () => {});
      if (this.mode === 'down') {
        client.resetAndDestroy();
        return;
      }
      const broker = net.connect({ host: '127.0.0.1', port: 9092 });
      broker.on('error', () => client.destroy());
      client.on('error', () => broker.destroy());
      const pair = { client, broker };
      this.pairs.add(pair);
      client.on('close', () => {
        this.pairs.delete(pair);
        broker.destroy();
      });
      broker.on('close', () => client.destroy());
      client.pipe(broker);
      broker.pipe(client);
      if (this.mode === 'hang') client.pause();
    });
    await new Promise<void>((r) => this.server!.listen(0, '127.0.0.1', r));
    this.port = (this.server.address() as net.AddressInfo).port;
  }

  readonly factory: ISocketFactory = ({ onConnect }) => {
    const socket = net.connect({ host: '127.0.0.1', port: this.port }, onConnect);
    socket.setKeepAlive(true, 60_000);
    return socket;
  };

  set(mode: 'up' | 'down' | 'hang'): void {
    this.mode = mode;
    for (const { client, broker } of this.pairs) {
      if (mode === 'down') {
        broker.destroy();
        client.resetAndDestroy();
      } else if (mode === 'hang') {
        client.unpipe(broker);
        client.pause();
      } else {
        client.pipe(broker);
        client.resume();
      }
    }
  }

  async close(): Promise<void> {
    this.set('down');
    await new Promise<void>((r) => (this.server ? this.server.close(() => r()) : r()));
  }
}

const TIMEOUT_MS = 1000;
const prefix = newPrefix();
let collector: Awaited<ReturnType<typeof startCollector>>;

beforeAll(async () => {
  await createTopics(prefix);
  collector = await startCollector(prefix);
});

afterAll(async () => {
  await collector?.stop();
  await deleteTopics(prefix);
});

const has = (id: unknown) => collector.messages.some((m) => m.value.event_id === id);

async function untilAccepted(ingest: RunningIngest, ms: number): Promise<{ elapsed: number; ids: unknown[] }> {
  const t0 = Date.now();
  for (;;) {
    const events = [makeEvent('search'), makeEvent('click')];
    const res = await post(ingest.url, { write_key: 'wk_demo', events });
    if (res.status === 202) return { elapsed: Date.now() - t0, ids: events.map((e) => e.event_id) };
    expect(res.status).toBe(503);
    if (Date.now() - t0 > ms) throw new Error(`still ${res.status} after ${ms} ms: ${JSON.stringify(res.json)}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

describe.each([
  ['plain producer, one call in flight (default)', 'false'],
  ['idempotent producer, one call in flight', 'true'],
])('Kafka outage with the %s', (_name, idempotent) => {
  const sw = new KafkaSwitch();
  let ingest: RunningIngest;

  beforeAll(async () => {
    await sw.init();
    ingest = await startIngest(
      prefix,
      {
        PRODUCE_TIMEOUT_MS: String(TIMEOUT_MS),
        MAX_IN_FLIGHT_EVENTS: '200',
        RATE_LIMIT_IP_REQUESTS_PER_S: '0',
        KAFKA_IDEMPOTENT: idempotent,
      },
      sw.factory,
    );
  });

  afterAll(async () => {
    sw.set('up');
    await ingest?.close();
    await sw.close();
  });

  it('answers 202 while Kafka is reachable', async () => {
    const res = await post(ingest.url, { write_key: 'wk_demo', events: [makeEvent('search')] });
    expect(res.status).toBe(202);
  });

  it('answers 503 with Retry-After within PRODUCE_TIMEOUT_MS when Kafka is stopped, and acknowledges nothing', async () => {
    sw.set('down');
    const first = makeEvent('search');
    const t0 = Date.now();
    const inFlight = post(ingest.url, { write_key: 'wk_demo', events: [first] });
    await new Promise((r) => setTimeout(r, 100));
    // These queue behind the stuck produce call; at their deadline they are dropped unsent.
    const queued = [makeEvent('search'), makeEvent('click'), makeEvent('scroll')];
    const responses = await Promise.all([inFlight, ...queued.map((e) => post(ingest.url, { write_key: 'wk_demo', events: [e] }))]);
    const elapsed = Date.now() - t0;
    for (const res of responses) {
      expect(res.status).toBe(503);
      expect(res.json).toEqual({ error: { code: 'kafka_unavailable', message: expect.any(String) } });
      expect(Number(res.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
      expect(res.json).not.toHaveProperty('accepted');
    }
    expect(elapsed).toBeLessThan(TIMEOUT_MS + 100 + 750);
    await expect(ingest.service.checks.kafka!()).rejects.toThrow();

    sw.set('up');
    const back = await untilAccepted(ingest, 15_000);
    await collector.waitFor(() => back.ids.every(has));
    // Requests that never left the queue were never written.
    await new Promise((r) => setTimeout(r, 500));
    for (const e of queued) expect(has(e.event_id)).toBe(false);
  });

  it('answers 202 again once Kafka is back, without a restart, and reports ready', async () => {
    await ingest.service.checks.kafka!();
    const events = [makeEvent('page_view'), makeEvent('search')];
    const res = await post(ingest.url, { write_key: 'wk_demo', events });
    expect(res.status).toBe(202);
    await collector.waitFor(() => events.every((e) => has(e.event_id)));
  });

  it('answers 503 within the bound when the broker accepts connections but never answers', async () => {
    sw.set('hang');
    const t0 = Date.now();
    const res = await post(ingest.url, { write_key: 'wk_demo', events: [makeEvent('search')] });
    expect(res.status).toBe(503);
    expect(res.headers.get('retry-after')).toBeTruthy();
    expect(Date.now() - t0).toBeLessThan(TIMEOUT_MS + 750);
    sw.set('up');
    await untilAccepted(ingest, 20_000);
  });

  it('answers 503 at once instead of queueing without limit under overload', async () => {
    sw.set('down');
    // Fill the in-flight budget (MAX_IN_FLIGHT_EVENTS=200) with requests that wait for Kafka.
    const waiting = Array.from({ length: 4 }, () =>
      post(ingest.url, { write_key: 'wk_demo', events: Array.from({ length: 50 }, () => makeEvent('page_view')) }),
    );
    const gauge = ingest.registry.getSingleMetric('ingest_in_flight_events')!;
    const until = Date.now() + 800;
    while (((await gauge.get()).values[0]?.value ?? 0) < 200 && Date.now() < until) await new Promise((r) => setTimeout(r, 5));
    const t0 = Date.now();
    const res = await post(ingest.url, { write_key: 'wk_demo', events: [makeEvent('search')] });
    // "At once": well before PRODUCE_TIMEOUT_MS (1000) would have answered.
    expect(Date.now() - t0).toBeLessThan(500);
    expect(res.status).toBe(503);
    expect(res.json).toEqual({ error: { code: 'overloaded', message: expect.stringContaining('MAX_IN_FLIGHT_EVENTS') } });
    expect(res.headers.get('retry-after')).toBeTruthy();
    for (const r of await Promise.all(waiting)) expect(r.status).toBe(503);
    sw.set('up');
    await untilAccepted(ingest, 20_000);
    const metrics = await ingest.registry.metrics();
    expect(metrics).toMatch(/ingest_requests_total\{status="503"\} \d+/);
    expect(metrics).toMatch(/ingest_events_rejected_total\{reason="overloaded"\} 1/);
  });
});

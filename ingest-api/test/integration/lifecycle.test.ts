import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createTopics, deleteTopics, makeEvent, newPrefix, post, startCollector, startIngest } from './harness.ts';

const prefix = newPrefix();

beforeAll(async () => {
  await createTopics(prefix);
});

afterAll(async () => {
  await deleteTopics(prefix);
});

describe('graceful shutdown', () => {
  it('finishes in-flight batches, refuses new ones with 503, flushes the producer and stops within the bound', async () => {
    const ingest = await startIngest(prefix, { SHUTDOWN_TIMEOUT_MS: '5000', RATE_LIMIT_IP_REQUESTS_PER_S: '0' });
    const collector = await startCollector(prefix);
    try {
      const batches = Array.from({ length: 20 }, () => ({
        write_key: 'wk_demo',
        events: Array.from({ length: 10 }, () => makeEvent('search')),
      }));
      const inFlight = batches.map((b) => post(ingest.url, b));
      // Stop as soon as some batches are being handled, so they are in flight during shutdown.
      const gauge = ingest.registry.getSingleMetric('ingest_in_flight_requests')!;
      const until = Date.now() + 5000;
      while (((await gauge.get()).values[0]?.value ?? 0) < 1 && Date.now() < until) await new Promise((r) => setImmediate(r));
      const t0 = Date.now();
      const stopping = ingest.service.stop();
      const late = await post(ingest.url, { write_key: 'wk_demo', events: [makeEvent('search')] });
      expect(late.status).toBe(503);
      expect(late.json).toEqual({ error: { code: 'shutting_down', message: expect.any(String) } });
      expect(late.headers.get('retry-after')).toBeTruthy();
      const results = await Promise.all(inFlight);
      await stopping;
      expect(Date.now() - t0).toBeLessThan(5000);
      // Every batch is answered; every 202 is durable.
      const acceptedIds = results.flatMap((r, i) => (r.status === 202 ? batches[i]!.events.map((e) => e.event_id) : []));
      for (const r of results) expect([202, 503]).toContain(r.status);
      expect(acceptedIds.length).toBeGreaterThan(0);
      await collector.waitFor((ms) => acceptedIds.every((id) => ms.some((m) => m.value.event_id === id)));
    } finally {
      await collector.stop();
      await ingest.close();
    }
  });

  it('reports the kafka check as failing with a reason when the topics are missing', async () => {
    const ingest = await startIngest(`${prefix}missing_`);
    try {
      await expect(ingest.service.checks.kafka!()).rejects.toThrow(/topics missing.*topics:create/);
    } finally {
      await ingest.close();
    }
  });
});

import express from 'express';
import type { AddressInfo } from 'node:net';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createIngestService, loadIngestConfig } from '@storepulse/ingest-api';
import { BROKERS, createTopics, deleteTopics, makeEvent, newPrefix } from './harness.ts';

const prefix = newPrefix();

beforeAll(async () => {
  await createTopics(prefix);
});

afterAll(async () => {
  await deleteTopics(prefix);
});

describe('mounted in a host app', () => {
  it('works through the package entry point even behind a global express.json() parser', async () => {
    const config = loadIngestConfig({ TOPIC_PREFIX: prefix, KAFKA_BROKERS: BROKERS.join(','), IDENTITY_SECRET: 'test-identity-secret' });
    const service = createIngestService({ config, logger: pino({ level: 'silent' }), registry: new Registry() });
    const app = express();
    app.use(express.json());
    service.mount(app);
    await service.start();
    const server = app.listen(0, '127.0.0.1');
    await new Promise((r) => server.once('listening', r));
    try {
      const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
      const res = await fetch(`${url}/v1/batch`, {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        body: JSON.stringify({ write_key: 'wk_demo', events: [makeEvent('search'), makeEvent('bogus')] }),
      });
      expect(res.status).toBe(202);
      expect(await res.json()).toMatchObject({ accepted: 1, rejected: [{ index: 1 }] });
      await service.checks.kafka!();
    } finally {
      await service.stop();
      server.closeAllConnections();
      await new Promise((r) => server.close(r));
    }
  });
});

/**
 * Helper for breakdown.ts: serves POST /v1/batch in one of three ways, to
 * split the API's CPU per event into HTTP, our own work and kafkajs.
 *   bare     express 5 answers 202 after reading the body (no parsing)
 *   no-kafka the real ingest router, with a producer that acknowledges at once
 *   platformatic the real ingest service (settings from the environment, as main.ts),
 *            its group-commit pipeline sending through @platformatic/kafka instead of
 *            kafkajs (bench only: readiness still uses a kafkajs admin client)
 */
import express from 'express';
import type { Kafka } from 'kafkajs';
import { pino } from 'pino';
import { Registry } from 'prom-client';
import { createIngestService, loadIngestConfig } from '../src/index.ts';
import { createKafka } from '../src/kafka.ts';
import { platformaticAsKafkajs } from './platformatic-adapter.ts';

const [mode, port] = [process.argv[2], Number(process.argv[3])];
const app = express();
if (mode === 'bare') {
  app.post('/v1/batch', (req, res) => {
    req.on('data', () => {});
    req.on('end', () => {
      res.status(202).json({ accepted: 10, rejected: [] });
    });
  });
} else if (mode === 'platformatic') {
  const config = loadIngestConfig(process.env);
  const logger = pino({ level: 'warn' });
  const kafka = platformaticAsKafkajs(config, createKafka(config, logger));
  const service = createIngestService({ config, logger, registry: new Registry(), kafka });
  service.mount(app);
  await service.start();
} else {
  const fakeKafka = {
    producer: () => ({ connect: async () => {}, disconnect: async () => {}, sendBatch: async () => [] }),
    admin: () => ({ connect: async () => {}, disconnect: async () => {}, listTopics: async () => [] }),
  } as unknown as Kafka;
  const config = loadIngestConfig({
    RATE_LIMIT_IP_REQUESTS_PER_S: '0',
    RATE_LIMIT_KEY_EVENTS_PER_S: '0',
    RATE_LIMIT_VISITOR_EVENTS_PER_S: '0',
    IDENTITY_SECRET: 'bench-identity-secret',
  });
  const service = createIngestService({ config, logger: pino({ level: 'warn' }), registry: new Registry(), kafka: fakeKafka });
  service.mount(app);
  await service.start();
}
app.get('/readyz', (_req, res) => {
  res.json({ ok: true });
});
app.listen(port, '127.0.0.1');
process.on('SIGTERM', () => process.exit(0));

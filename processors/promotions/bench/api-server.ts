/** The homepage API alone (no consumer), for the API benchmark. Prints "ready" when listening. */
import express from 'express';
import pino from 'pino';
import { Registry } from 'prom-client';
import { createPromotionsService, loadPromotionsConfig } from '../src/index.ts';

const config = loadPromotionsConfig(process.env);
const service = createPromotionsService({ config, logger: pino({ level: 'warn' }), registry: new Registry(), consume: false });
const app = express();
app.disable('x-powered-by');
app.disable('etag');
service.mount(app);
await service.start();
const server = app.listen(config.port, '127.0.0.1', () => process.stdout.write('ready\n'));
server.keepAliveTimeout = 60_000;
process.on('SIGTERM', () => {
  server.close();
  void service.stop().then(() => process.exit(0));
});

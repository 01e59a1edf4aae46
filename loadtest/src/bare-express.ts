/**
 * The comparison endpoint for `npm run bench`: express 5 that only parses the
 * same bodies the ingest API gets (JSON or text/plain) and answers 202.
 * Plain JavaScript-compatible TypeScript so it runs without a loader on Node 24.
 */
import express from 'express';

const app = express();
app.use(express.json({ limit: '512kb', type: ['application/json'] }));
app.use(express.text({ limit: '512kb', type: ['text/plain'] }));
app.post('/v1/batch', (req, res) => {
  const body = typeof req.body === 'string' ? JSON.parse(req.body) : req.body;
  const n = Array.isArray(body?.events) ? body.events.length : 0;
  res.status(202).json({ accepted: n, rejected: [] });
});
const server = app.listen(Number(process.env.PORT ?? 0), '127.0.0.1', () => {
  process.stdout.write(`listening ${JSON.stringify(server.address())}\n`);
});
process.on('SIGTERM', () => server.close(() => process.exit(0)));

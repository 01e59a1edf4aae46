/**
 * Homepage API benchmark: a fixed arrival rate (open loop, so a slow answer
 * cannot slow the sender down and hide its own latency) against the API
 * process on 127.0.0.1, reading ioredis-backed user_promotions of seeded
 * visitors. Latency is measured from each request's scheduled start.
 *
 *   npm run bench:api -w processors/promotions -- [rate=5000] [seconds=10]
 */
import http from 'node:http';
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { parseCatalog } from '../src/catalog.ts';
import { DEFAULT_CATALOG_PATH, loadPromotionsConfig } from '../src/config.ts';
import { encodeReason } from '../src/profile.ts';
import { PromotionsStore } from '../src/store.ts';
import { Updater } from '../src/updater.ts';
import { dropPrefix, percentile, REDIS_URL, startChild, stopChild } from './common.ts';

const rate = Number(process.argv[2] ?? 5000);
const seconds = Math.min(60, Number(process.argv[3] ?? 10));
const port = 3900 + Math.floor(Math.random() * 90);
const prefix = `bench${Date.now().toString(36)}_`;
const VISITORS = 10_000;

const redis = new Redis(REDIS_URL);
const config = loadPromotionsConfig({ TOPIC_PREFIX: prefix });
const catalog = parseCatalog(readFileSync(DEFAULT_CATALOG_PATH, 'utf8'));
const updater = new Updater({ store: new PromotionsStore(redis, prefix, config), catalog: () => catalog, config, now: Date.now });
const terms = [...catalog.byTerm.keys()];
process.stderr.write(`seeding ${VISITORS} visitors...\n`);
const now = Date.now();
for (let i = 0; i < VISITORS; i += 200) {
  await Promise.all(
    Array.from({ length: 200 }, async (_, j) => {
      const v = `a:bench-${i + j}`;
      const t1 = terms[(i + j) % terms.length]!;
      const t2 = terms[(i + j * 7) % terms.length]!;
      const r = await updater.store.apply(
        v,
        `seed-${i + j}`,
        now,
        [
          { term: t1, weight: 10, reason: encodeReason(now, 'search', t1) },
          { term: t2, weight: 4, reason: encodeReason(now, 'click', t2) },
        ],
        now,
      );
      if (r.status === 'applied' || r.status === 'duplicate') await updater.publish(v, r.profile, catalog);
    }),
  );
}

const child = await startChild('bench/api-server.ts', {
  TOPIC_PREFIX: prefix,
  PROMOTIONS_PORT: String(port),
  REDIS_URL,
  LOG_LEVEL: 'warn',
});
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const get = (path: string) =>
  new Promise<number>((resolve, reject) => {
    const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
  });

// Warm-up: connections, JIT.
for (let i = 0; i < 2000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => get(`/v1/promotions/bench-${i + j}`)));

const total = rate * seconds;
const latencies = new Float64Array(total);
let done = 0;
let errors = 0;
const start = performance.now();
await new Promise<void>((resolve) => {
  let sent = 0;
  const tick = () => {
    const elapsed = performance.now() - start;
    const due = Math.min(total, Math.floor((elapsed / 1000) * rate));
    for (; sent < due; sent++) {
      const scheduled = start + (sent / rate) * 1000;
      const i = sent;
      get(`/v1/promotions/bench-${i % VISITORS}`)
        .then((status) => {
          if (status !== 200) errors++;
        })
        .catch(() => errors++)
        .finally(() => {
          latencies[i] = performance.now() - scheduled;
          if (++done === total) resolve();
        });
    }
    if (sent < total) setImmediate(tick);
  };
  tick();
});
const wall = (performance.now() - start) / 1000;
latencies.sort();
const fmt = (x: number) => x.toFixed(2);
const line = `rate=${rate}/s duration=${seconds}s requests=${total} achieved=${Math.round(total / wall)}/s errors=${errors} p50=${fmt(percentile(latencies, 50))}ms p90=${fmt(percentile(latencies, 90))}ms p99=${fmt(percentile(latencies, 99))}ms p99.9=${fmt(percentile(latencies, 99.9))}ms max=${fmt(latencies[latencies.length - 1]!)}ms`;
process.stdout.write(`${line}\n`);
await stopChild(child);
agent.destroy();
await dropPrefix(prefix, redis);
redis.disconnect();
process.exit(errors > 0 ? 1 : 0);

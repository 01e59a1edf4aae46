/**
 * Homepage API benchmark: a fixed arrival rate (open loop, so a slow answer
 * cannot slow the sender down and hide its own latency) against the API
 * process on 127.0.0.1, reading ioredis-backed user_promotions of seeded
 * visitors. Latency is measured from each request's scheduled start.
 *
 *   npm run bench:api -w processors/promotions -- [rate=5000] [seconds=10]
 *
 * The sender is bench/raw-client.ts (raw keep-alive sockets, ≤ 256); LOADGEN=http
 * uses node:http's client instead (several times the server's CPU per request).
 * SERVER_CPUS=<list> pins the server (taskset) to measure it on a core of its own. WARMUP_S (default 5)
 * seconds at the same rate come first and are not measured.
 * PROFILE_OUT=<file.cpuprofile>
 * profiles the server over the measured window only. Either way a CPU line
 * reports µs of CPU per request: the server (/proc), this load generator
 * (process.cpuUsage) and Redis (INFO cpu and commandstats; Redis is shared,
 * so its whole-server figure includes anyone else's traffic).
 */
import { execFileSync } from 'node:child_process';
import http from 'node:http';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Redis } from 'ioredis';
import { readFileSync } from 'node:fs';
import { parseCatalog } from '../src/catalog.ts';
import { DEFAULT_CATALOG_PATH, loadPromotionsConfig } from '../src/config.ts';
import { encodeReason } from '../src/profile.ts';
import { PromotionsStore } from '../src/store.ts';
import { Updater } from '../src/updater.ts';
import { RawGetClient } from './raw-client.ts';
import {
  dropPrefix,
  loadAverage,
  percentile,
  procCpuSeconds,
  REDIS_URL,
  redisCpu,
  redisCpuDelta,
  startChild,
  stopChild,
} from './common.ts';

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

const profileOut = process.env.PROFILE_OUT;
const child = await startChild('bench/api-server.ts', {
  TOPIC_PREFIX: prefix,
  PROMOTIONS_PORT: String(port),
  REDIS_URL,
  LOG_LEVEL: 'warn',
  ...(profileOut ? { PROFILE_OUT: profileOut } : {}),
});
// SERVER_CPUS=1: pin the API server to those CPUs (taskset), to measure it on a core of its own; pin
// this sender, Redis and Kafka elsewhere yourself (`taskset -c 0 npm run bench:api …`,
// `taskset -a -p -c 0 <pid>`). Unset: the scheduler places everything.
if (process.env.SERVER_CPUS) execFileSync('taskset', ['-a', '-p', '-c', process.env.SERVER_CPUS, String(child.pid)], { stdio: 'ignore' });
const childSays = (marker: string) =>
  new Promise<void>((ok) => {
    const on = (d: Buffer) => {
      if (String(d).includes(marker)) {
        child.stdout!.off('data', on);
        ok();
      }
    };
    child.stdout!.on('data', on);
  });
// LOADGEN=http: node:http's client (heavier); default: the raw keep-alive client of raw-client.ts.
const agent = new http.Agent({ keepAlive: true, maxSockets: 256 });
const raw = new RawGetClient('127.0.0.1', port, 256);
const get =
  process.env.LOADGEN === 'http'
    ? (path: string) =>
        new Promise<number>((resolve, reject) => {
          const req = http.get({ host: '127.0.0.1', port, path, agent }, (res) => {
            res.resume();
            res.on('end', () => resolve(res.statusCode ?? 0));
          });
          req.on('error', reject);
        })
    : (path: string) => raw.get(path);

/** Sends `total` GETs at `rate` per second from a fixed schedule (open loop); latency from each scheduled start. */
function openLoop(total: number): Promise<{ latencies: Float64Array; errors: number }> {
  const latencies = new Float64Array(total);
  let done = 0;
  let errors = 0;
  const start = performance.now();
  return new Promise((resolve) => {
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
            if (++done === total) resolve({ latencies, errors });
          });
      }
      // A 1 ms timer, not setImmediate: a spinning sender would take a whole core from the server it measures.
      if (sent < total) setTimeout(tick, 1);
    };
    tick();
  });
}

// Warm-up: connections, then WARMUP_S seconds (default 5) at the measured rate, not measured, so the
// figures are of the steady state rather than of the JIT compiling the handler and the sender.
for (let i = 0; i < 2000; i += 100) await Promise.all(Array.from({ length: 100 }, (_, j) => get(`/v1/promotions/bench-${i + j}`)));
const warmupS = Number(process.env.WARMUP_S ?? 5);
if (warmupS > 0) await openLoop(Math.round(rate * warmupS));

const total = rate * seconds;
if (profileOut) {
  const p = childSays('profiling');
  child.kill('SIGUSR2');
  await p;
}
const load0 = loadAverage();
const cpu0 = { server: procCpuSeconds(child.pid!), self: process.cpuUsage(), redis: await redisCpu(redis) };
const loopDelay = monitorEventLoopDelay({ resolution: 1 });
loopDelay.enable();
child.kill('SIGHUP');
const start = performance.now();
const { latencies, errors } = await openLoop(total);
loopDelay.disable();
const serverCpu = procCpuSeconds(child.pid!) - cpu0.server;
const selfCpuUsage = process.cpuUsage(cpu0.self);
const selfCpu = (selfCpuUsage.user + selfCpuUsage.system) / 1e6;
const rd = redisCpuDelta(cpu0.redis, await redisCpu(redis));
const load1 = loadAverage();
if (profileOut) {
  const p = childSays('profiled');
  child.kill('SIGUSR2');
  await p;
}
const wall = (performance.now() - start) / 1000;
latencies.sort();
const fmt = (x: number) => x.toFixed(2);
const line = `rate=${rate}/s duration=${seconds}s requests=${total} achieved=${Math.round(total / wall)}/s errors=${errors} p50=${fmt(percentile(latencies, 50))}ms p90=${fmt(percentile(latencies, 90))}ms p99=${fmt(percentile(latencies, 99))}ms p99.9=${fmt(percentile(latencies, 99.9))}ms max=${fmt(latencies[latencies.length - 1]!)}ms`;
process.stdout.write(`${line}\n`);
const us = (cpuS: number) => ((cpuS * 1e6) / total).toFixed(0);
const get_ = rd.cmds.find(([c]) => c === 'get');
process.stdout.write(
  `loadgen=${process.env.LOADGEN ?? 'raw'}${process.env.LOADGEN ? '' : ` (${raw.connections} connections)`} cpu µs/request: server=${us(serverCpu)} (${((100 * serverCpu) / wall).toFixed(0)} % of a core) loadgen=${us(selfCpu)} redis=${us(rd.cpuS)}${rd.restarted ? ' (redis restarted: void)' : ''} redis GET calls=${get_?.[1] ?? 0} usec/call=${get_ ? (get_[2] / get_[1]).toFixed(2) : '-'}; load average ${load0} -> ${load1}\n`,
);
const ms = (ns: number) => (ns / 1e6).toFixed(2);
process.stdout.write(
  `load generator event-loop delay: p50=${ms(loopDelay.percentile(50))}ms p99=${ms(loopDelay.percentile(99))}ms max=${ms(loopDelay.max)}ms\n`,
);
child.stdout!.on('data', (d: Buffer) => {
  for (const l of String(d).split('\n')) if (l.startsWith('server event-loop')) process.stdout.write(`${l}\n`);
});
await stopChild(child);
agent.destroy();
raw.close();
await dropPrefix(prefix, redis);
redis.disconnect();
process.exit(errors > 0 ? 1 : 0);

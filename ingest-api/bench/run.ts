/**
 * Ingest benchmark (not a test). Posts 10-event batches to a freshly started
 * ingest API on 127.0.0.1 and reports events/s, latency p50/p99 and the API's
 * peak RSS, plus the raw kafkajs producer ceiling measured in the same run.
 *
 *   npm run bench -w ingest-api
 *   RATE=500 npm run bench -w ingest-api     # latency at 500 requests/s (5,000 events/s)
 *   DURATION_S=20 CONNECTIONS=32 INGEST_NODE_FLAGS='--max-semi-space-size=4' KAFKA_IDEMPOTENT=false KAFKA_MAX_IN_FLIGHT=4 npm run bench -w ingest-api
 *   INGEST_WORKERS=2 npm run bench -w ingest-api             # node:cluster workers (CPU and RSS summed over them)
 *   BROKER_PID=<kafka pid> RAW_S=0 npm run bench -w ingest-api  # also the broker's CPU; no raw-producer ceiling
 *   INGEST_NODE_FLAGS='--max-semi-space-size=16 --cpu-prof --cpu-prof-dir=/tmp/prof' npm run bench -w ingest-api
 *     then: node --import tsx bench/profile-summary.ts /tmp/prof/*.cpuprofile --last-s 20
 *
 * Every KAFKA_* / MAX_* / PRODUCE_* setting in the environment is passed to the API;
 * INGEST_NODE_FLAGS replaces the API's node flags (default: those of the start script).
 * Needs the local Kafka (npm run services:up). Runs well under two minutes.
 */
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import autocannon from 'autocannon';
import { CompressionTypes, Kafka, Partitioners, logLevel } from 'kafkajs';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import { ensureTopics, kafkaAnswers } from '../../scripts/src/services/topics.ts';
import { noDelaySocketFactory } from '../src/kafka.ts';
import { batchBody } from './batch-body.ts';

const here = dirname(fileURLToPath(import.meta.url));
const DURATION_S = Number(process.env.DURATION_S ?? 20);
const CONNECTIONS = Number(process.env.CONNECTIONS ?? 32);
const RAW_S = Number(process.env.RAW_S ?? 8);
// Optional fixed request rate (open-ish loop) for latency at a given load; unset = as fast as possible.
const RATE = process.env.RATE ? Number(process.env.RATE) : undefined;
const BROKERS = (process.env.KAFKA_BROKERS ?? 'localhost:9092').split(',');
const prefix = `bench${Date.now().toString(36)}_`;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

async function rawProducerCeiling(messagesPerCall: number, seconds: number): Promise<{ msgs_per_s: number; msgs_per_cpu_second: number }> {
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: BROKERS, logLevel: logLevel.NOTHING, socketFactory: noDelaySocketFactory });
  const idempotent = (process.env.KAFKA_IDEMPOTENT ?? 'true') === 'true';
  const inFlight = idempotent ? 1 : Number(process.env.KAFKA_MAX_IN_FLIGHT ?? 1);
  const producer = kafka.producer({ idempotent, createPartitioner: Partitioners.DefaultPartitioner, allowAutoTopicCreation: false });
  await producer.connect();
  // A typical enriched value (~700 bytes), keyed by visitor, spread over the activity topics.
  const sample = {
    ...JSON.parse(batchBody(0)).events[0],
    date: Date.now(),
    received_at: Date.now(),
    sent_at: Date.now(),
    site: 'demo',
    user_id: null,
    user_verified: false,
    context: { is_bot: false, user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Firefox/140.0' },
  };
  const value = Buffer.from(JSON.stringify(sample)); // as the API passes values
  const topics = ['page_views', 'searches', 'clicks', 'scrolls'].map((t) => topicName(prefix, t));
  const compression = process.env.KAFKA_COMPRESSION === 'gzip' ? CompressionTypes.GZIP : CompressionTypes.None;
  // Warm-up: metadata, leader lookup and producer id are not part of the ceiling.
  await producer.sendBatch({ topicMessages: topics.map((topic) => ({ topic, messages: [{ key: 'warm', value }] })), acks: -1 });
  let sent = 0;
  const until = performance.now() + seconds * 1000;
  const t0 = performance.now();
  const cpu0 = process.cpuUsage();
  const lane = async () => {
    while (performance.now() < until) {
      const byTopic = topics.map((topic, ti) => ({
        topic,
        messages: Array.from({ length: Math.ceil(messagesPerCall / topics.length) }, (_, k) => ({
          key: `a-${(sent + k * 31 + ti) % 5000}`,
          value,
        })),
      }));
      await producer.sendBatch({ topicMessages: byTopic, acks: -1, compression });
      sent += byTopic.reduce((n, t) => n + t.messages.length, 0);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, lane));
  const rate = sent / ((performance.now() - t0) / 1000);
  const cpu = process.cpuUsage(cpu0);
  await producer.disconnect();
  return { msgs_per_s: Math.round(rate), msgs_per_cpu_second: Math.round(sent / ((cpu.user + cpu.system) / 1e6)) };
}

/** The process and its descendants (cluster workers with INGEST_WORKERS > 1). */
function processTree(pid: number): number[] {
  const out = [pid];
  for (let i = 0; i < out.length; i++) {
    try {
      const kids = readFileSync(`/proc/${out[i]}/task/${out[i]}/children`, 'utf8').trim();
      if (kids) out.push(...kids.split(' ').map(Number));
    } catch {
      // exited meanwhile
    }
  }
  return out;
}

/** CPU seconds (user + system) a process tree has used so far (live processes). */
function cpuSecondsOf(pid: number): number {
  let s = 0;
  for (const p of processTree(pid)) {
    try {
      const fields = readFileSync(`/proc/${p}/stat`, 'utf8').split(') ')[1]!.split(' ');
      s += (Number(fields[11]) + Number(fields[12])) / 100; // utime, stime in clock ticks (USER_HZ = 100)
    } catch {
      // exited meanwhile
    }
  }
  return s;
}

/** RSS of a process tree: the sum and the largest single process. */
function rssOf(pid: number): { total: number; max: number } {
  let total = 0;
  let max = 0;
  for (const p of processTree(pid)) {
    try {
      const m = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${p}/status`, 'utf8'));
      const rss = m ? Number(m[1]) * 1024 : 0;
      total += rss;
      max = Math.max(max, rss);
    } catch {
      // exited meanwhile
    }
  }
  return { total, max };
}

async function main(): Promise<void> {
  if (!(await kafkaAnswers(BROKERS))) throw new Error('Kafka does not answer at localhost:9092; start it with `npm run services:up`');
  await ensureTopics({ brokers: BROKERS, prefix, partitions: 6, replicationFactor: 1 });
  const settings = Object.fromEntries(Object.entries(process.env).filter(([k]) => /^(KAFKA_|MAX_|PRODUCE_|INGEST_WORKERS)/.test(k)));
  try {
    // RAW_S=0 skips the raw producer ceiling (repeated A/B runs of the API).
    const rawSmall = RAW_S > 0 ? await rawProducerCeiling(10, RAW_S / 2) : 'skipped';
    const rawBig = RAW_S > 0 ? await rawProducerCeiling(1000, RAW_S / 2) : 'skipped';

    const port = await freePort();
    // Same V8 flags as `npm run start -w ingest-api` unless told otherwise.
    const nodeFlags = (process.env.INGEST_NODE_FLAGS ?? '--max-semi-space-size=16').split(' ').filter(Boolean);
    const variant = process.env.INGEST_VARIANT; // bare | no-kafka: see variant-server.ts
    const entry = variant ? [resolve(here, 'variant-server.ts'), variant, String(port)] : [resolve(here, '../src/main.ts')];
    const child = spawn(process.execPath, [...nodeFlags, '--import', 'tsx', ...entry], {
      cwd: resolve(here, '..'),
      env: {
        ...process.env,
        PORT: String(port),
        TOPIC_PREFIX: prefix,
        LOG_LEVEL: 'warn',
        RATE_LIMIT_IP_REQUESTS_PER_S: '0',
        RATE_LIMIT_KEY_EVENTS_PER_S: '0',
        RATE_LIMIT_VISITOR_EVENTS_PER_S: '0',
        IDENTITY_SECRET: 'bench-identity-secret',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    const url = `http://127.0.0.1:${port}`;
    try {
      const until = Date.now() + 20_000;
      for (;;) {
        const ok = await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        );
        if (ok) break;
        if (Date.now() > until) throw new Error('ingest API did not get ready within 20 s');
        await new Promise((r) => setTimeout(r, 200));
      }
      const bodies = Array.from({ length: 200 }, (_, i) => batchBody(i));
      let next = 0;
      const run = (duration: number) =>
        autocannon({
          url: `${url}/v1/batch`,
          method: 'POST',
          connections: CONNECTIONS,
          duration,
          ...(RATE ? { overallRate: RATE } : {}),
          headers: { 'content-type': 'application/json' },
          requests: [{ setupRequest: (req: Record<string, unknown>) => ({ ...req, body: bodies[next++ % bodies.length] }) }],
        });
      await run(3); // warm-up: JIT, connections, producer batches
      let peakRss = 0;
      let peakRssOne = 0;
      const sample = () => {
        const r = rssOf(child.pid!);
        peakRss = Math.max(peakRss, r.total);
        peakRssOne = Math.max(peakRssOne, r.max);
      };
      const sampler = setInterval(sample, 200);
      const cpu0 = cpuSecondsOf(child.pid!);
      // Where the rest of the machine goes: this process (autocannon) and, given its pid, the broker.
      const loadgenCpu0 = process.cpuUsage();
      const brokerPid = process.env.BROKER_PID ? Number(process.env.BROKER_PID) : undefined;
      const brokerCpu0 = brokerPid ? cpuSecondsOf(brokerPid) : 0;
      const load0 = readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
      const result = await run(DURATION_S);
      const ingestCpuS = cpuSecondsOf(child.pid!) - cpu0;
      const loadgenCpu = process.cpuUsage(loadgenCpu0);
      const brokerCpuS = brokerPid ? cpuSecondsOf(brokerPid) - brokerCpu0 : undefined;
      clearInterval(sampler);
      sample();
      const non2xx = result.non2xx;
      const eventsPerS = ((result.requests.total - non2xx) * 10) / DURATION_S;
      const metrics = await (await fetch(`${url}/metrics`)).text();
      const batchSum = Number(/^ingest_kafka_batch_events_sum (\S+)$/m.exec(metrics)?.[1] ?? 0);
      const batchCount = Number(/^ingest_kafka_batch_events_count (\S+)$/m.exec(metrics)?.[1] ?? 1);
      const report = {
        when: new Date().toISOString(),
        node: process.version,
        settings,
        ingest_node_flags: nodeFlags.join(' '),
        variant: variant ?? 'full',
        connections: CONNECTIONS,
        target_requests_per_s: RATE ?? 'max',
        duration_s: DURATION_S,
        requests_per_s: Math.round(result.requests.average),
        events_per_s: Math.round(eventsPerS),
        latency_ms: { p50: result.latency.p50, p90: result.latency.p90, p99: result.latency.p99, max: result.latency.max },
        non_2xx: non2xx,
        errors: result.errors,
        ingest_cpu_cores_used: Math.round((ingestCpuS / DURATION_S) * 100) / 100,
        load_generator_cpu_cores_used: Math.round(((loadgenCpu.user + loadgenCpu.system) / 1e6 / DURATION_S) * 100) / 100,
        ...(brokerCpuS !== undefined ? { broker_cpu_cores_used: Math.round((brokerCpuS / DURATION_S) * 100) / 100 } : {}),
        events_per_ingest_cpu_second: Math.round(((result.requests.total - non2xx) * 10) / Math.max(0.01, ingestCpuS)),
        machine_load_avg_1m_before: Number(load0),
        ingest_workers: process.env.INGEST_WORKERS ?? '1',
        ingest_peak_rss_mb: Math.round(peakRss / 1048576),
        ingest_peak_rss_mb_largest_process: Math.round(peakRssOne / 1048576),
        ingest_heap_total_mb_at_end: Math.round(Number(/^nodejs_heap_size_total_bytes (\S+)$/m.exec(metrics)?.[1] ?? 0) / 1048576),
        ingest_external_mb_at_end: Math.round(Number(/^nodejs_external_memory_bytes (\S+)$/m.exec(metrics)?.[1] ?? 0) / 1048576),
        messages_per_produce_call: Math.round(batchSum / Math.max(1, batchCount)),
        raw_kafkajs_producer: { calls_of_10: rawSmall, calls_of_1000: rawBig },
      };
      console.log(JSON.stringify(report, null, 2));
    } finally {
      child.kill('SIGTERM');
      await new Promise((r) => child.once('exit', r));
    }
  } finally {
    const kafka = new Kafka({ clientId: 'bench-cleanup', brokers: BROKERS, logLevel: logLevel.NOTHING });
    const admin = kafka.admin();
    await admin.connect();
    await admin.deleteTopics({ topics: ALL_TOPICS.map((t) => topicName(prefix, t)) }).catch(() => {});
    await admin.disconnect();
  }
}

await main();

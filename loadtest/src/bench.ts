/**
 * `npm run bench`: the standard benchmark set, measured in one run on this
 * machine, written into BENCHMARKS.md (between the bench markers) with a
 * chart of throughput vs p99 from the ingest ramp:
 *   1. the raw kafkajs producer ceiling on this broker (10-event sends, acks=all),
 *   2. a bare express 5 endpoint that only parses the same bodies (k6 ramp),
 *   3. the real app: ingest ramp, homepage reads, freshness under load.
 * Needs the local services (`npm run services:up`); starts its own app.
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ACTIVITY_TOPICS, CONSUMER_GROUPS, groupId, topicName } from '@storepulse/contracts';
import { Kafka, logLevel, CompressionTypes } from 'kafkajs';
import { startTestApp, freePort, randomPrefix, cleanup, TEST_BROKERS } from '../../scripts/src/testing/app.ts';
import { histogramDelta, histogramQuantile, parseHistogram } from '../../scripts/src/prom-histogram.ts';
import { ensureTopics } from '../../scripts/src/services/topics.ts';
import { runScenario } from './cli.ts';
import { ensureK6, ROOT } from './k6.ts';
import { renderChart, type Series } from './chart.ts';

interface K6Summary {
  metrics: Record<string, { values: Record<string, number> }>;
}

export interface Stage {
  eventsPerS: number;
  achievedEventsPerS: number;
  p99: number;
  failedRate: number;
  dropped: number;
}

const BATCH = 10;
const RATES = (process.env.BENCH_RATES_RPS ?? '500,1000,2000,3000,4000,5000,6000,8000').split(',').map(Number);
const STAGE_S = Number(process.env.BENCH_STAGE_SECONDS ?? 20);
/** Background rates (events/s) of the freshness ladder: how fresh the loop stays below the 10k target. */
const FRESHNESS_LADDER = (process.env.BENCH_FRESHNESS_LADDER ?? '1000,2000,3000,5000').split(',').filter(Boolean).map(Number);

function readSummary(file: string): K6Summary {
  const s = JSON.parse(fs.readFileSync(file, 'utf8')) as K6Summary;
  return s;
}

export function stagesOf(summary: K6Summary, rates: number[], seconds: number): Stage[] {
  const m = summary.metrics;
  return rates.map((rps) => {
    const ev = rps * BATCH;
    const reqs = m[`http_reqs{stage:${ev}}`]?.values.count ?? 0;
    return {
      eventsPerS: ev,
      achievedEventsPerS: Math.round((reqs * BATCH) / seconds),
      p99: m[`http_req_duration{stage:${ev}}`]?.values['p(99)'] ?? NaN,
      failedRate: m[`http_req_failed{stage:${ev}}`]?.values.rate ?? NaN,
      dropped: m[`dropped_iterations{scenario:rps_${rps}}`]?.values.count ?? 0,
    };
  });
}

/** The highest offered rate that was sustained: p99 < 25 ms, errors < 0.1 %, nothing dropped. */
/** The highest achieved rate of any stage, whatever its latency (0 without stages). */
export function peakEventsPerS(stages: ReadonlyArray<{ achievedEventsPerS: number }>): number {
  return stages.reduce((m, s) => Math.max(m, s.achievedEventsPerS), 0);
}

export function sustained(stages: Stage[]): Stage | undefined {
  let best: Stage | undefined;
  for (const s of stages) {
    if (s.p99 < 25 && s.failedRate < 0.001 && s.dropped === 0) best = s;
    else break;
  }
  return best;
}

async function rawProducerCeiling(seconds: number): Promise<{ eventsPerS: number; settings: string }> {
  const prefix = randomPrefix();
  await ensureTopics({ brokers: TEST_BROKERS, prefix, partitions: 6, replicationFactor: 1 });
  const kafka = new Kafka({ clientId: 'bench-raw', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  // Not idempotent, like the ingest default: kafkajs' idempotent producer fails
  // with OUT_OF_ORDER_SEQUENCE_NUMBER under concurrent sends (seen in this bench).
  const producer = kafka.producer({ idempotent: false, allowAutoTopicCreation: false });
  await producer.connect();
  const value = JSON.stringify({
    event_id: '01936b9e-5f2a-7cc1-9d3e-2f4b1a6c8e10',
    type: 'search',
    date: Date.now(),
    received_at: Date.now(),
    sent_at: Date.now(),
    timestamp: Date.now(),
    anonymous_id: 'a-7f3c0000000000000000',
    user_id: null,
    user_verified: false,
    session_id: 's-19ab00000000',
    site: 'demo',
    page_url: '/deals/',
    page_path: '/deals/',
    search_keyword: 'humidifier',
    context: { user_agent: 'Mozilla/5.0 (X11; Linux x86_64) Chrome/156.0', is_bot: false },
  });
  let sent = 0;
  const end = Date.now() + seconds * 1000;
  const CONCURRENCY = 64;
  const worker = async (w: number) => {
    while (Date.now() < end) {
      const messages = Array.from({ length: BATCH }, (_, i) => ({ key: `a-${w}-${i}`, value }));
      await producer.send({ topic: `${prefix}searches`, acks: -1, messages, compression: CompressionTypes.None });
      sent += BATCH;
    }
  };
  const t0 = Date.now();
  await Promise.all(Array.from({ length: CONCURRENCY }, (_, w) => worker(w)));
  const eventsPerS = Math.round(sent / ((Date.now() - t0) / 1000));
  await producer.disconnect();
  await cleanup(prefix);
  return {
    eventsPerS,
    settings: `kafkajs 2.2.4, not idempotent, acks=all, ${CONCURRENCY} concurrent 10-message sends, no compression`,
  };
}

async function bareExpress(): Promise<{ baseUrl: string; stop: () => void; rssMb: () => number }> {
  const port = await freePort();
  const child = spawn(process.execPath, [path.join(ROOT, 'loadtest/src/bare-express.ts')], {
    env: { ...process.env, PORT: String(port) },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((resolve) => child.stdout!.once('data', () => resolve()));
  return {
    baseUrl: `http://127.0.0.1:${port}`,
    stop: () => child.kill('SIGTERM'),
    rssMb: () => rssOf(child.pid!),
  };
}

function rssOf(pid: number): number {
  try {
    const status = fs.readFileSync(`/proc/${pid}/status`, 'utf8');
    return Number(/VmHWM:\s+(\d+)/.exec(status)?.[1] ?? 0) / 1024;
  } catch {
    return NaN;
  }
}

const fmt = (n: number, d = 0) =>
  Number.isFinite(n) ? n.toLocaleString('en-US', { maximumFractionDigits: d, minimumFractionDigits: d }) : '-';

function stageTable(stages: Stage[]): string {
  const rows = stages.map(
    (s) => `| ${fmt(s.eventsPerS)} | ${fmt(s.achievedEventsPerS)} | ${fmt(s.p99, 1)} | ${fmt(s.failedRate * 100, 2)} % | ${s.dropped} |`,
  );
  return ['| offered events/s | achieved events/s | p99 ms | errors | dropped iterations |', '|---:|---:|---:|---:|---:|', ...rows].join(
    '\n',
  );
}

/** One row of the freshness ladder table. */
export function ladderRow(eps: number, seconds: number, summary: K6Summary, code: number, before: string, after: string): string {
  const fv = summary.metrics.freshness_ms?.values ?? {};
  const sent = summary.metrics.events_sent?.values.count ?? NaN;
  const p99 = (name: string, labels: Record<string, string> = {}) => {
    const s = histogramQuantile(histogramDelta(parseHistogram(after, name, labels), parseHistogram(before, name, labels)), 0.99);
    return Number.isNaN(s) ? '-' : s === Infinity ? '> 30,000' : fmt(s * 1000);
  };
  return `| ${fmt(eps)} / ${fmt(sent / seconds)} | ${fmt(fv.med ?? NaN)} / ${fmt(fv['p(95)'] ?? NaN)} / ${fmt(fv['p(99)'] ?? NaN)} (${fmt(fv.count ?? 0)}) | ${p99('promotions_freshness_seconds')} | ${p99('promotions_freshness_stage_seconds', { stage: 'to_consumer' })} | ${p99('promotions_freshness_stage_seconds', { stage: 'apply' })} | ${code} |`;
}

const FRESHNESS_STAGES = [
  ['to_kafka', 'to_kafka: event date → producer send (k6 client, ingest, its group commit)'],
  ['to_consumer', 'to_consumer: send → batch in the consumer (broker, fetch round)'],
  ['in_batch', 'in_batch: behind earlier chunks of the same batch'],
  ['apply', "apply: the chunk's Redis writes"],
] as const;

/** A Markdown table of the freshness, and its stages, observed between two scrapes of /metrics. */
export function freshnessStages(before: string, after: string): string {
  const ms = (s: number) => (Number.isNaN(s) ? '-' : s === Infinity ? '> 30,000' : fmt(s * 1000, s < 0.1 ? 1 : 0));
  const series: Array<[string, string, Record<string, string>]> = [
    ['event date → confirmed Redis write (total)', 'promotions_freshness_seconds', {}],
    ...FRESHNESS_STAGES.map(([stage, what]): [string, string, Record<string, string>] => [
      what,
      'promotions_freshness_stage_seconds',
      { stage },
    ]),
  ];
  const rows = series.map(([what, name, labels]) => {
    const h = histogramDelta(parseHistogram(after, name, labels), parseHistogram(before, name, labels));
    return `| ${what} | ${fmt(h.count)} | ${ms(histogramQuantile(h, 0.5))} | ${ms(histogramQuantile(h, 0.95))} | ${ms(histogramQuantile(h, 0.99))} |`;
  });
  return ['| stage | events | p50 ms | p95 ms | p99 ms |', '|---|---:|---:|---:|---:|', ...rows].join('\n');
}

/**
 * Waits until both consumer groups have committed everything the topics hold (at most `maxS`), so
 * a phase is not measured while the processors still drain the previous phase's backlog. Returns
 * the seconds waited and the lag left.
 */
async function drained(prefix: string, maxS = 180): Promise<{ seconds: number; lag: number }> {
  const kafka = new Kafka({ clientId: 'bench-drain', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const started = Date.now();
  try {
    const topics = ACTIVITY_TOPICS.map((t) => topicName(prefix, t));
    for (;;) {
      const ends = new Map<string, bigint>();
      for (const topic of topics) for (const p of await admin.fetchTopicOffsets(topic)) ends.set(`${topic}/${p.partition}`, BigInt(p.high));
      let lag = 0n;
      for (const g of [CONSUMER_GROUPS.promotions, CONSUMER_GROUPS.analytics])
        for (const t of await admin.fetchOffsets({ groupId: groupId(prefix, g), topics }))
          for (const p of t.partitions) {
            const end = ends.get(`${t.topic}/${p.partition}`) ?? 0n;
            const at = p.offset === '-1' ? 0n : BigInt(p.offset);
            if (end > at) lag += end - at;
          }
      const seconds = (Date.now() - started) / 1000;
      if (lag === 0n || seconds >= maxS) return { seconds, lag: Number(lag) };
      await new Promise((r) => setTimeout(r, 1000));
    }
  } finally {
    await admin.disconnect();
  }
}

async function main(): Promise<void> {
  ensureK6();
  const started = new Date();
  const machine = `${os.cpus().length} cores (${os.cpus()[0]?.model.trim()}), ${Math.round(os.totalmem() / 2 ** 30)} GiB, Linux ${os.release()}, Node ${process.version}`;
  console.log(`bench: ${machine}`);

  console.log('bench: raw kafkajs producer ceiling (10 s)');
  const raw = await rawProducerCeiling(10);
  console.log(`bench: raw producer ${raw.eventsPerS} events/s`);

  const env = { RATES_RPS: RATES.join(','), STAGE_SECONDS: String(STAGE_S), BATCH_EVENTS: String(BATCH) };
  console.log('bench: bare express 5 endpoint, k6 ramp');
  const bare = await bareExpress();
  const bareRun = await runScenario('ingest', { baseUrl: bare.baseUrl, env, quiet: true });
  const bareRss = bare.rssMb();
  bare.stop();
  const bareStages = stagesOf(readSummary(bareRun.summaryPath), RATES, STAGE_S);

  console.log('bench: the app (single process), k6 ingest ramp');
  const app = await startTestApp({ LOG_LEVEL: 'warn', RATE_LIMIT_IP_REQUESTS_PER_S: '0', RATE_LIMIT_KEY_EVENTS_PER_S: '0' });
  let appStages: Stage[] = [];
  let appRss = NaN;
  let homepage: K6Summary | undefined;
  let fresh: K6Summary | undefined;
  let homeCode = -1;
  let freshCode = -1;
  let stages = '';
  const ladder: string[] = [];
  const waits: string[] = [];
  try {
    const appRun = await runScenario('ingest', { baseUrl: app.baseUrl, env, quiet: true });
    appStages = stagesOf(readSummary(appRun.summaryPath), RATES, STAGE_S);
    appRss = rssOf(app.child.pid!);
    // Each phase starts once the processors caught up with the previous one (the ramp leaves a backlog).
    const settle = async (what: string) => {
      const d = await drained(app.prefix);
      console.log(`bench: processors caught up before ${what} in ${d.seconds.toFixed(0)} s (lag left ${d.lag})`);
      waits.push(`${what}: ${d.seconds.toFixed(0)} s${d.lag > 0 ? ` (lag ${fmt(d.lag)} left)` : ''}`);
    };
    await settle('homepage reads');
    console.log('bench: homepage reads (5,000 req/s, 30 s)');
    const h = await runScenario('homepage', { baseUrl: app.baseUrl, env: { RATE_RPS: '5000', DURATION: '30s' }, quiet: true });
    homepage = readSummary(h.summaryPath);
    homeCode = h.code;
    const scrape = async () => (await fetch(`${app.baseUrl}/metrics`)).text();
    for (const eps of FRESHNESS_LADDER) {
      await settle(`freshness at ${eps}/s`);
      console.log(`bench: freshness under ${eps} events/s (20 s)`);
      const from = await scrape();
      const r = await runScenario('freshness', {
        baseUrl: app.baseUrl,
        env: { BACKGROUND_EPS: String(eps), DURATION: '20s' },
        quiet: true,
      });
      ladder.push(ladderRow(eps, 20, readSummary(r.summaryPath), r.code, from, await scrape()));
    }
    await settle('freshness at 10000/s');
    console.log('bench: freshness under 10,000 events/s (30 s)');
    const before = await scrape();
    const f = await runScenario('freshness', { baseUrl: app.baseUrl, env: { BACKGROUND_EPS: '10000', DURATION: '30s' }, quiet: true });
    fresh = readSummary(f.summaryPath);
    freshCode = f.code;
    stages = freshnessStages(before, await scrape());
  } finally {
    await app.stop();
  }

  const appBest = sustained(appStages);
  const bareBest = sustained(bareStages);
  const chart: Series[] = [
    { name: 'storepulse ingest (single process)', points: appStages.map((s) => [s.achievedEventsPerS, s.p99]) },
    { name: 'bare express 5, parse only', points: bareStages.map((s) => [s.achievedEventsPerS, s.p99]) },
  ];
  fs.writeFileSync(
    path.join(ROOT, 'loadtest/ingest-ramp.svg'),
    renderChart(chart, { title: 'Ingest ramp: throughput vs p99 (10-event batches)', yMax: 100, targetY: 25 }),
  );

  const hv = homepage?.metrics.http_req_duration?.values ?? {};
  const fv = fresh?.metrics.freshness_ms?.values ?? {};
  const ratio = (a?: number, b?: number) => (a && b ? `${(a / b).toFixed(2)}x` : '-');
  const appPeak = peakEventsPerS(appStages);
  const barePeak = peakEventsPerS(bareStages);
  const section = `<!-- bench:start -->
## Standard set (\`npm run bench\`)

Measured ${started.toISOString().slice(0, 16).replace('T', ' ')} UTC on ${machine}; load generator (k6 ${'v2'}) on the same machine; every service local on 127.0.0.1.
Command: \`npm run services:up && npm run bench\` (stages: ${RATES.map((r) => r * BATCH).join(', ')} events/s, ${STAGE_S} s each, 10-event batches).

| what | result | target |
|---|---|---|
| ingest: sustained events/s with p99 < 25 ms, errors < 0.1 %, no dropped iterations | **${fmt(appBest?.achievedEventsPerS ?? 0)}** (p99 ${fmt(appBest?.p99 ?? NaN, 1)} ms) | 60,000 |
| comparison: raw kafkajs producer ceiling on this broker | ${fmt(raw.eventsPerS)} events/s (${raw.settings}) | |
| comparison: bare express 5 endpoint, parse only | ${fmt(bareBest?.achievedEventsPerS ?? 0)} events/s sustained, RSS peak ${fmt(bareRss)} MB | |
| ingest as a ratio | ${ratio(appBest?.achievedEventsPerS, raw.eventsPerS)} of the raw producer, ${ratio(appBest?.achievedEventsPerS, bareBest?.achievedEventsPerS)} of bare express | |
| peak achieved at any latency: the app / bare express | ${fmt(appPeak)} / ${fmt(barePeak)} events/s: the app's peak is ${ratio(appPeak, raw.eventsPerS)} of the raw producer and ${ratio(appPeak, barePeak)} of bare express's peak | |
| app RSS peak during the ramp (whole single process: ingest, both processors, embedded ClickHouse) | ${fmt(appRss)} MB | ingest alone < 200 MB |
| homepage API at 5,000 req/s: p50 / p99 | ${fmt(hv.med ?? NaN, 2)} / ${fmt(hv['p(99)'] ?? NaN, 2)} ms (k6 exit ${homeCode}) | p99 < 5 ms |
| freshness (search → homepage shows it) at 10,000 events/s: p50 / p95 / p99 | ${fmt(fv.med ?? NaN)} / ${fmt(fv['p(95)'] ?? NaN)} / ${fmt(fv['p(99)'] ?? NaN)} ms over ${fmt(fv.count ?? 0)} probes (k6 exit ${freshCode}) | p99 ≤ 250 ms |

Where the freshness went during that run, per event the promotions processor applied
(\`promotions_freshness_stage_seconds\` from the app's /metrics, before and after; the k6 probe
above adds the homepage poll on top):

${stages}

Freshness at lower background rates (same app, 20 s each, before the 10,000/s run; the probe is the
k6 search → homepage time, the processor columns come from its histograms over the same run; k6
dates each background event up to 0.5 s before its batch is sent, as an SDK batches, and the
processor's histograms count from that date):

| background events/s offered / sent | probe p50 / p95 / p99 ms (probes) | processor: event → Redis p99 ms | to_consumer p99 ms | apply p99 ms | k6 exit |
|---:|---|---:|---:|---:|---:|
${ladder.join('\n')}

Each phase after the ramp started once both consumer groups had committed everything in the topics
(waited: ${waits.join('; ')}).

![throughput vs p99](loadtest/ingest-ramp.svg)

The app's ramp:

${stageTable(appStages)}

Bare express 5 (same bodies, parse only):

${stageTable(bareStages)}
<!-- bench:end -->`;
  const file = path.join(ROOT, 'BENCHMARKS.md');
  const old = fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : '# Benchmarks\n';
  const next = /<!-- bench:start -->[\s\S]*<!-- bench:end -->/.test(old)
    ? old.replace(/<!-- bench:start -->[\s\S]*<!-- bench:end -->/, section)
    : `${old.trimEnd()}\n\n${section}\n`;
  fs.writeFileSync(file, next);
  console.log(section);
}

if (import.meta.url === `file://${process.argv[1]}`) {
  main().then(
    () => process.exit(0),
    (err: unknown) => {
      console.error(err);
      process.exit(1);
    },
  );
}

/**
 * CPU per event of the ingest API's steps, in-process, no network (not a test):
 *
 *   node --import tsx ingest-api/bench/micro.ts        # ROUNDS=7 by default
 *
 * Uses the HTTP benchmark's 10-event batches. Each step runs for a fixed
 * number of events per round, rounds alternate between the variants, and the
 * median CPU time (user + system, process.cpuUsage) per event is reported,
 * which holds up better than wall time on a shared machine.
 */
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { EVENT_SCHEMAS, validateWireEvent, type EventType } from '@storepulse/contracts';
import { buildRecords } from '../src/batch.ts';
import type { RequestContext } from '../src/enrich.ts';
import { installFastKafkajsEncoder, uninstallFastKafkajsEncoder } from '../src/kafkajs-encoder.ts';
import { parseJsonSafely } from '../src/safe-json.ts';
import { batchBody } from './batch-body.ts';

const ROUNDS = Number(process.env.ROUNDS ?? 7);
const bodies = Array.from({ length: 200 }, (_, i) => batchBody(i));
const batches = bodies.map((b) => (JSON.parse(b) as { events: Array<Record<string, unknown>> }).events);
const events = batches.flat();
const ctx: RequestContext = {
  receivedAt: Date.now(),
  sentAt: Date.now(),
  site: 'demo',
  userAgent: 'Mozilla/5.0 (X11; Linux x86_64; rv:140.0) Gecko/20100101 Firefox/140.0',
  isBot: false,
  country: undefined,
  userToken: undefined,
  identitySecret: 'bench-identity-secret',
  maxAgeMs: 7 * 86_400_000,
  maxFutureMs: 60_000,
};

const require = createRequire(import.meta.url);
const produceV3 = require(join(dirname(require.resolve('kafkajs/package.json')), 'src/protocol/requests/produce/v3/request.js')) as (
  a: unknown,
) => {
  encode: () => Promise<{ buffer: Buffer }>;
};
// One group-commit call: 150 records of the bench batches, grouped by topic, 6 partitions each.
const records = batches.slice(0, 15).flatMap((b) => buildRecords(b, ctx, '', 'wk_demo').records);
const topicData = [...new Set(records.map((r) => r.topic))].map((topic) => ({
  topic,
  partitions: Array.from({ length: 6 }, (_, p) => ({
    partition: p,
    firstSequence: 0,
    messages: records.filter((r, i) => r.topic === topic && i % 6 === p).map((r) => ({ key: r.key, value: r.value })),
  })).filter((p) => p.messages.length > 0),
}));

let sink = 0;
const steps: Record<string, { perRound: number; unit: string; run: () => Promise<void> | void }> = {
  'validate: zod schema (reference)': {
    perRound: 40_000,
    unit: 'event',
    run: () => {
      for (let i = 0; i < 40_000; i++) {
        const e = events[i % events.length]!;
        if (EVENT_SCHEMAS[e.type as EventType].safeParse(e).success) sink++;
      }
    },
  },
  'validate: validateWireEvent (fast path)': {
    perRound: 40_000,
    unit: 'event',
    run: () => {
      for (let i = 0; i < 40_000; i++) if (validateWireEvent(events[i % events.length]).ok) sink++;
    },
  },
  'JSON.parse + sanitise of a 10-event body (per event)': {
    perRound: 40_000,
    unit: 'event',
    run: () => {
      for (let i = 0; i < 4000; i++) sink += (parseJsonSafely(bodies[i % bodies.length]!) as { events: unknown[] }).events.length;
    },
  },
  'buildRecords: validate + enrich + JSON.stringify + Buffer (per event)': {
    perRound: 40_000,
    unit: 'event',
    run: () => {
      for (let i = 0; i < 4000; i++) sink += buildRecords(batches[i % batches.length]!, ctx, '', 'wk_demo').records.length;
    },
  },
  'kafkajs encode of a 150-message produce request, own growth (per message)': {
    perRound: 150 * 300,
    unit: 'message',
    run: async () => {
      uninstallFastKafkajsEncoder();
      for (let i = 0; i < 300; i++) sink += (await produceV3({ acks: -1, timeout: 2000, topicData }).encode()).buffer.length;
    },
  },
  'kafkajs encode of a 150-message produce request, KAFKA_FAST_ENCODER (per message)': {
    perRound: 150 * 300,
    unit: 'message',
    run: async () => {
      installFastKafkajsEncoder();
      for (let i = 0; i < 300; i++) sink += (await produceV3({ acks: -1, timeout: 2000, topicData }).encode()).buffer.length;
    },
  },
};

const samples = new Map<string, number[]>();
for (let r = 0; r < ROUNDS; r++) {
  for (const [name, step] of Object.entries(steps)) {
    const cpu0 = process.cpuUsage();
    await step.run();
    const cpu = process.cpuUsage(cpu0);
    if (r === 0) continue; // warm-up round (JIT)
    samples.set(name, [...(samples.get(name) ?? []), (cpu.user + cpu.system) / step.perRound]);
  }
}
const load = (await import('node:fs')).readFileSync('/proc/loadavg', 'utf8').split(' ')[0];
console.log(`node ${process.version}, ${ROUNDS - 1} measured rounds, load avg (1 min) at end: ${load}`);
console.log('| step | CPU µs per unit (median) | min – max |');
console.log('|---|---:|---|');
for (const [name, xs] of samples) {
  const s = [...xs].sort((a, b) => a - b);
  console.log(`| ${name} | ${s[Math.floor(s.length / 2)]!.toFixed(2)} | ${s[0]!.toFixed(2)} – ${s[s.length - 1]!.toFixed(2)} |`);
}
if (sink === -1) console.log(sink);

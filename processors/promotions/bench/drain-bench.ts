/**
 * Consumer throughput: pre-produces N search events (20k visitors) to a fresh
 * prefix, then starts the service in this process and times the drain
 * (total, and from the first confirmed chunk: "steady").
 *
 *   node --import tsx bench/drain-bench.ts [N=30000]
 *
 * Also prints the CPU per event over the drain: this process (consumer,
 * process.cpuUsage) and Redis (INFO cpu, and commandstats for the Lua
 * scripts; Redis is shared, so its whole-server figure includes anyone
 * else's traffic). KAFKA_PID=<broker pid> adds the broker's CPU (/proc; also
 * shared). PROFILE_OUT=<file.cpuprofile> profiles the drain only.
 */
import { writeFileSync } from 'node:fs';
import { Session } from 'node:inspector/promises';
import { randomUUID } from 'node:crypto';
import { messageKey, TOPIC_BY_TYPE, topicName } from '@storepulse/contracts';
import { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';
import pino from 'pino';
import { Registry } from 'prom-client';
import { ensureTopics } from '../../../scripts/src/services/topics.ts';
import { createPromotionsService, loadPromotionsConfig } from '../src/index.ts';
import { BROKERS, dropPrefix, loadAverage, procCpuSeconds, REDIS_URL, redisCpu, redisCpuDelta } from './common.ts';
const prefix = `drain${Date.now().toString(36)}_`;
const N = Number(process.argv[2] ?? 30000);
const redis = new Redis(REDIS_URL);
await ensureTopics({ brokers: BROKERS, prefix, partitions: 6, replicationFactor: 1 });
const kafka = new Kafka({ clientId: 'drain', brokers: BROKERS, logLevel: logLevel.NOTHING });
const producer = kafka.producer();
await producer.connect();
const KW = ['humidifier', 'cool mist humidifier', 'air purifier', 'espresso machine', 'robot vacuum', 'humidifer'];
for (let i = 0; i < N; i += 1000) {
  const msgs = Array.from({ length: 1000 }, (_, j) => {
    const k = i + j;
    const now = Date.now();
    const e = {
      event_id: randomUUID(),
      type: 'search',
      date: now,
      received_at: now,
      sent_at: now,
      timestamp: now,
      anonymous_id: `d-${(k * 7919) % 20000}`,
      user_id: null,
      user_verified: false,
      site: 'b',
      context: { is_bot: false },
      search_keyword: KW[k % KW.length],
    };
    return { key: messageKey(e as never), value: JSON.stringify(e) };
  });
  await producer.send({ topic: topicName(prefix, TOPIC_BY_TYPE.search), messages: msgs });
}
await producer.disconnect();
const registry = new Registry();
const chunks: number[] = [];
let first = 0;
let cpuFirst: { self: NodeJS.CpuUsage; events: number } | undefined;
const svc = createPromotionsService({
  config: loadPromotionsConfig({ ...process.env, TOPIC_PREFIX: prefix, KAFKA_BROKERS: BROKERS.join(','), REDIS_URL }),
  logger: pino({ level: 'warn' }),
  registry,
  hooks: {
    afterWrite: (c) => {
      if (!first) {
        first = performance.now();
        // CPU from the first confirmed chunk on: without start-up (group join, scripts, catalog).
        cpuFirst = { self: process.cpuUsage(), events: c.events };
      }
      chunks.push(c.events);
    },
  },
});
const profileOut = process.env.PROFILE_OUT;
const session = profileOut ? new Session() : undefined;
if (session) {
  session.connect();
  await session.post('Profiler.enable');
  await session.post('Profiler.setSamplingInterval', { interval: 1000 });
  await session.post('Profiler.start');
}
const load0 = loadAverage();
const kafkaPid = process.env.KAFKA_PID ? Number(process.env.KAFKA_PID) : undefined;
const cpu0 = { self: process.cpuUsage(), redis: await redisCpu(redis), kafka: kafkaPid ? procCpuSeconds(kafkaPid) : 0 };
const t0 = performance.now();
await svc.start();
let seen = 0;
while (seen < N) {
  await new Promise((r) => setTimeout(r, 200));
  seen = chunks.reduce((a, b) => a + b, 0);
}
const ms = performance.now() - t0;
const steady = performance.now() - first;
const selfUsage = process.cpuUsage(cpu0.self);
const rd = redisCpuDelta(cpu0.redis, await redisCpu(redis));
const kafkaCpu = kafkaPid ? procCpuSeconds(kafkaPid) - cpu0.kafka : undefined;
const load1 = loadAverage();
if (session) {
  const { profile } = await session.post('Profiler.stop');
  writeFileSync(profileOut!, JSON.stringify(profile));
}
console.log(
  `drained ${N} in ${ms.toFixed(0)} ms = ${Math.round(N / (ms / 1000))}/s; steady ${Math.round(N / (steady / 1000))}/s; chunks=${chunks.length} avg=${(N / chunks.length).toFixed(0)}`,
);
const us = (x: number) => ((x * 1e6) / N).toFixed(1);
const steadyUsage = cpuFirst ? process.cpuUsage(cpuFirst.self) : undefined;
const steadyUs = steadyUsage && cpuFirst ? ((steadyUsage.user + steadyUsage.system) / (N - cpuFirst.events)).toFixed(1) : '-';
console.log(
  `cpu µs/event: consumer=${us((selfUsage.user + selfUsage.system) / 1e6)} (steady ${steadyUs}; ${((selfUsage.user + selfUsage.system) / 10 / ms).toFixed(0)} % of a core) redis=${us(rd.cpuS)}${rd.restarted ? ' (redis restarted: void)' : ''}${kafkaCpu === undefined ? '' : ` kafka broker=${us(kafkaCpu)}`}; load average ${load0} -> ${load1}`,
);
for (const [cmd, calls, usec] of rd.cmds.slice(0, 8))
  console.log(`  redis ${cmd}: calls=${calls} usec/call=${(usec / calls).toFixed(1)} µs/event=${(usec / N).toFixed(1)}`);
await svc.stop();
await dropPrefix(prefix, redis);
redis.disconnect();
process.exit(0);

/**
 * Starts the whole single-process app in a child process for a test: a free
 * port, its own TOPIC_PREFIX (topics, consumer groups, Redis keys) and its own
 * DATA_DIR, so test files never see each other's data. Needs the local Kafka
 * and Redis (`npm run services:up`, done by `npm test`).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { Redis } from 'ioredis';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import { ROOT } from '../paths.ts';
import { ensureTopics, kafkaAnswers } from '../services/topics.ts';

export interface TestApp {
  baseUrl: string;
  port: number;
  prefix: string;
  dataDir: string;
  brokers: string[];
  redisUrl: string;
  /** Everything the app printed so far (pino JSON lines). */
  output(): string;
  child: ChildProcess;
  stop(opts?: { keepData?: boolean }): Promise<void>;
}

export const TEST_BROKERS = ['localhost:9092'];
export const TEST_REDIS_URL = 'redis://localhost:6379';

export function randomPrefix(): string {
  return `t${Date.now().toString(36)}${randomUUID().slice(0, 6)}_`;
}

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const { port } = srv.address() as net.AddressInfo;
      srv.close(() => resolve(port));
    });
  });
}

export async function requireServices(): Promise<void> {
  if (!(await kafkaAnswers(TEST_BROKERS))) {
    throw new Error('Kafka does not answer at localhost:9092: start the local services with `npm run services:up`');
  }
  const r = new Redis(TEST_REDIS_URL, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
  try {
    await r.connect();
    await r.ping();
  } catch {
    throw new Error('Redis does not answer at localhost:6379: start the local services with `npm run services:up`');
  } finally {
    r.disconnect();
  }
}

// A test that fails between starting an app and handing it back must not
// leave the app running: every child is killed when the test process exits.
const children = new Set<ChildProcess>();
process.once('exit', () => {
  for (const c of children) if (c.exitCode === null) c.kill('SIGKILL');
});

export async function startTestApp(extraEnv: Record<string, string> = {}): Promise<TestApp> {
  await requireServices();
  const prefix = extraEnv.TOPIC_PREFIX ?? randomPrefix();
  await ensureTopics({ brokers: TEST_BROKERS, prefix, partitions: 3, replicationFactor: 1 });
  const port = await freePort();
  const dataDir = extraEnv.DATA_DIR ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sp-app-'));
  // vitest (Vite) sets BASE_URL=/ for its workers; it means something else to us.
  const { BASE_URL: _viteBaseUrl, ...inherited } = process.env;
  const env = {
    ...inherited,
    PORT: String(port),
    TOPIC_PREFIX: prefix,
    DATA_DIR: dataDir,
    KAFKA_BROKERS: TEST_BROKERS.join(','),
    REDIS_URL: TEST_REDIS_URL,
    LOG_LEVEL: 'info',
    ...extraEnv,
  };
  const child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/src/serve.ts')], {
    cwd: ROOT,
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  child.once('exit', () => children.delete(child));
  let out = '';
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
  const baseUrl = `http://127.0.0.1:${port}`;

  const deadline = Date.now() + 90_000;
  let ready = false;
  while (Date.now() < deadline && child.exitCode === null) {
    try {
      const r = await fetch(`${baseUrl}/readyz`);
      if (r.status === 200) {
        ready = true;
        break;
      }
    } catch {
      // not listening yet
    }
    await new Promise((r) => setTimeout(r, 250));
  }
  const app: TestApp = {
    baseUrl,
    port,
    prefix,
    dataDir,
    brokers: TEST_BROKERS,
    redisUrl: TEST_REDIS_URL,
    output: () => out,
    child,
    async stop(opts = {}) {
      if (child.exitCode === null && child.signalCode === null) {
        const exited = new Promise((r) => child.once('exit', r));
        child.kill('SIGTERM');
        const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
        await exited;
        clearTimeout(timer);
      }
      if (!opts.keepData) await cleanup(prefix, dataDir);
    },
  };
  if (!ready) {
    await app.stop();
    throw new Error(`the app did not become ready on ${baseUrl} within 90 s; its output:\n${out.slice(-4000)}`);
  }
  return app;
}

/** Deletes a prefix's topics and Redis keys and the data directory. */
export async function cleanup(prefix: string, dataDir?: string): Promise<void> {
  const kafka = new Kafka({ clientId: 'test-cleanup', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const topics = ALL_TOPICS.map((t) => topicName(prefix, t)).filter((t) => existing.has(t));
    if (topics.length) await admin.deleteTopics({ topics });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  } catch {
    // best effort: a leftover prefixed topic harms no other test
  } finally {
    await admin.disconnect().catch(() => {});
  }
  const r = new Redis(TEST_REDIS_URL, { maxRetriesPerRequest: 1 });
  try {
    let cursor = '0';
    do {
      const [next, keys] = await r.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
      cursor = next;
      if (keys.length) await r.del(...keys);
    } while (cursor !== '0');
  } finally {
    r.disconnect();
  }
  if (dataDir && dataDir.startsWith(os.tmpdir())) fs.rmSync(dataDir, { recursive: true, force: true });
}

/** Reads messages from prefixed topics with a fresh consumer group until `until` is satisfied. */
export async function consumeUntil<T>(
  prefix: string,
  topics: string[],
  until: (msgs: { topic: string; key: string | null; value: string }[]) => T | undefined,
  timeoutMs = 20_000,
): Promise<T> {
  const kafka = new Kafka({ clientId: 'test-consumer', brokers: TEST_BROKERS, logLevel: logLevel.NOTHING });
  const consumer = kafka.consumer({ groupId: `${prefix}test-${randomUUID()}` });
  await consumer.connect();
  await consumer.subscribe({ topics: topics.map((t) => topicName(prefix, t)), fromBeginning: true });
  const msgs: { topic: string; key: string | null; value: string }[] = [];
  try {
    return await new Promise<T>((resolve, reject) => {
      const timer = setTimeout(
        () => reject(new Error(`timed out after ${timeoutMs} ms with ${msgs.length} messages: ${JSON.stringify(msgs).slice(0, 2000)}`)),
        timeoutMs,
      );
      void consumer.run({
        eachMessage: async ({ topic, message }) => {
          msgs.push({ topic: topic.slice(prefix.length), key: message.key?.toString() ?? null, value: message.value?.toString() ?? '' });
          const done = until(msgs);
          if (done !== undefined) {
            clearTimeout(timer);
            resolve(done);
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
}

/** Helpers shared by the benchmarks: child processes, topics, cleanup, percentiles. */
import { spawn, type ChildProcess } from 'node:child_process';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { ALL_TOPICS, topicName } from '@storepulse/contracts';
import type { Redis } from 'ioredis';
import { Kafka, logLevel } from 'kafkajs';

export const PKG = resolve(dirname(fileURLToPath(import.meta.url)), '..');
export const BROKERS = ['127.0.0.1:9092'];
export const REDIS_URL = 'redis://127.0.0.1:6379';

export function percentile(sorted: ArrayLike<number>, p: number): number {
  if (sorted.length === 0) return NaN;
  const i = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[i] as number;
}

/** Starts `node --import tsx <script>` and resolves once it prints `marker` on stdout. */
export async function startChild(script: string, env: Record<string, string>, marker = 'ready'): Promise<ChildProcess> {
  const child = spawn(process.execPath, ['--import', 'tsx', script], {
    cwd: PKG,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  await new Promise<void>((ok, fail) => {
    const timer = setTimeout(() => fail(new Error(`${script} did not get ready in 60 s`)), 60_000);
    child.stdout!.on('data', (d: Buffer) => {
      if (String(d).includes(marker)) {
        clearTimeout(timer);
        ok();
      }
    });
    child.on('exit', (code) => fail(new Error(`${script} exited with ${code}`)));
  });
  return child;
}

export async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null) return;
  const done = new Promise((r) => child.once('exit', r));
  child.kill('SIGTERM');
  const t = setTimeout(() => child.kill('SIGKILL'), 15_000);
  await done;
  clearTimeout(t);
}

export async function dropPrefix(prefix: string, redis: Redis): Promise<void> {
  const kafka = new Kafka({ clientId: 'promotions-bench-cleanup', brokers: BROKERS, logLevel: logLevel.NOTHING });
  const admin = kafka.admin();
  try {
    await admin.connect();
    const existing = new Set(await admin.listTopics());
    const mine = ALL_TOPICS.map((t) => topicName(prefix, t)).filter((t) => existing.has(t));
    if (mine.length) await admin.deleteTopics({ topics: mine });
    const groups = (await admin.listGroups()).groups.map((g) => g.groupId).filter((g) => g.startsWith(prefix));
    if (groups.length) await admin.deleteGroups(groups).catch(() => {});
  } finally {
    await admin.disconnect();
  }
  let cursor = '0';
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 5000);
    cursor = next;
    if (keys.length) await redis.unlink(...keys);
  } while (cursor !== '0');
}

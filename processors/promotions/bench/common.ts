/** Helpers shared by the benchmarks: child processes, topics, cleanup, percentiles. */
import { spawn, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
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
export async function startChild(
  script: string,
  env: Record<string, string>,
  marker = 'ready',
  nodeArgs: string[] = [],
): Promise<ChildProcess> {
  const child = spawn(process.execPath, [...nodeArgs, '--import', 'tsx', script], {
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

/** CPU seconds (user + system) a process has used so far, from /proc/<pid>/stat (10 ms resolution). */
export function procCpuSeconds(pid: number): number {
  const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const f = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  // Fields 14 (utime) and 15 (stime) of proc(5); f[0] is field 3.
  return (Number(f[11]) + Number(f[12])) / 100;
}

export interface RedisCpu {
  pid: number;
  /** used_cpu_user + used_cpu_sys of the whole server, seconds. */
  cpu: number;
  /** INFO commandstats: command -> calls and total µs spent executing it (scripts include their inner calls). */
  cmds: Map<string, { calls: number; usec: number }>;
}

/** Redis' own CPU accounting; take one before and one after a run and diff with redisCpuDelta. */
export async function redisCpu(redis: Redis): Promise<RedisCpu> {
  const text = await redis.info('all');
  const num = (k: string) => Number(new RegExp(`^${k}:([\\d.]+)`, 'm').exec(text)?.[1] ?? NaN);
  const cmds = new Map<string, { calls: number; usec: number }>();
  for (const m of text.matchAll(/^cmdstat_([^:]+):calls=(\d+),usec=(\d+)/gm)) cmds.set(m[1]!, { calls: Number(m[2]), usec: Number(m[3]) });
  return { pid: num('process_id'), cpu: num('used_cpu_user') + num('used_cpu_sys'), cmds };
}

export function redisCpuDelta(a: RedisCpu, b: RedisCpu): { restarted: boolean; cpuS: number; cmds: Array<[string, number, number]> } {
  const cmds: Array<[string, number, number]> = [];
  for (const [k, v] of b.cmds) {
    const calls = v.calls - (a.cmds.get(k)?.calls ?? 0);
    if (calls > 0) cmds.push([k, calls, v.usec - (a.cmds.get(k)?.usec ?? 0)]);
  }
  cmds.sort((x, y) => y[2] - x[2]);
  return { restarted: a.pid !== b.pid, cpuS: b.cpu - a.cpu, cmds };
}

export function loadAverage(): string {
  return readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ');
}

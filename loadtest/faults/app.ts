/**
 * Runs the real single-process app (scripts/src/serve.ts) as a child process
 * pointed at a scenario's private Kafka and Redis. scripts/src/testing/app.ts
 * is tied to the shared services (its topic set-up and cleanup use
 * localhost:9092), so the fault suite has this small twin instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Kafka, logLevel } from 'kafkajs';
import { ACTIVITY_TOPICS, CONSUMER_GROUPS, groupId, topicName } from '@storepulse/contracts';
import { ROOT } from '../../scripts/src/paths.ts';
import { ensureTopics } from '../../scripts/src/services/topics.ts';
import { freePorts, sleep } from './services.ts';

export interface FaultApp {
  baseUrl: string;
  port: number;
  prefix: string;
  dataDir: string;
  /** The current process (changes when the supervisor restarted it). */
  pid(): number | undefined;
  output(): string;
  /** Resident set size of the current app process in MB (from /proc). */
  rssMb(): number;
  /** Times the supervisor restarted the app after it exited on its own. */
  restarts(): number;
  /** Exit codes/signals of the exits the supervisor saw. */
  exits(): string[];
  /** SIGTERM (graceful); keeps DATA_DIR so the warehouse can be read afterwards. Ends supervision. */
  stop(): Promise<void>;
  /** SIGKILL, no shutdown. Ends supervision. */
  kill(): Promise<void>;
  exited(): boolean;
  /** Resolves when /readyz answers 200. */
  waitReady(timeoutMs?: number): Promise<void>;
  /** SIGTERM the current process; a supervised app is started again (the watchdog's restart). */
  restartNow(): void;
}

export interface FaultAppOptions {
  brokers: string[];
  redisUrl: string;
  prefix?: string;
  dataDir?: string;
  env?: Record<string, string>;
  /** Entry module; default the real host, scripts/src/serve.ts. */
  entry?: string;
  /** Wait for /readyz 200 (default true). */
  waitReady?: boolean;
  /**
   * Restart the app when it exits on its own, 1 s later, as systemd
   * (Restart=always) or Kubernetes would: the processors exit on purpose when
   * their consumer cannot recover, and expect to be restarted.
   */
  supervise?: boolean;
}

export function newPrefix(): string {
  return `f${Date.now().toString(36)}${randomUUID().slice(0, 4)}_`;
}

export function rssMbOf(pid: number | undefined): number {
  if (!pid) return 0;
  try {
    const m = /VmRSS:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'));
    return m ? Number(m[1]) / 1024 : 0;
  } catch {
    return 0;
  }
}

/**
 * A fresh broker answers "the coordinator is loading" for a while after it
 * starts; the processors treat that as fatal at start-up and exit (the
 * supervisor would restart them). The scenarios are not about a cold broker,
 * so wait here until group offsets can be read.
 */
async function waitForGroupCoordinator(brokers: string[], prefix: string): Promise<void> {
  const kafka = new Kafka({
    clientId: 'fault-coordinator-probe',
    brokers,
    logLevel: logLevel.NOTHING,
    retry: { retries: 20, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  await admin.connect();
  try {
    const deadline = Date.now() + 60_000;
    for (const group of Object.values(CONSUMER_GROUPS)) {
      for (;;) {
        try {
          await admin.fetchOffsets({ groupId: groupId(prefix, group), topics: [topicName(prefix, ACTIVITY_TOPICS[0]!)] });
          break;
        } catch (err) {
          if (Date.now() > deadline) throw err;
          await sleep(250);
        }
      }
    }
  } finally {
    await admin.disconnect();
  }
}

export async function startFaultApp(o: FaultAppOptions): Promise<FaultApp> {
  const prefix = o.prefix ?? newPrefix();
  await ensureTopics({ brokers: o.brokers, prefix, partitions: 3, replicationFactor: 1 });
  await waitForGroupCoordinator(o.brokers, prefix);
  const port = await freePorts(0);
  const dataDir = o.dataDir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'sp-fault-app-'));
  const env: Record<string, string> = {
    ...(process.env as Record<string, string>),
    PORT: String(port),
    TOPIC_PREFIX: prefix,
    DATA_DIR: dataDir,
    KAFKA_BROKERS: o.brokers.join(','),
    REDIS_URL: o.redisUrl,
    LOG_LEVEL: 'info',
    // The load comes from one IP; the per-IP limit is exercised by the abuse suite.
    RATE_LIMIT_IP_REQUESTS_PER_S: '0',
    // vitest sets BASE_URL=/ (Vite's base); the warehouse settings read BASE_URL as a URL.
    BASE_URL: '',
    ...o.env,
  };
  let out = '';
  const keep = (d: Buffer) => {
    out += d.toString();
    if (out.length > 4_000_000) out = out.slice(-2_000_000);
  };
  let child: ChildProcess;
  let supervising = o.supervise === true;
  let restarts = 0;
  const exits: string[] = [];
  const spawnApp = () => {
    child = spawn(process.execPath, ['--import', 'tsx', o.entry ?? path.join(ROOT, 'scripts/src/serve.ts')], {
      cwd: ROOT,
      env,
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
    const me = child;
    me.once('exit', (code, signal) => {
      exits.push(signal ?? String(code));
      out += `\n[fault-harness] app exited (${signal ?? code})\n`;
      if (!supervising) return;
      setTimeout(() => {
        if (!supervising || child !== me) return;
        restarts++;
        out += '[fault-harness] restarting the app\n';
        spawnApp();
      }, 1000);
    });
  };
  spawnApp();
  const baseUrl = `http://127.0.0.1:${port}`;
  const exited = () => child.exitCode !== null || child.signalCode !== null;
  const end = async (signal: NodeJS.Signals, graceMs: number) => {
    supervising = false;
    if (exited()) return;
    const c = child;
    const done = new Promise((r) => c.once('exit', r));
    try {
      process.kill(c.pid!, 'SIGCONT');
    } catch {
      // gone
    }
    c.kill(signal);
    const t = setTimeout(() => c.kill('SIGKILL'), graceMs);
    await done;
    clearTimeout(t);
  };
  const waitReady = async (timeoutMs = 120_000) => {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      try {
        const r = await fetch(`${baseUrl}/readyz`);
        if (r.status === 200) return;
      } catch {
        // not listening yet
      }
      if ((exited() && !supervising) || Date.now() > deadline) {
        throw new Error(`the app did not become ready on ${baseUrl}; its output:\n${out.slice(-4000)}`);
      }
      await sleep(250);
    }
  };
  const app: FaultApp = {
    baseUrl,
    port,
    prefix,
    dataDir,
    pid: () => (exited() ? undefined : child.pid),
    output: () => out,
    rssMb: () => rssMbOf(exited() ? undefined : child.pid),
    restarts: () => restarts,
    exits: () => [...exits],
    stop: () => end('SIGTERM', 30_000),
    kill: () => end('SIGKILL', 5000),
    exited,
    waitReady,
    restartNow() {
      out += '[fault-harness] watchdog: consumer lag has not moved, restarting the app\n';
      if (!exited()) child.kill('SIGTERM');
    },
  };
  if (o.waitReady !== false) {
    try {
      await waitReady();
    } catch (err) {
      await app.kill();
      throw err;
    }
  }
  return app;
}

/**
 * RELIABILITY.md F2/F3/F4: the single-process host started while Kafka is
 * unreachable listens at once, serves what it can (ingest 503 + Retry-After,
 * the homepage API's defaults), retries the services that cannot start yet
 * instead of exiting, and becomes ready once Kafka answers. "Kafka appears"
 * is a TCP forwarder opened late on the port the app was given; the shared
 * broker behind it is never touched.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ensureTopics } from '../../src/services/topics.ts';
import { ROOT } from '../../src/paths.ts';
import { cleanup, freePort, randomPrefix, requireServices, TEST_BROKERS, TEST_REDIS_URL } from '../../src/testing/app.ts';

const prefix = randomPrefix();
const dataDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sp-host-start-'));
let child: ChildProcess;
let out = '';
let baseUrl = '';
let kafkaPort = 0;
let forwarder: net.Server | undefined;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function openForwarder(port: number): Promise<net.Server> {
  const [host, target] = TEST_BROKERS[0]!.split(':');
  const srv = net.createServer((client) => {
    const upstream = net.connect({ host, port: Number(target) });
    client.pipe(upstream).pipe(client);
    const close = () => {
      client.destroy();
      upstream.destroy();
    };
    client.on('error', close);
    upstream.on('error', close);
  });
  return new Promise((resolve, reject) => {
    srv.once('error', reject);
    srv.listen(port, '127.0.0.1', () => resolve(srv));
  });
}

function postBatch(): Promise<Response> {
  const now = Date.now();
  return fetch(`${baseUrl}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    signal: AbortSignal.timeout(15_000),
    body: JSON.stringify({
      write_key: 'wk_demo',
      sent_at: now,
      events: [
        {
          event_id: randomUUID(),
          type: 'search',
          timestamp: now,
          anonymous_id: `a-${randomUUID()}`,
          session_id: 's-1',
          page_url: '/',
          search_keyword: 'humidifier',
        },
      ],
    }),
  });
}

beforeAll(async () => {
  await requireServices();
  await ensureTopics({ brokers: TEST_BROKERS, prefix, partitions: 3, replicationFactor: 1 });
  kafkaPort = await freePort();
  const port = await freePort();
  baseUrl = `http://127.0.0.1:${port}`;
  const { BASE_URL: _viteBaseUrl, ...inherited } = process.env;
  child = spawn(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/src/serve.ts')], {
    cwd: ROOT,
    env: {
      ...inherited,
      PORT: String(port),
      TOPIC_PREFIX: prefix,
      DATA_DIR: dataDir,
      // Nothing listens there until the test opens the forwarder.
      KAFKA_BROKERS: `127.0.0.1:${kafkaPort}`,
      REDIS_URL: TEST_REDIS_URL,
      LOG_LEVEL: 'info',
      PRODUCE_TIMEOUT_MS: '1000',
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  child.stdout!.on('data', (d: Buffer) => (out += d.toString()));
  child.stderr!.on('data', (d: Buffer) => (out += d.toString()));
});

afterAll(async () => {
  if (child && child.exitCode === null && child.signalCode === null) {
    const exited = new Promise((r) => child.once('exit', r));
    child.kill('SIGTERM');
    const t = setTimeout(() => child.kill('SIGKILL'), 20_000);
    await exited;
    clearTimeout(t);
  }
  await new Promise<void>((r) => (forwarder ? forwarder.close(() => r()) : r()));
  await cleanup(prefix, dataDir);
});

describe('the single-process host when Kafka is not there at start', () => {
  it('listens, answers 503 to ingest and defaults to the homepage API, and keeps retrying instead of exiting', async () => {
    let healthy = false;
    for (let i = 0; i < 240 && !healthy; i++) {
      healthy = (await fetch(`${baseUrl}/healthz`).catch(() => undefined))?.status === 200;
      if (!healthy) await sleep(250);
    }
    expect(healthy, out.slice(-3000)).toBe(true);
    const ready = await fetch(`${baseUrl}/readyz`);
    expect(ready.status).toBe(503);
    const batch = await postBatch();
    expect(batch.status).toBe(503);
    expect(Number(batch.headers.get('retry-after'))).toBeGreaterThanOrEqual(1);
    const promos = await fetch(`${baseUrl}/v1/promotions/a-someone`);
    expect(promos.status).toBe(200);
    expect(((await promos.json()) as { personalized: boolean }).personalized).toBe(false);
    // A service whose start needs Kafka fails and is retried; the process stays up.
    for (let i = 0; i < 120 && !out.includes('service start failed'); i++) await sleep(250);
    expect(out).toContain('service start failed: a dependency is not reachable yet; retrying');
    await sleep(2000);
    expect(child.exitCode, out.slice(-3000)).toBeNull();
    const starting = (await (await fetch(`${baseUrl}/readyz`)).json()) as { status: string; pending: string[] };
    expect(starting.status).toBe('starting');
    expect(starting.pending.length).toBeGreaterThan(0);
  }, 90_000);

  it('starts the remaining services and takes events once Kafka answers', async () => {
    forwarder = await openForwarder(kafkaPort);
    let ready = false;
    for (let i = 0; i < 400 && !ready; i++) {
      ready = (await fetch(`${baseUrl}/readyz`).catch(() => undefined))?.status === 200;
      if (!ready) await sleep(250);
    }
    expect(ready, out.slice(-3000)).toBe(true);
    let status = 0;
    for (let i = 0; i < 20 && status !== 202; i++) {
      status = (await postBatch()).status;
      if (status !== 202) await sleep(500);
    }
    expect(status).toBe(202);
    expect(child.exitCode).toBeNull();
  }, 120_000);
});

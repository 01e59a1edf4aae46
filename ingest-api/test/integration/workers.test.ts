import { spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { dirname, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BROKERS, createTopics, deleteTopics, newPrefix } from './harness.ts';

/** `npm run start -w ingest-api` with INGEST_WORKERS=2: a primary that forks two workers sharing the port. */
const here = dirname(fileURLToPath(import.meta.url));
const prefix = newPrefix();
let child: ChildProcess;
let url: string;

async function freePort(): Promise<number> {
  const s = createServer();
  await new Promise<void>((r) => s.listen(0, '127.0.0.1', r));
  const { port } = s.address() as AddressInfo;
  await new Promise<void>((r) => s.close(() => r()));
  return port;
}

function workerPids(pid: number): number[] {
  try {
    const kids = readFileSync(`/proc/${pid}/task/${pid}/children`, 'utf8').trim();
    return kids ? kids.split(' ').map(Number) : [];
  } catch {
    return [];
  }
}

async function waitFor<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, ms = 30_000): Promise<T> {
  const until = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v !== undefined) return v;
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

function post(events = 3): Promise<Response> {
  const now = Date.now();
  return fetch(`${url}/v1/batch`, {
    method: 'POST',
    headers: { 'content-type': 'application/json', 'user-agent': 'Mozilla/5.0 test' },
    body: JSON.stringify({
      write_key: 'wk_demo',
      sent_at: now,
      events: Array.from({ length: events }, (_, i) => ({
        event_id: randomUUID(),
        type: 'page_view',
        timestamp: now,
        anonymous_id: `a-${i}`,
        page_url: '/x',
      })),
    }),
  });
}

describe('INGEST_WORKERS=2 (node:cluster)', () => {
  beforeAll(async () => {
    await createTopics(prefix);
    const port = await freePort();
    url = `http://127.0.0.1:${port}`;
    child = spawn(process.execPath, ['--import', 'tsx', resolve(here, '../../src/main.ts')], {
      cwd: resolve(here, '../..'),
      env: {
        ...process.env,
        PORT: String(port),
        INGEST_WORKERS: '2',
        TOPIC_PREFIX: prefix,
        KAFKA_BROKERS: BROKERS.join(','),
        IDENTITY_SECRET: 'test-identity-secret',
        RATE_LIMIT_VISITOR_EVENTS_PER_S: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'ignore', 'inherit'],
    });
    await waitFor(
      'readiness',
      async () =>
        (await fetch(`${url}/readyz`).then(
          (r) => r.ok,
          () => false,
        ))
          ? true
          : undefined,
      60_000,
    );
  }, 90_000);

  afterAll(async () => {
    if (child.exitCode === null) {
      child.kill('SIGKILL');
      for (const pid of workerPids(child.pid!)) process.kill(pid, 'SIGKILL');
    }
    await deleteTopics(prefix);
  });

  it('runs two workers that answer on the shared port, and replaces one that dies', async () => {
    const workers = await waitFor('two workers', () => (workerPids(child.pid!).length === 2 ? workerPids(child.pid!) : undefined));
    const answers = await Promise.all(Array.from({ length: 20 }, () => post()));
    for (const r of answers) expect(r.status).toBe(202);

    process.kill(workers[0]!, 'SIGKILL');
    const replaced = await waitFor('a replacement worker', () => {
      const now = workerPids(child.pid!);
      return now.length === 2 && !now.includes(workers[0]!) ? now : undefined;
    });
    expect(replaced).toContain(workers[1]);
    // Until the new worker listens the old one takes every connection; after, both do.
    await waitFor('202 after the replacement', async () => ((await post()).status === 202 ? true : undefined));
  }, 60_000);

  it('stops every worker and exits 0 on SIGTERM', async () => {
    const workers = workerPids(child.pid!);
    expect(workers).toHaveLength(2);
    const exited = new Promise<number | null>((r) => child.once('exit', (code) => r(code)));
    child.kill('SIGTERM');
    expect(await exited).toBe(0);
    for (const pid of workers) expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});

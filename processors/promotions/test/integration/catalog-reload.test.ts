import { mkdtemp, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
import { DEFAULT_CATALOG_PATH } from '../../src/config.ts';
import {
  cleanup,
  connectRedis,
  event,
  EventProducer,
  getJson,
  poll,
  randomPrefix,
  type Running,
  setupTopics,
  startService,
  waitReady,
} from './harness.ts';

const prefix = randomPrefix();
let redis: Redis;
let producer: EventProducer;
let running: Running;
let dir: string;
let path: string;
let catalog: { promotions: Array<Record<string, unknown>> };
const logs: Array<Record<string, unknown>> = [];

/** Writes like an editor that saves atomically: a temp file renamed over the old one. */
async function save(json: unknown): Promise<void> {
  const tmp = `${path}.tmp`;
  await writeFile(tmp, typeof json === 'string' ? json : JSON.stringify(json, null, 2));
  await rename(tmp, path);
}

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  dir = await mkdtemp(join(tmpdir(), 'promotions-catalog-'));
  path = join(dir, 'catalog.json');
  catalog = JSON.parse(await readFile(DEFAULT_CATALOG_PATH, 'utf8'));
  await save(catalog);
  const sink = new Writable({
    write(chunk, _enc, cb) {
      for (const line of String(chunk).split('\n')) if (line) logs.push(JSON.parse(line));
      cb();
    },
  });
  running = await startService(prefix, { PROMOTIONS_CATALOG: path }, { logger: pino({ level: 'info' }, sink) });
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
  if (dir) await rm(dir, { recursive: true, force: true });
});

describe('catalog reload', () => {
  it('picks up an edited catalog without a restart', async () => {
    const anon = `a-${Math.random().toString(36).slice(2)}`;
    const url = `${running.url}/v1/promotions/${anon}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'robot vacuum' }));
    const before = await poll(
      () => getJson(url),
      (r) => r.body.personalized === true,
      5000,
    );
    expect(before.body.promotions[0].id).toBe('vac-robot');

    const edited = structuredClone(catalog);
    const robot = edited.promotions.find((p) => p.id === 'vac-robot')!;
    robot.title = 'Robot vacuums: half price today';
    edited.promotions.push({
      id: 'vac-robot-mop',
      title: 'Robot vacuum + mop combo, $199',
      url: '/deals/vacuums/mop',
      keywords: ['robot vacuum', 'mop'],
      categories: ['vacuums'],
      priority: 99,
    });
    await save(edited);
    const retitled = await poll(
      () => getJson(url),
      (r) => r.body.promotions[0]?.title === 'Robot vacuums: half price today',
      3000,
    );
    expect(retitled.body.promotions[0].title).toBe('Robot vacuums: half price today');

    // The next event ranks with the new catalog: the new promotion, same interest, higher priority.
    await producer.send(event({ type: 'page_view', anonymous_id: anon, page_path: '/category/vacuums' }));
    const reranked = await poll(
      () => getJson(url),
      (r) => r.body.promotions[0]?.id === 'vac-robot-mop',
      5000,
    );
    expect(reranked.body.promotions[0].id).toBe('vac-robot-mop');
  });

  it('keeps the previous catalog when the new one is invalid and logs which entry is wrong', async () => {
    const broken = structuredClone(catalog);
    broken.promotions[3] = { ...broken.promotions[3], url: 'javascript:alert(1)' };
    const id = String(broken.promotions[3]!.id);
    await save(broken);
    const entry = await poll(
      async () => logs.find((l) => typeof l.msg === 'string' && l.msg.includes('catalog rejected')),
      (l) => l !== undefined,
      3000,
    );
    expect(entry).toBeDefined();
    expect(String(entry!.msg)).toContain(`promotions[3] id="${id}"`);
    expect(String(entry!.msg)).toContain('url');
    // Still serving the last good catalog (the edited one from the previous test).
    const anon = `a-${Math.random().toString(36).slice(2)}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'mop' }));
    const res = await poll(
      () => getJson(`${running.url}/v1/promotions/${anon}`),
      (r) => r.body.personalized === true,
      5000,
    );
    expect(res.body.promotions[0].id).toBe('vac-robot-mop');

    await save('{"promotions": [');
    await poll(
      async () => logs.filter((l) => String(l.msg).includes('not valid JSON')).length,
      (n) => n > 0,
      3000,
    );
    expect((await getJson(`${running.url}/v1/promotions/${anon}`)).body.promotions[0].id).toBe('vac-robot-mop');
  });
});

import type { AddressInfo } from 'node:net';
import express from 'express';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadPrivacyConfig, mountPrivacyApi } from '../../src/privacy.ts';

const KEY = 'unit-server-key-0123456789';
const logger = pino({ level: 'silent' });

describe('privacy settings', () => {
  it('defaults the tombstone lifetime to 30 days and refuses a bad value by name', () => {
    expect(loadPrivacyConfig({}).tombstoneTtlMs).toBe(30 * 86_400_000);
    expect(loadPrivacyConfig({ PURGE_TOMBSTONE_TTL_DAYS: '8' }).tombstoneTtlMs).toBe(8 * 86_400_000);
    expect(() => loadPrivacyConfig({ PURGE_TOMBSTONE_TTL_DAYS: '0' })).toThrow(/PURGE_TOMBSTONE_TTL_DAYS/);
    expect(() => loadPrivacyConfig({ PURGE_TOMBSTONE_TTL_DAYS: 'week' })).toThrow(/PURGE_TOMBSTONE_TTL_DAYS/);
  });

  it('checks the Redis tombstones every minute by default, never with 0, and refuses a too short interval', () => {
    expect(loadPrivacyConfig({}).resyncMs).toBe(60_000);
    expect(loadPrivacyConfig({ PURGE_REDIS_RESYNC_MS: '0' }).resyncMs).toBe(0);
    expect(() => loadPrivacyConfig({ PURGE_REDIS_RESYNC_MS: '10' })).toThrow(/PURGE_REDIS_RESYNC_MS="10"/);
    expect(() => loadPrivacyConfig({ PURGE_REDIS_RESYNC_MS: '5', PURGE_TOMBSTONE_TTL_DAYS: '-1' })).toThrow(
      /PURGE_TOMBSTONE_TTL_DAYS.*PURGE_REDIS_RESYNC_MS/,
    );
  });
});

// Only the checks made before any store is touched: the stores are covered by
// scripts/test/e2e/purge.test.ts against the real Redis, Kafka and ClickHouse.
describe('DELETE /v1/visitors/:userKey before it touches a store', () => {
  let base = '';
  let close: () => void = () => {};
  let noKeyBase = '';
  let closeNoKey: () => void = () => {};
  const listen = (serverKey: string | undefined) =>
    new Promise<{ url: string; close: () => void }>((resolve) => {
      const app = express();
      mountPrivacyApi(app, { env: {}, config: { topicPrefix: 't_', redisUrl: 'redis://127.0.0.1:1', serverKey }, services: {}, logger });
      const s = app.listen(0, '127.0.0.1', () =>
        resolve({ url: `http://127.0.0.1:${(s.address() as AddressInfo).port}`, close: () => s.close() }),
      );
    });
  beforeAll(async () => {
    ({ url: base, close } = await listen(KEY));
    ({ url: noKeyBase, close: closeNoKey } = await listen(undefined));
  });
  afterAll(() => {
    close();
    closeNoKey();
  });
  const del = async (url: string, key: string, auth?: string) => {
    const r = await fetch(`${url}/v1/visitors/${encodeURIComponent(key)}`, {
      method: 'DELETE',
      headers: auth ? { authorization: auth } : {},
    });
    return { status: r.status, body: (await r.json()) as { error: { code: string } }, acao: r.headers.get('access-control-allow-origin') };
  };

  it('answers 401 without the server key, with a wrong one, and when none is configured', async () => {
    expect(await del(base, 'u:x')).toMatchObject({ status: 401, body: { error: { code: 'invalid_server_key' } }, acao: null });
    expect(await del(base, 'u:x', 'Bearer not-the-key-not-the-key')).toMatchObject({ status: 401 });
    expect(await del(base, 'u:x', KEY)).toMatchObject({ status: 401 });
    expect(await del(noKeyBase, 'u:x', `Bearer ${KEY}`)).toMatchObject({
      status: 401,
      body: { error: { code: 'server_key_not_configured' } },
    });
  });

  it('answers 400 for a key that is not u:<id> or a:<id>', async () => {
    for (const bad of ['x', 'x:1', 'u:', `a:${'z'.repeat(300)}`]) {
      expect(await del(base, bad, `Bearer ${KEY}`), bad).toMatchObject({ status: 400, body: { error: { code: 'invalid_user_key' } } });
    }
  });

  it('answers 503 when the process hosts no warehouse writer', async () => {
    expect(await del(base, 'u:x', `Bearer ${KEY}`)).toMatchObject({ status: 503, body: { error: { code: 'purge_unavailable' } } });
  });
});

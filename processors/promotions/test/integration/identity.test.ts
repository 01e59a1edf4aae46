import { signUserToken } from '@storepulse/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Redis } from 'ioredis';
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
const SECRET = 'test-identity-secret';
const SERVER_KEY = 'test-server-key-0123456789';
let redis: Redis;
let producer: EventProducer;
let running: Running;

const interests = (visitor: string) => redis.hgetall(`${prefix}interests:{${visitor}}`);
const asUser = (user: string) => getJson(`${running.url}/v1/promotions/${encodeURIComponent(user)}?token=${signUserToken(SECRET, user)}`);
const state = (h: Record<string, string>) => Object.fromEntries(Object.entries(h).filter(([k]) => k !== '_v'));
const uid = (name: string) => `${name}-${Math.random().toString(36).slice(2)}@example.com`;

beforeAll(async () => {
  redis = await connectRedis();
  await setupTopics(prefix);
  producer = new EventProducer(prefix);
  await producer.connect();
  running = await startService(prefix, { IDENTITY_SECRET: SECRET, PROMOTIONS_SERVER_KEY: SERVER_KEY });
  await waitReady(running.service);
});

afterAll(async () => {
  await running?.close();
  await producer?.disconnect();
  await cleanup(prefix, redis);
  redis?.disconnect();
});

describe('identity', () => {
  it('merges the anonymous interests into the user on an identify with proof, once', async () => {
    const anon = `a-${Math.random().toString(36).slice(2)}`;
    const user = uid('alice');
    await producer.send(
      event({ type: 'click', anonymous_id: anon, user_id: user, user_verified: true, element: { product_id: 'p-aud-001' } }),
    );
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'humidifier' }));
    await poll(
      () => interests(`a:${anon}`),
      (h) => 's:humidifier' in h,
      5000,
    );
    const identify = event({ type: 'identify', anonymous_id: anon, user_id: user, user_verified: true });
    await producer.send(identify);
    const merged = await poll(
      () => interests(`u:${user}`),
      (h) => 's:humidifier' in h,
      5000,
    );
    expect(Number(merged['s:humidifier'])).toBeCloseTo(10, 6);
    expect('s:headphone' in merged).toBe(true);
    const res = await poll(
      () => asUser(user),
      (r) => r.body.promotions[0]?.id?.startsWith('hum-'),
      5000,
    );
    expect(res.body.visitor).toBe('user');
    expect(res.body.personalized).toBe(true);
    expect(res.body.promotions[0].reason).toBe('you searched "humidifier"');

    // The identify again, and an old anonymous event again: nothing counts twice.
    const before = state(await interests(`u:${user}`));
    await producer.send(identify);
    const search = event({ type: 'search', anonymous_id: anon, search_keyword: 'fans' });
    await producer.send(search);
    await poll(
      () => interests(`u:${user}`),
      (h) => 's:fan' in h,
      5000,
    );
    const withFan = await interests(`u:${user}`);
    // Only decay since the last event, never a second copy of the merged search.
    expect(Number(withFan['s:humidifier'])).toBeLessThanOrEqual(Number(before['s:humidifier']));
    expect(Number(withFan['s:humidifier'])).toBeGreaterThan(9.9);
    await producer.send(search);
    await new Promise((r) => setTimeout(r, 500));
    expect(state(await interests(`u:${user}`))).toEqual(state(withFan));
    // The anonymous key is re-pointed: new anonymous events moved the user, not the anonymous profile.
    expect('s:fan' in (await interests(`a:${anon}`))).toBe(false);
    expect(await redis.get(`${prefix}alias:{a:${anon}}`)).toBe(`u:${user}`);
  });

  it("never lets an unproven user_id move that user's promotions", async () => {
    const victim = uid('bob');
    const attacker = `a-${Math.random().toString(36).slice(2)}`;
    await producer.send(
      event({ type: 'search', anonymous_id: attacker, user_id: victim, user_verified: false, search_keyword: 'espresso machine' }),
    );
    await producer.send(event({ type: 'identify', anonymous_id: attacker, user_id: victim, user_verified: false }));
    await poll(
      () => interests(`a:${attacker}`),
      (h) => 's:espresso machine' in h,
      5000,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await interests(`u:${victim}`)).toEqual({});
    const res = await asUser(victim);
    expect(res.status).toBe(200);
    expect(res.body.personalized).toBe(false);
    // The anonymous visitor sees its own interests.
    const own = await getJson(`${running.url}/v1/promotions/${attacker}`);
    expect(own.body.promotions[0].id).toBe('cof-espresso');
  });

  it('never lets bots move promotions', async () => {
    const anon = `a-bot-${Math.random().toString(36).slice(2)}`;
    const marker = `a-human-${Math.random().toString(36).slice(2)}`;
    await producer.send(event({ type: 'search', anonymous_id: anon, search_keyword: 'humidifier', context: { is_bot: true } }));
    await producer.send(event({ type: 'search', anonymous_id: marker, search_keyword: 'humidifier' }));
    await poll(
      () => interests(`a:${marker}`),
      (h) => Object.keys(h).length > 0,
      5000,
    );
    await new Promise((r) => setTimeout(r, 300));
    expect(await interests(`a:${anon}`)).toEqual({});
  });

  it('reads a user with the server key, and rejects a wrong token or key', async () => {
    const user = uid('carol');
    await producer.send(event({ type: 'search', anonymous_id: 'x', user_id: user, user_verified: true, search_keyword: 'space heater' }));
    const url = `${running.url}/v1/promotions/${encodeURIComponent(user)}`;
    const res = await poll(
      () => getJson(url, { authorization: `Bearer ${SERVER_KEY}` }),
      (r) => r.body.personalized === true,
      5000,
    );
    expect(res.body.promotions[0].id).toBe('hea-space');
    expect((await getJson(url, { authorization: 'Bearer nope' })).status).toBe(401);
    expect((await getJson(`${url}?token=${signUserToken('other-secret', user)}`)).status).toBe(401);
    // Without proof the same string is an anonymous id, which has no history.
    const anonymous = await getJson(url);
    expect(anonymous.body.personalized).toBe(false);
    expect(anonymous.body.visitor).toBe('anonymous');
  });
});

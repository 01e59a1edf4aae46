import { describe, expect, it } from 'vitest';
import { createIdentity } from '../../src/core/identity.ts';
import { memoryKV } from '../../src/core/storage.ts';
import { uuid } from '../../src/core/ids.ts';

const MIN = 60_000;

describe('identity', () => {
  it('keeps one anonymous id in first-party storage across page loads', () => {
    const kv = memoryKV();
    const a = createIdentity(kv, 'sp_', 30 * MIN).anonymousId();
    expect(a).toMatch(/^[0-9a-f-]{36}$/);
    expect(createIdentity(kv, 'sp_', 30 * MIN).anonymousId()).toBe(a);
  });

  it('keeps the session while the visitor is active and starts a new one after 30 minutes of inactivity', () => {
    const id = createIdentity(memoryKV(), 'sp_', 30 * MIN);
    const t0 = 1_800_000_000_000;
    const s1 = id.touchSession(t0);
    expect(id.touchSession(t0 + 29 * MIN)).toBe(s1);
    expect(id.touchSession(t0 + 58 * MIN)).toBe(s1); // activity at +29 kept it alive
    const s2 = id.touchSession(t0 + 58 * MIN + 30 * MIN);
    expect(s2).not.toBe(s1);
  });

  it('starts a new session when the clock jumped backwards by more than a minute', () => {
    const id = createIdentity(memoryKV(), 'sp_', 30 * MIN);
    const s1 = id.touchSession(1_800_000_000_000);
    expect(id.touchSession(1_800_000_000_000 - 5 * MIN)).not.toBe(s1);
  });

  it('remembers the user and token after identify and forgets everything on reset', () => {
    const kv = memoryKV();
    const id = createIdentity(kv, 'sp_', 30 * MIN);
    const anon = id.anonymousId();
    id.setUser('u1', 'tok');
    expect([id.userId(), id.userToken()]).toEqual(['u1', 'tok']);
    id.setUser('u2');
    expect([id.userId(), id.userToken()]).toEqual(['u2', undefined]); // u1's token is no proof for u2
    id.reset();
    expect(id.userId()).toBeNull();
    expect(id.anonymousId()).not.toBe(anon);
  });
});

describe('uuid', () => {
  it('makes version 7 ids that sort by creation time', () => {
    const a = uuid(1_700_000_000_000);
    const b = uuid(1_700_000_000_001);
    expect(a).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(a < b).toBe(true);
    expect(new Set(Array.from({ length: 1000 }, () => uuid())).size).toBe(1000);
  });
});

import type { KV } from './storage.ts';
import { uuid } from './ids.ts';

/**
 * Who is browsing: a first-party anonymous id (kept until reset()), a session
 * id that rotates after `sessionTimeoutMs` without activity, and the user id
 * plus the storefront's signed token after identify().
 */
export interface Identity {
  anonymousId(): string;
  /** Returns the current session id and records activity at `now`. */
  touchSession(now: number): string;
  userId(): string | null;
  userToken(): string | undefined;
  setUser(userId: string, token?: string): void;
  reset(): void;
}

export function createIdentity(kv: KV, prefix: string, sessionTimeoutMs: number): Identity {
  const A = `${prefix}aid`;
  const S = `${prefix}sid`;
  const U = `${prefix}uid`;
  const T = `${prefix}utk`;
  return {
    anonymousId() {
      let id = kv.get(A);
      if (!id) kv.set(A, (id = uuid()));
      return id;
    },
    touchSession(now) {
      const [id, last] = (kv.get(S) ?? '').split('|');
      const fresh = id && last && now - Number(last) < sessionTimeoutMs && now >= Number(last) - 60_000;
      const sid = fresh ? id! : uuid(now);
      kv.set(S, `${sid}|${now}`);
      return sid;
    },
    userId: () => kv.get(U),
    userToken: () => kv.get(T) ?? undefined,
    setUser(userId, token) {
      if (kv.get(U) !== userId) kv.del(T);
      kv.set(U, userId);
      if (token) kv.set(T, token);
    },
    reset() {
      for (const k of [A, S, U, T]) kv.del(k);
    },
  };
}

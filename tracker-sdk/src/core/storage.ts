/**
 * Key-value storage that never throws. Browsers deny localStorage in many
 * ways (privacy modes, sandboxed iframes, quota, disabled cookies); the
 * tracker then keeps working from memory for the life of the page.
 */
export interface KV {
  get(key: string): string | null;
  set(key: string, value: string): void;
  del(key: string): void;
  keys(): string[];
}

export function memoryKV(): KV {
  return safeKV(() => null);
}

/**
 * `open` returns the Storage to use (e.g. `() => localStorage`). A value that
 * cannot be written (quota, storage revoked mid-page) is kept in memory for
 * the life of the page, so ids stay stable.
 */
export function safeKV(open: () => Storage | null | undefined): KV {
  const mem = new Map<string, string>();
  let ls: Storage | null | undefined;
  try {
    ls = open();
    ls?.setItem('__sp', '1');
    ls?.removeItem('__sp');
  } catch {
    ls = null;
  }
  const use = <T>(f: (s: Storage) => T): T | undefined => {
    try {
      return ls ? f(ls) : undefined;
    } catch {
      return undefined;
    }
  };
  return {
    get: (k) => mem.get(k) ?? use((s) => s.getItem(k)) ?? null,
    set(k, v) {
      if (use((s) => (s.setItem(k, v), 1))) mem.delete(k);
      else mem.set(k, v);
    },
    del(k) {
      mem.delete(k);
      use((s) => s.removeItem(k));
    },
    keys: () => [...new Set([...mem.keys(), ...(use((s) => Object.keys(s)) ?? [])])],
  };
}

export function readJSON<T>(kv: KV, key: string): T | null {
  const raw = kv.get(key);
  if (raw === null) return null;
  try {
    return JSON.parse(raw) as T;
  } catch {
    return null;
  }
}

import { describe, expect, it } from 'vitest';
import { InsertLock } from '../../src/lock.ts';

/** A task that stays running until `release()`; records when it starts and ends. */
function gate(log: string[], name: string) {
  let release!: () => void;
  const done = new Promise<void>((r) => (release = r));
  return {
    release,
    fn: async () => {
      log.push(`${name}+`);
      await done;
      log.push(`${name}-`);
    },
  };
}
const tick = () => new Promise((r) => setImmediate(r));

describe('insert lock', () => {
  it('lets up to `slots` runs through at once', async () => {
    const lock = new InsertLock(2);
    const log: string[] = [];
    const [a, b, c] = ['a', 'b', 'c'].map((n) => gate(log, n));
    const ps = [lock.run(a!.fn), lock.run(b!.fn), lock.run(c!.fn)];
    await tick();
    expect(log).toEqual(['a+', 'b+']);
    a!.release();
    await tick();
    expect(log).toEqual(['a+', 'b+', 'a-', 'c+']);
    b!.release();
    c!.release();
    await Promise.all(ps);
  });

  it('runs an exclusive task only after every running insert and before later ones', async () => {
    const lock = new InsertLock(3);
    const log: string[] = [];
    const [a, b, p, d] = ['a', 'b', 'purge', 'd'].map((n) => gate(log, n));
    const ps = [lock.run(a!.fn), lock.run(b!.fn), lock.exclusive(p!.fn), lock.run(d!.fn)];
    await tick();
    // A free slot is left, but the purge waits for both inserts, and the later insert waits behind the purge.
    expect(log).toEqual(['a+', 'b+']);
    a!.release();
    await tick();
    expect(log).toEqual(['a+', 'b+', 'a-']);
    b!.release();
    await tick();
    expect(log).toEqual(['a+', 'b+', 'a-', 'b-', 'purge+']);
    p!.release();
    await tick();
    expect(log).toEqual(['a+', 'b+', 'a-', 'b-', 'purge+', 'purge-', 'd+']);
    d!.release();
    await Promise.all(ps);
  });

  it('frees the slots when the task throws', async () => {
    const lock = new InsertLock(1);
    await expect(lock.exclusive(() => Promise.reject(new Error('boom')))).rejects.toThrow('boom');
    await expect(lock.run(async () => 'ok')).resolves.toBe('ok');
    expect(() => new InsertLock(0)).toThrow(RangeError);
  });
});

import { describe, expect, it } from 'vitest';
import { Tombstones } from '../../src/purge.ts';

const row = (userKey: string | undefined, receivedAt: number) => ({ eventId: `${userKey}-${receivedAt}`, line: '{}', receivedAt, userKey });

describe('consent purge tombstones', () => {
  it('drops the rows of a purged visitor received up to the purge time and keeps later ones and other visitors', () => {
    const t = new Tombstones();
    t.set('u:x', 1000);
    const rows = [row('u:x', 999), row('u:x', 1000), row('u:x', 1001), row('a:y', 500), row(undefined, 10)];
    expect(t.keep(rows).map((r) => r.eventId)).toEqual(['u:x-1001', 'a:y-500', 'undefined-10']);
  });

  it('keeps the later time when a visitor is purged twice, in either order', () => {
    const t = new Tombstones();
    t.set('u:x', 2000);
    t.set('u:x', 1000);
    expect(t.isPurged('u:x', 1500)).toBe(true);
    expect(t.isPurged('u:x', 2001)).toBe(false);
  });

  it('takes tombstones from the table, drops expired ones, and keeps a fresh local purge the table does not show yet', () => {
    const t = new Tombstones();
    t.set('u:old', 100);
    t.set('u:fresh', 10_000);
    t.replace(new Map([['u:other', 5000]]), 9000);
    expect(t.isPurged('u:old', 50)).toBe(false);
    expect(t.isPurged('u:fresh', 9999)).toBe(true);
    expect(t.isPurged('u:other', 5000)).toBe(true);
    expect(t.size).toBe(2);
  });

  it('returns the same array untouched when nobody was purged', () => {
    const rows = [row('u:x', 1)];
    expect(new Tombstones().keep(rows)).toBe(rows);
  });
});

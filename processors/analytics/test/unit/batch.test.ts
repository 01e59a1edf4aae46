import { describe, expect, it } from 'vitest';
import { backoffMs, batchToken, intentMetadata, isDue, isFull, newBatch, parseIntent, RecentIds } from '../../src/batch.ts';
import { classifyInsertError, SinkError } from '../../src/errors.ts';
import { insertIsolatingRejects, type EventSink } from '../../src/sink.ts';
import type { BatchRow } from '../../src/batch.ts';

describe('batches', () => {
  it('derives the dedup token from topic, partition and offset range only', () => {
    const a = newBatch('searches', 2, 100n, 0);
    a.lastOffset = 149n;
    const b = { ...newBatch('searches', 2, 100n, 999), lastOffset: 149n };
    expect(batchToken(a)).toBe('searches:2:100-149');
    expect(batchToken(b)).toBe(batchToken(a));
  });

  it('round-trips the intent recorded before an insert and ignores foreign metadata', () => {
    expect(parseIntent(intentMetadata(100n, 149n))).toEqual({ first: 100n, last: 149n });
    expect(parseIntent('')).toBeNull();
    expect(parseIntent(null)).toBeNull();
    expect(parseIntent('sp1:9-3')).toBeNull();
    expect(parseIntent('something else')).toBeNull();
  });

  it('is full by rows or bytes and due by age', () => {
    const bounds = { maxRows: 2, maxBytes: 100, flushIntervalMs: 1000 };
    const b = newBatch('t', 0, 0n, 0);
    expect(isFull(b, bounds)).toBe(false);
    expect(isDue(b, bounds, 999)).toBe(false);
    expect(isDue(b, bounds, 1000)).toBe(true);
    b.bytes = 100;
    expect(isFull(b, bounds)).toBe(true);
    b.bytes = 0;
    b.rows.push({ eventId: 'a', line: '', receivedAt: 0 }, { eventId: 'b', line: '', receivedAt: 0 });
    expect(isFull(b, bounds)).toBe(true);
  });

  it('remembers a bounded number of recent event ids', () => {
    const ids = new RecentIds(2);
    ids.add('a');
    ids.add('b');
    ids.add('c');
    expect([ids.has('a'), ids.has('b'), ids.has('c'), ids.size]).toEqual([false, true, true, 2]);
    const off = new RecentIds(0);
    off.add('a');
    expect(off.has('a')).toBe(false);
  });

  it('backs off exponentially with jitter inside the bounds', () => {
    expect(backoffMs(0, 200, 10_000, () => 0)).toBe(100);
    expect(backoffMs(3, 200, 10_000, () => 1)).toBe(1600);
    expect(backoffMs(50, 200, 10_000, () => 1)).toBe(10_000);
  });
});

describe('isolating rows ClickHouse rejects', () => {
  const rows: BatchRow[] = Array.from({ length: 10 }, (_, i) => ({ eventId: `e${i}`, line: `{"i":${i}}`, receivedAt: 0 }));
  const rejectingSink = (bad: Set<string>, calls: { ids: string[]; token: string | undefined }[]): EventSink => ({
    async insert(batch, opts) {
      calls.push({ ids: batch.map((r) => r.eventId), token: opts.token });
      if (batch.some((r) => bad.has(r.eventId)))
        throw classifyInsertError(Object.assign(new Error('Constraint date_in_range is violated'), { code: '469' }));
    },
  });

  it('splits the batch until only the rejected rows remain, with deterministic sub-tokens', async () => {
    const calls: { ids: string[]; token: string | undefined }[] = [];
    const rejected = await insertIsolatingRejects(rejectingSink(new Set(['e3', 'e8']), calls), rows, 'tok');
    expect(rejected.map((r) => r.row.eventId)).toEqual(['e3', 'e8']);
    expect(rejected[0]!.code).toBe('469');
    const written = calls.filter((c) => !c.ids.includes('e3') && !c.ids.includes('e8')).flatMap((c) => c.ids);
    expect(written.sort()).toEqual(['e0', 'e1', 'e2', 'e4', 'e5', 'e6', 'e7', 'e9']);
    const again: typeof calls = [];
    await insertIsolatingRejects(rejectingSink(new Set(['e3', 'e8']), again), rows, 'tok');
    expect(again).toEqual(calls);
  });

  it('lets a transient failure propagate so the whole batch is retried', async () => {
    const sink: EventSink = {
      async insert() {
        throw classifyInsertError(Object.assign(new Error('connect ECONNREFUSED'), { code: 'ECONNREFUSED' }));
      },
    };
    await expect(insertIsolatingRejects(sink, rows, 'tok')).rejects.toMatchObject({ retriable: true });
  });

  it('classifies data errors as not retriable and everything else as retriable', () => {
    expect(classifyInsertError(Object.assign(new Error('x'), { code: '27' })).retriable).toBe(false);
    expect(classifyInsertError(Object.assign(new Error('missing second part of surrogate pair'), { code: '25' })).retriable).toBe(false);
    expect(classifyInsertError(Object.assign(new Error('x'), { code: '241' })).retriable).toBe(true);
    expect(classifyInsertError(new Error('socket hang up')).retriable).toBe(true);
    expect(classifyInsertError(new SinkError('kept', false, '6'))).toMatchObject({ retriable: false, chCode: '6' });
  });
});

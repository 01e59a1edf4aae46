import { describe, expect, it } from 'vitest';
import { OffsetCommitter, type TopicPartitionOffset } from '../../src/committer.ts';

describe('OffsetCommitter', () => {
  it('commits the next offset to read per partition, once, and nothing when nothing moved', async () => {
    const sent: TopicPartitionOffset[][] = [];
    const c = new OffsetCommitter(async (o) => void sent.push(o));
    c.resolved('t', 0, '9');
    c.resolved('t', 0, '41');
    c.resolved('t', 0, '12'); // an older chunk finishing late never moves it back
    c.resolved('u', 3, '0');
    await c.flush();
    await c.flush();
    expect(sent).toEqual([
      [
        { topic: 't', partition: 0, offset: '42' },
        { topic: 'u', partition: 3, offset: '1' },
      ],
    ]);
    expect(c.pending).toEqual([]);
  });

  it('keeps offsets after a refused commit and sends them with the next one', async () => {
    let refuse = true;
    const sent: TopicPartitionOffset[][] = [];
    const c = new OffsetCommitter(async (o) => {
      if (refuse) throw new Error('REBALANCE_IN_PROGRESS');
      sent.push(o);
    });
    c.resolved('t', 1, '5');
    await expect(c.flush()).rejects.toThrow('REBALANCE_IN_PROGRESS');
    refuse = false;
    c.resolved('t', 2, '7');
    await c.flush();
    expect(sent).toEqual([
      [
        { topic: 't', partition: 1, offset: '6' },
        { topic: 't', partition: 2, offset: '8' },
      ],
    ]);
  });

  it('commits only partitions of the current assignment', async () => {
    const sent: TopicPartitionOffset[][] = [];
    const c = new OffsetCommitter(async (o) => void sent.push(o));
    c.resolved('t', 0, '1');
    c.resolved('t', 1, '1');
    c.assigned({ t: [1] });
    // A batch of the earlier generation finishing after the join: its partition went elsewhere.
    c.resolved('t', 0, '5');
    await c.flush();
    expect(sent).toEqual([[{ topic: 't', partition: 1, offset: '2' }]]);
  });

  it('runs one commit at a time and keeps what moved on while it was in flight', async () => {
    const sent: TopicPartitionOffset[][] = [];
    let release: () => void = () => {};
    const c = new OffsetCommitter(async (o) => {
      sent.push(o);
      if (sent.length === 1) await new Promise<void>((r) => (release = r));
    });
    c.resolved('t', 0, '1');
    const first = c.flush();
    c.resolved('t', 0, '2');
    const second = c.flush();
    release();
    await Promise.all([first, second]);
    expect(sent).toEqual([[{ topic: 't', partition: 0, offset: '2' }], [{ topic: 't', partition: 0, offset: '3' }]]);
    expect(c.pending).toEqual([]);
  });
});

import { describe, expect, it, vi } from 'vitest';
import { EmptyAssignmentGuard, isEmptyAssignment } from '../../src/group-guard.ts';

describe('EmptyAssignmentGuard', () => {
  const setup = (members: number, partitions: number) => {
    const onStall = vi.fn();
    const guard = new EmptyAssignmentGuard({
      members: async () => members,
      partitions: async () => partitions,
      onStall,
      checkAfterMs: 1000,
    });
    return { guard, onStall };
  };

  it('knows an empty assignment', () => {
    expect(isEmptyAssignment({})).toBe(true);
    expect(isEmptyAssignment(undefined)).toBe(true);
    expect(isEmptyAssignment({ clicks: [], searches: [] })).toBe(true);
    expect(isEmptyAssignment({ clicks: [], searches: [2] })).toBe(false);
  });

  it('reports a stall when a member got nothing although there are more partitions than members', async () => {
    vi.useFakeTimers();
    try {
      const { guard, onStall } = setup(1, 54);
      guard.onJoin({});
      await vi.advanceTimersByTimeAsync(999);
      expect(onStall).not.toHaveBeenCalled();
      await vi.advanceTimersByTimeAsync(1);
      expect(onStall).toHaveBeenCalledWith({ members: 1, partitions: 54 });
    } finally {
      vi.useRealTimers();
    }
  });

  it('stays quiet when the member has partitions, when members outnumber partitions, and when a later join brought partitions', async () => {
    vi.useFakeTimers();
    try {
      const a = setup(1, 54);
      a.guard.onJoin({ clicks: [0, 1] });
      const b = setup(8, 6); // an idle extra member is normal
      b.guard.onJoin({});
      const c = setup(2, 54);
      c.guard.onJoin({});
      await vi.advanceTimersByTimeAsync(500);
      c.guard.onJoin({ clicks: [3] });
      const d = setup(2, 54);
      d.guard.onJoin({});
      d.guard.stop();
      await vi.advanceTimersByTimeAsync(5000);
      expect([a.onStall, b.onStall, c.onStall, d.onStall].map((f) => f.mock.calls.length)).toEqual([0, 0, 0, 0]);
    } finally {
      vi.useRealTimers();
    }
  });

  it('reports a failed check instead of throwing', async () => {
    vi.useFakeTimers();
    try {
      const onCheckError = vi.fn();
      const onStall = vi.fn();
      const guard = new EmptyAssignmentGuard({
        members: async () => {
          throw new Error('coordinator not available');
        },
        partitions: async () => 6,
        onStall,
        onCheckError,
        checkAfterMs: 10,
      });
      guard.onJoin({});
      await vi.advanceTimersByTimeAsync(10);
      expect(onCheckError).toHaveBeenCalledTimes(1);
      expect(onStall).not.toHaveBeenCalled();
    } finally {
      vi.useRealTimers();
    }
  });
});

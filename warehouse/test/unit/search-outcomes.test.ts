import { describe, expect, it } from 'vitest';
import { DEFAULT_SEARCH_OUTCOMES_ALLOWANCE_MS, searchOutcomesHorizon } from '../../src/search-outcomes.ts';

const at = (iso: string) => Date.parse(iso);

describe('search outcomes horizon', () => {
  it('closes the hours that ended 30 minutes + the allowance ago (default 1 h)', () => {
    expect(DEFAULT_SEARCH_OUTCOMES_ALLOWANCE_MS).toBe(3_600_000);
    expect(new Date(searchOutcomesHorizon(at('2026-11-21T12:34:56.789Z'))).toISOString()).toBe('2026-11-21T11:00:00.000Z');
    // 12:29:59.999 - 1 h 30 min = 10:59:59.999: the 10:00 hour is not over its window yet
    expect(new Date(searchOutcomesHorizon(at('2026-11-21T12:29:59.999Z'))).toISOString()).toBe('2026-11-21T10:00:00.000Z');
    expect(new Date(searchOutcomesHorizon(at('2026-11-21T12:30:00.000Z'))).toISOString()).toBe('2026-11-21T11:00:00.000Z');
  });

  it('follows the allowance', () => {
    expect(new Date(searchOutcomesHorizon(at('2026-11-21T12:34:56Z'), 0)).toISOString()).toBe('2026-11-21T12:00:00.000Z');
    expect(new Date(searchOutcomesHorizon(at('2026-11-21T12:34:56Z'), 6 * 3_600_000)).toISOString()).toBe('2026-11-21T06:00:00.000Z');
  });
});

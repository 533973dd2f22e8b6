/** What the sweeper's stages share: days, and telling a repository that no longer exists. */
import { describe, expect, it } from 'vitest';
import { DAY_MS, isNotFound, isoDay } from '../../../../functions/ecr-events/sweep/model.ts';

describe('the sweep model', () => {
  it('writes a day as its UTC date', () => {
    expect(isoDay(new Date('2026-11-16T23:59:59.999Z'))).toBe('2026-11-16');
    expect(new Date(Date.parse('2026-11-16T00:00:00Z') + DAY_MS).toISOString()).toBe(
      '2026-11-17T00:00:00.000Z',
    );
  });

  it('tells a repository that no longer exists from other errors', () => {
    expect(isNotFound(Object.assign(new Error('gone'), { name: 'RepositoryNotFoundException' }))).toBe(true);
    expect(isNotFound(Object.assign(new Error('no'), { name: 'AccessDeniedException' }))).toBe(false);
    expect(isNotFound(undefined)).toBe(false);
  });
});

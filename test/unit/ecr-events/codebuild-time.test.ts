import { describe, expect, it } from 'vitest';
import { parseCodeBuildTime } from '../../../functions/ecr-events/codebuild-time.ts';

describe('parseCodeBuildTime', () => {
  it('reads every month of the year by its short name', () => {
    const months = ['Jan', 'Feb', 'Mar', 'Apr', 'May', 'Jun', 'Jul', 'Aug', 'Sep', 'Oct', 'Nov', 'Dec'];
    expect(months.map((mon) => parseCodeBuildTime(`${mon} 9, 2026 1:02:03 AM`))).toEqual(
      months.map((_, month) => Date.UTC(2026, month, 9, 1, 2, 3)),
    );
  });

  it('reads the hours of the afternoon and midnight and noon as a 24-hour clock does', () => {
    expect(parseCodeBuildTime('Nov 16, 2026 11:59:59 PM')).toBe(Date.UTC(2026, 10, 16, 23, 59, 59));
    expect(parseCodeBuildTime('Nov 16, 2026 12:05:00 AM')).toBe(Date.UTC(2026, 10, 16, 0, 5, 0));
    expect(parseCodeBuildTime('Nov 16, 2026 12:05:00 PM')).toBe(Date.UTC(2026, 10, 16, 12, 5, 0));
    expect(parseCodeBuildTime('Nov 16, 2026 10:05:00 AM')).toBe(Date.UTC(2026, 10, 16, 10, 5, 0));
  });

  it('reads two-digit days and hours, and ignores spaces around the time', () => {
    expect(parseCodeBuildTime('  Dec 31, 2026 10:11:12 PM ')).toBe(Date.UTC(2026, 11, 31, 22, 11, 12));
  });

  it('refuses a month it does not know, and anything that is not a string', () => {
    expect(parseCodeBuildTime('Foo 1, 2026 1:00:00 PM')).toBeUndefined();
    expect(parseCodeBuildTime(1_763_309_549_000)).toBeUndefined();
    expect(parseCodeBuildTime(undefined)).toBeUndefined();
  });

  it('refuses text around a CodeBuild time, and CodeBuild times with parts missing or too long', () => {
    for (const value of [
      'at Nov 16, 2026 4:12:29 PM',
      'Nov 16, 2026 4:12:29 PM UTC',
      'November 16, 2026 4:12:29 PM',
      'Nov 116, 2026 4:12:29 PM',
      'Nov 16, 26 4:12:29 PM',
      'Nov 16, 2026 4:12 PM',
      'Nov 16, 2026 4:12:2 PM',
      'Nov 16, 2026 104:12:29 PM',
      'Nov 16, 2026 4:12:29',
      'Nov 16 2026 4:12:29 PM',
      'NOV 16, 2026 4:12:29 PM',
    ]) {
      expect(parseCodeBuildTime(value), value).toBeUndefined();
    }
  });

  it('reads ISO 8601 times, and only times that begin with a full date and a T', () => {
    expect(parseCodeBuildTime('2026-11-16T16:14:21.500Z')).toBe(Date.UTC(2026, 10, 16, 16, 14, 21, 500));
    expect(parseCodeBuildTime('2026-11-16')).toBeUndefined();
    expect(parseCodeBuildTime('x2026-11-16T16:14:21Z')).toBeUndefined();
    expect(parseCodeBuildTime('2026-11-16T99:99:99Z')).toBeUndefined();
    expect(parseCodeBuildTime('16 Nov 2026 16:14:21 GMT')).toBeUndefined();
  });
});

/**
 * Stage 2, judge: what should become of a repository, from what was read of it, without calling
 * anything. Stale: no push for `staleDays` and no recorded pull for one day more. A stale
 * repository is first marked with the date, then deleted once the grace period has passed; one in
 * use is kept, and a mark on a repository no longer stale is removed.
 */
import { REPOSITORY_TAGS } from '../../shared/contract.ts';
import { wildcardToRegExp } from '../../shared/wildcard.ts';
import type { ImageReference } from './in-use.ts';
import { type Activity, type Candidate, DAY_MS, isoDay } from './model.ts';

/** `lastRecordedPullTime` is refreshed about once a day: a pull may be up to a day later than recorded. */
const PULL_TIME_SLACK_DAYS = 1;

export type Judgment =
  | { kind: 'active' }
  | { kind: 'unmark'; note: string }
  | { kind: 'in-use'; note: string; unmark: boolean }
  | { kind: 'mark'; note: string }
  | { kind: 'pending'; note: string }
  | { kind: 'delete'; note: string; mark: Date };

export interface JudgeInput {
  candidate: Candidate;
  activity: Activity;
  /** References to the repository's images (Lambda functions, task definitions); empty when none or unchecked. */
  usedBy: ImageReference[];
  now: Date;
  staleDays: number;
  graceDays: number;
}

/** Parses a stale-since tag value (`YYYY-MM-DD`); anything else counts as no mark. */
export function parseMark(value: string | undefined): Date | undefined {
  if (!value || !/^\d{4}-\d{2}-\d{2}$/.test(value)) return undefined;
  const date = new Date(`${value}T00:00:00Z`);
  return Number.isNaN(date.getTime()) ? undefined : date;
}

/** True when a name matches one of the protected names or wildcards. */
export function isProtected(name: string, patterns: readonly string[]): boolean {
  return patterns.some((pattern) => wildcardToRegExp(pattern).test(name));
}

/** No push for `staleDays` and no recorded pull for a day more. */
export function isStale(activity: Activity, now: Date, staleDays: number): boolean {
  const pushedBefore = now.getTime() - staleDays * DAY_MS;
  const pulledBefore = now.getTime() - (staleDays + PULL_TIME_SLACK_DAYS) * DAY_MS;
  return (
    activity.lastPush.getTime() < pushedBefore &&
    (!activity.lastPull || activity.lastPull.getTime() < pulledBefore)
  );
}

/** What should become of the repository, with the note the summary shows. */
export function judge(input: JudgeInput): Judgment {
  const { activity, now } = input;
  const mark = parseMark(input.candidate.tags[REPOSITORY_TAGS.staleSince]);
  if (!isStale(activity, now, input.staleDays))
    return mark ? { kind: 'unmark', note: 'used again' } : { kind: 'active' };
  const users = [...new Set(input.usedBy.map((ref) => ref.user))];
  if (users.length > 0) {
    const note = `(used by ${users.slice(0, 3).join(', ')}${users.length > 3 ? ', ...' : ''})`;
    return { kind: 'in-use', note, unmark: mark !== undefined };
  }
  const idle = `(no push since ${isoDay(activity.lastPush)}${activity.lastPull ? `, last pull ${isoDay(activity.lastPull)}` : ', never pulled'})`;
  if (!mark) {
    const deleteAfter = new Date(now.getTime() + input.graceDays * DAY_MS);
    return { kind: 'mark', note: `${idle}; deletion on or after ${isoDay(deleteAfter)}` };
  }
  const deleteAfter = mark.getTime() + input.graceDays * DAY_MS;
  if (now.getTime() < deleteAfter)
    return { kind: 'pending', note: `(deletion on or after ${isoDay(new Date(deleteAfter))})` };
  return { kind: 'delete', note: `${idle}; marked ${isoDay(mark)}`, mark };
}

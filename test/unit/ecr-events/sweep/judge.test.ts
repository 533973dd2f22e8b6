/** Stage 2, judge: the rules on their own (no client), then what is stale through a whole sweep. */
import { DescribeRepositoriesCommand, TagResourceCommand } from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { isProtected, judge, parseMark } from '../../../../functions/ecr-events/sweep/judge.ts';
import { sweep } from '../../../../functions/ecr-events/sweep/sweep.ts';
import { REPOSITORY_TAGS } from '../../../../functions/shared/contract.ts';
import {
  ACCOUNT,
  arn,
  daysAgo,
  deps,
  ecrMock,
  image,
  images,
  managed,
  NOW,
  options,
  repos,
  resetBeforeEach,
  staleMark,
} from './fixtures.ts';

resetBeforeEach();

describe('what is stale', () => {
  it('marks a repository without push or pull for N days with the date, and reports the deletion date', async () => {
    repos(managed('team/old'));
    images('team/old', image(120, 100), image(95));
    const report = await sweep(options, deps());
    expect(ecrMock).toHaveReceivedCommandWith(TagResourceCommand, {
      resourceArn: arn('team/old'),
      tags: [{ Key: REPOSITORY_TAGS.staleSince, Value: '2026-11-16' }],
    });
    expect(report.marked).toEqual([
      {
        repository: 'team/old',
        note: '(no push since 2026-08-13, last pull 2026-08-08); deletion on or after 2026-11-23',
      },
    ]);
    expect(report.kept).toBe(0);
  });

  it('keeps a repository pushed to recently', async () => {
    repos(managed('team/web'));
    images('team/web', image(300), image(10));
    const report = await sweep(options, deps());
    expect(report).toMatchObject({ marked: [], deleted: [], kept: 1 });
    expect(ecrMock).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('keeps a repository pulled recently even without pushes', async () => {
    repos(managed('team/base'));
    images('team/base', image(400, 30));
    const report = await sweep(options, deps());
    expect(report).toMatchObject({ marked: [], kept: 1 });
  });

  it('allows a day for lastRecordedPullTime lagging behind real pulls', async () => {
    repos(managed('lagging'), managed('idle'));
    images('lagging', image(400, 90.5));
    images('idle', image(400, 91.5));
    const report = await sweep(options, deps());
    expect(report.marked.map((r) => r.repository)).toEqual(['idle']);
  });

  it('counts an empty repository from its creation', async () => {
    repos(managed('empty-old'), managed('empty-new'));
    images('empty-old');
    images('empty-new');
    ecrMock
      .on(DescribeRepositoriesCommand, { repositoryNames: ['empty-old'] })
      .resolves({ repositories: [{ repositoryName: 'empty-old', createdAt: daysAgo(100) }] })
      .on(DescribeRepositoriesCommand, { repositoryNames: ['empty-new'] })
      .resolves({ repositories: [{ repositoryName: 'empty-new', createdAt: daysAgo(1) }] });
    const report = await sweep(options, deps());
    expect(report.marked.map((r) => r.repository)).toEqual(['empty-old']);
  });
});

describe('the rules', () => {
  const candidate = (tags: Record<string, string> = {}) => ({
    name: 'team/old',
    arn: arn('team/old'),
    account: ACCOUNT,
    tags,
  });
  const rules = { now: NOW, staleDays: 90, graceDays: 7, usedBy: [] };
  const idle = { lastPush: daysAgo(200), lastPull: daysAgo(150) };

  it('marks a stale repository with no mark, and says when it will be deleted', () => {
    expect(judge({ ...rules, candidate: candidate(), activity: idle })).toEqual({
      kind: 'mark',
      note: '(no push since 2026-04-30, last pull 2026-06-19); deletion on or after 2026-11-23',
    });
  });

  it('waits for the grace period, then deletes', () => {
    expect(judge({ ...rules, candidate: candidate(staleMark('2026-11-12')), activity: idle })).toEqual({
      kind: 'pending',
      note: '(deletion on or after 2026-11-19)',
    });
    expect(judge({ ...rules, candidate: candidate(staleMark('2026-11-09')), activity: idle })).toMatchObject({
      kind: 'delete',
      mark: new Date('2026-11-09T00:00:00Z'),
    });
  });

  it('removes the mark of a repository used again, and leaves an active one alone', () => {
    const active = { lastPush: daysAgo(3) };
    expect(judge({ ...rules, candidate: candidate(staleMark('2026-11-01')), activity: active })).toEqual({
      kind: 'unmark',
      note: 'used again',
    });
    expect(judge({ ...rules, candidate: candidate(), activity: active })).toEqual({ kind: 'active' });
  });

  it('keeps a stale repository in use, names at most three users, and unmarks it if marked', () => {
    const usedBy = ['a', 'b', 'c', 'd'].map((fn) => ({
      registry: ACCOUNT,
      repository: 'team/old',
      user: `lambda:${fn}`,
    }));
    expect(
      judge({ ...rules, usedBy, candidate: candidate(staleMark('2026-11-01')), activity: idle }),
    ).toEqual({
      kind: 'in-use',
      note: '(used by lambda:a, lambda:b, lambda:c, ...)',
      unmark: true,
    });
  });

  it('counts a repository pushed exactly N days ago, or pulled exactly N + 1 days ago, as not yet stale', () => {
    const boundary = { ...rules, candidate: candidate() };
    expect(judge({ ...boundary, activity: { lastPush: daysAgo(90) } })).toEqual({ kind: 'active' });
    expect(judge({ ...boundary, activity: { lastPush: daysAgo(200), lastPull: daysAgo(91) } })).toEqual({
      kind: 'active',
    });
    expect(judge({ ...boundary, activity: { lastPush: daysAgo(90.01) } })).toMatchObject({ kind: 'mark' });
  });

  it('deletes on the day the grace period ends, from midnight UTC', () => {
    const marked = { ...rules, candidate: candidate(staleMark('2026-11-09')), activity: idle };
    expect(judge({ ...marked, now: new Date('2026-11-16T00:00:00Z') })).toMatchObject({ kind: 'delete' });
    expect(judge({ ...marked, now: new Date('2026-11-15T23:59:59Z') })).toEqual({
      kind: 'pending',
      note: '(deletion on or after 2026-11-16)',
    });
  });

  it('says when a stale repository was never pulled', () => {
    expect(
      judge({
        ...rules,
        candidate: candidate(staleMark('2026-11-01')),
        activity: { lastPush: daysAgo(200) },
      }),
    ).toMatchObject({ kind: 'delete', note: '(no push since 2026-04-30, never pulled); marked 2026-11-01' });
  });

  it('keeps a stale unmarked repository in use without unmarking it, and names three users in full', () => {
    const usedBy = ['a', 'b', 'c'].map((fn) => ({
      registry: ACCOUNT,
      repository: 'team/old',
      user: `lambda:${fn}`,
    }));
    expect(judge({ ...rules, usedBy, candidate: candidate(), activity: idle })).toEqual({
      kind: 'in-use',
      note: '(used by lambda:a, lambda:b, lambda:c)',
      unmark: false,
    });
  });

  it('reads only a well-formed mark', () => {
    expect(parseMark('2026-11-01')).toEqual(new Date('2026-11-01T00:00:00Z'));
    expect(parseMark('yesterday')).toBeUndefined();
    expect(parseMark('2026-13-45')).toBeUndefined();
    expect(parseMark('')).toBeUndefined();
    expect(parseMark(undefined)).toBeUndefined();
  });

  it('reads no mark from a value that is a date in another form, or a date with text around it', () => {
    // Each of these reads as 2026-11-01 (or 2026-11) when given to Date: only YYYY-MM-DD is a mark.
    expect(parseMark('2026-11')).toBeUndefined();
    expect(parseMark('+002026-11-01')).toBeUndefined();
    expect(parseMark('2026-11-01 (keep')).toBeUndefined();
  });

  it('protects names and wildcards', () => {
    expect(isProtected('team/keep-me', ['team/keep-*'])).toBe(true);
    expect(isProtected('team/old', ['team/keep-*', 'base'])).toBe(false);
  });
});

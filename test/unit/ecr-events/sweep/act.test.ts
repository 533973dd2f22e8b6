/** Stage 3, act: marking, unmarking, deleting, and the checks right before deleting. */

import { BatchGetBuildsCommand, type Build, ListBuildsForProjectCommand } from '@aws-sdk/client-codebuild';
import {
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { describe, expect, it } from 'vitest';
import { type ActDeps, act } from '../../../../functions/ecr-events/sweep/act.ts';
import type { Activity, Candidate } from '../../../../functions/ecr-events/sweep/model.ts';
import { sweep } from '../../../../functions/ecr-events/sweep/sweep.ts';
import { BUILD_ENV, REPOSITORY_TAGS } from '../../../../functions/shared/contract.ts';
import { stubLogger } from '../fixtures.ts';
import {
  ACCOUNT,
  arn,
  codebuildMock,
  deps,
  ecr,
  ecrMock,
  image,
  images,
  managed,
  managedTags,
  NOW,
  notFound,
  options,
  repos,
  resetBeforeEach,
  STACK,
  staleMark,
  throttled,
} from './fixtures.ts';

resetBeforeEach();

describe('the two steps', () => {
  it('removes the mark of a repository pushed to since it was marked', async () => {
    repos(managed('team/back', staleMark('2026-11-10')));
    images('team/back', image(200), image(1));
    const report = await sweep(options, deps());
    expect(ecrMock).toHaveReceivedCommandWith(UntagResourceCommand, {
      resourceArn: arn('team/back'),
      tagKeys: [REPOSITORY_TAGS.staleSince],
    });
    expect(report.unmarked).toEqual([{ repository: 'team/back', note: 'used again' }]);
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('waits for the grace period before deleting', async () => {
    repos(managed('team/old', staleMark('2026-11-12')));
    images('team/old', image(200));
    const report = await sweep(options, deps());
    expect(report.pending).toEqual([{ repository: 'team/old', note: '(deletion on or after 2026-11-19)' }]);
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(ecrMock).not.toHaveReceivedCommand(TagResourceCommand);
  });

  it('deletes with force once the grace period has passed and the mark is still there', async () => {
    repos(managed('team/old', staleMark('2026-11-01')));
    images('team/old', image(200));
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: managedTags(staleMark('2026-11-01')) });
    ecrMock.on(DeleteRepositoryCommand).resolves({});
    const report = await sweep(options, deps());
    expect(ecrMock).toHaveReceivedCommandWith(DeleteRepositoryCommand, {
      repositoryName: 'team/old',
      registryId: ACCOUNT,
      force: true,
    });
    expect(report.deleted).toEqual([
      { repository: 'team/old', note: expect.stringContaining('marked 2026-11-01') },
    ]);
  });

  it('does not delete when the mark disappeared since the repositories were listed (a push in between)', async () => {
    repos(managed('team/old', staleMark('2026-11-01')));
    images('team/old', image(200));
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: managedTags() });
    const report = await sweep(options, deps());
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(report.deleted).toEqual([]);
  });

  it('treats a repository deleted by an overlapping sweep as done, without reporting it twice', async () => {
    repos(managed('team/old', staleMark('2026-11-01')));
    images('team/old', image(200));
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: managedTags(staleMark('2026-11-01')) });
    ecrMock.on(DeleteRepositoryCommand).rejects(notFound());
    const report = await sweep(options, deps());
    expect(report).toMatchObject({ deleted: [], errors: [] });
  });

  it('skips a repository that vanished between listing and reading its images', async () => {
    repos(managed('team/gone'));
    ecrMock.on(DescribeImagesCommand).rejects(notFound());
    const report = await sweep(options, deps());
    expect(report).toMatchObject({ marked: [], errors: [], kept: 0 });
  });
});

describe('never deletes what is being used or built', () => {
  const MINUTE = 60_000;
  /** A repository due for deletion: marked long enough ago, stale, the mark still there when re-read. */
  function dueForDeletion(name: string) {
    repos(managed(name, staleMark('2026-11-01')));
    images(name, image(200));
    ecrMock
      .on(ListTagsForResourceCommand, { resourceArn: arn(name) })
      .resolves({ tags: managedTags(staleMark('2026-11-01')) });
    ecrMock.on(DeleteRepositoryCommand).resolves({});
  }
  function build(
    id: string,
    repository: string,
    status: Build['buildStatus'],
    phase: string,
    ago = MINUTE,
  ): Build {
    return {
      id,
      buildStatus: status,
      currentPhase: phase,
      startTime: new Date(NOW.getTime() - ago),
      environment: {
        type: 'LINUX_CONTAINER',
        image: 'aws/codebuild/standard',
        computeType: 'BUILD_GENERAL1_SMALL',
        environmentVariables: [
          { name: 'CONTEXT_KEY', value: `${repository}/v1.tar.gz` },
          { name: BUILD_ENV.repository, value: repository },
        ],
      },
    };
  }
  function builds(...list: Build[]) {
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: list.map((b) => b.id ?? '') });
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: list });
  }

  it('does not delete a repository pushed to after it was judged stale, and removes its mark', async () => {
    dueForDeletion('team/old');
    const pushedNow = { ...image(0), imagePushedAt: new Date(NOW.getTime() + MINUTE) };
    ecrMock
      .on(DescribeImagesCommand, { repositoryName: 'team/old' })
      .resolvesOnce({ imageDetails: [image(200)] })
      .resolves({ imageDetails: [image(200), pushedNow] });
    const report = await sweep(options, deps());
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(ecrMock).toHaveReceivedCommandTimes(DescribeImagesCommand, 2);
    expect(report.deleted).toEqual([]);
    expect(report.unmarked).toEqual([
      { repository: 'team/old', note: expect.stringContaining('pushed 2026-11-16') },
    ]);
    expect(ecrMock).toHaveReceivedCommandWith(UntagResourceCommand, {
      resourceArn: arn('team/old'),
      tagKeys: [REPOSITORY_TAGS.staleSince],
    });
  });

  it('re-reads every page of the images before deleting', async () => {
    dueForDeletion('team/old');
    ecrMock
      .on(DescribeImagesCommand, { repositoryName: 'team/old' })
      .resolvesOnce({ imageDetails: [image(200)] })
      .resolvesOnce({ imageDetails: [image(200)], nextToken: 'i2' })
      .resolves({ imageDetails: [{ ...image(0), imagePushedAt: new Date(NOW.getTime() + MINUTE) }] });
    const report = await sweep(options, deps());
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'team/old',
      nextToken: 'i2',
    });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(report.deleted).toEqual([]);
  });

  it.each([
    ['queued', 'QUEUED'],
    ['submitted', 'SUBMITTED'],
    ['provisioning', 'PROVISIONING'],
    ['running', 'BUILD'],
  ])('does not delete a repository with a build %s', async (_, phase) => {
    dueForDeletion('team/old');
    builds(
      build(`${STACK}:b2`, 'team/old', 'IN_PROGRESS', phase),
      build(`${STACK}:b1`, 'team/old', 'SUCCEEDED', 'COMPLETED', 60 * MINUTE),
    );
    const report = await sweep(options, deps());
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(report.deleted).toEqual([]);
    expect(report.inUse).toEqual([{ repository: 'team/old', note: `(being built: ${STACK}:b2)` }]);
    expect(codebuildMock).toHaveReceivedCommandWith(ListBuildsForProjectCommand, {
      projectName: STACK,
      sortOrder: 'DESCENDING',
    });
    expect(codebuildMock).toHaveReceivedCommandWith(BatchGetBuildsCommand, {
      ids: [`${STACK}:b2`, `${STACK}:b1`],
    });
  });

  it('reports the same in a dry run', async () => {
    dueForDeletion('team/old');
    builds(build(`${STACK}:b2`, 'team/old', 'IN_PROGRESS', 'QUEUED'));
    const report = await sweep({ ...options, dryRun: true }, deps());
    expect(report).toMatchObject({ deleted: [], inUse: [{ repository: 'team/old' }] });
  });

  it('deletes nothing when the builds cannot be read, and says so in the summary', async () => {
    dueForDeletion('team/old');
    codebuildMock
      .on(ListBuildsForProjectCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const report = await sweep(options, deps());
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(report.deleted).toEqual([]);
    expect(report.errors).toEqual([
      {
        repository: 'team/old',
        error: expect.stringMatching(
          new RegExp(
            `not deleted: cannot read the builds of ${STACK}.*AccessDeniedException: not authorized`,
          ),
        ),
      },
    ]);
  });

  it('deletes nothing when the project has more recent builds than it reads', async () => {
    dueForDeletion('team/old');
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: ['p:1'], nextToken: 'more' });
    codebuildMock
      .on(BatchGetBuildsCommand)
      .resolves({ builds: [build('p:1', 'team/other', 'SUCCEEDED', 'COMPLETED')] });
    const report = await sweep(options, deps());
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(report.errors.map((e) => e.error)).toEqual([expect.stringContaining('not deleted')]);
    expect(codebuildMock).toHaveReceivedCommandTimes(ListBuildsForProjectCommand, 10);
  });

  it('deletes nothing when it does not know the project', async () => {
    dueForDeletion('team/old');
    const report = await sweep({ ...options, projectName: '' }, deps());
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(report.errors.map((e) => e.error)).toEqual([expect.stringContaining('not deleted')]);
  });

  it('is not held back by a build of another repository, or by finished builds', async () => {
    dueForDeletion('team/old');
    builds(
      build('p:3', 'team/other', 'IN_PROGRESS', 'BUILD'),
      build('p:2', 'team/old', 'FAILED', 'COMPLETED'),
      build('p:1', 'team/old', 'SUCCEEDED', 'COMPLETED'),
    );
    const report = await sweep(options, deps());
    expect(ecrMock).toHaveReceivedCommandWith(DeleteRepositoryCommand, {
      repositoryName: 'team/old',
      force: true,
    });
    expect(report.deleted).toEqual([
      { repository: 'team/old', note: expect.stringContaining('marked 2026-11-01') },
    ]);
  });

  it('reads the builds once per sweep and again right before a deletion, only as far back as a build can still run', async () => {
    dueForDeletion('a');
    repos(managed('a', staleMark('2026-11-01')), managed('b', staleMark('2026-11-01')), managed('fresh'));
    images('b', image(200));
    images('fresh', image(1));
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: managedTags(staleMark('2026-11-01')) });
    codebuildMock
      .on(ListBuildsForProjectCommand)
      .resolvesOnce({ ids: ['p:9'], nextToken: 't2' })
      .resolves({ ids: ['p:8'], nextToken: 't3' });
    codebuildMock
      .on(BatchGetBuildsCommand, { ids: ['p:9'] })
      .resolves({ builds: [build('p:9', 'b', 'IN_PROGRESS', 'BUILD')] })
      .on(BatchGetBuildsCommand, { ids: ['p:8'] })
      // Started 45 hours ago: older than any build can run (36 h timeout + 8 h in the queue).
      .resolves({ builds: [build('p:8', 'a', 'SUCCEEDED', 'COMPLETED', 45 * 60 * MINUTE)] });
    const report = await sweep(options, deps());
    // Two pages for the sweep (b is being built), one more right before deleting a.
    expect(codebuildMock).toHaveReceivedCommandTimes(ListBuildsForProjectCommand, 3);
    expect(codebuildMock).toHaveReceivedNthCommandWith(ListBuildsForProjectCommand, 2, { nextToken: 't2' });
    expect(report.deleted.map((r) => r.repository)).toEqual(['a']);
    expect(report.inUse.map((r) => r.repository)).toEqual(['b']);
  });

  it('does not read the builds when nothing is due for deletion', async () => {
    repos(managed('fresh'), managed('to-mark'));
    images('fresh', image(1));
    images('to-mark', image(200));
    await sweep(options, deps());
    expect(codebuildMock).not.toHaveReceivedAnyCommand();
  });
});

describe('dry run', () => {
  it('reports what it would mark, unmark and delete, and changes nothing', async () => {
    repos(
      managed('to-mark'),
      managed('to-delete', staleMark('2026-11-01')),
      managed('to-unmark', staleMark('2026-11-01')),
    );
    images('to-mark', image(200));
    images('to-delete', image(200));
    images('to-unmark', image(2));
    const report = await sweep({ ...options, dryRun: true }, deps());
    expect(report).toMatchObject({
      dryRun: true,
      marked: [{ repository: 'to-mark' }],
      deleted: [{ repository: 'to-delete' }],
      unmarked: [{ repository: 'to-unmark' }],
    });
    expect(ecrMock).not.toHaveReceivedCommand(TagResourceCommand);
    expect(ecrMock).not.toHaveReceivedCommand(UntagResourceCommand);
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });
});

describe('one judgment, carried out', () => {
  const candidate: Candidate = {
    name: 'team/old',
    arn: arn('team/old'),
    account: ACCOUNT,
    tags: staleMark('2026-11-01'),
  };
  const judged: Activity = { lastPush: new Date('2026-04-30T12:00:00Z') };
  const due = { kind: 'delete', note: 'idle', mark: new Date('2026-11-01T00:00:00Z') } as const;
  function actDeps(extra: Partial<ActDeps> = {}): ActDeps & { logger: ReturnType<typeof stubLogger> } {
    return {
      ecr,
      logger: stubLogger(),
      dryRun: false,
      now: NOW,
      buildsInProgress: async () => new Map(),
      buildsInProgressNow: async () => new Map(),
      ...extra,
    } as ActDeps & { logger: ReturnType<typeof stubLogger> };
  }
  /** The mark is still there when re-read, and the images are as judged. */
  function unchanged() {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: managedTags(staleMark('2026-11-01')) });
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: 'sha256:1', imagePushedAt: judged.lastPush }] });
    ecrMock.on(DeleteRepositoryCommand).resolves({});
  }

  it('leaves an active repository alone and reports it active', async () => {
    const deps = actDeps();
    expect(await act({ kind: 'active' }, candidate, judged, deps)).toEqual({ kind: 'active' });
    expect(ecrMock).not.toHaveReceivedAnyCommand();
  });

  it('removes the mark of a repository in use only when it is marked', async () => {
    const note = '(used by lambda:a)';
    expect(await act({ kind: 'in-use', note, unmark: false }, candidate, judged, actDeps())).toEqual({
      kind: 'in-use',
      note,
    });
    expect(ecrMock).not.toHaveReceivedAnyCommand();
    expect(await act({ kind: 'in-use', note, unmark: true }, candidate, judged, actDeps())).toEqual({
      kind: 'in-use',
      note,
    });
    expect(ecrMock).toHaveReceivedCommandWith(UntagResourceCommand, {
      resourceArn: arn('team/old'),
      tagKeys: [REPOSITORY_TAGS.staleSince],
    });
  });

  it('marks a repository stale with the day of the sweep, and only says it would on a dry run', async () => {
    ecrMock.on(TagResourceCommand).resolves({});
    const mark = { kind: 'mark', note: 'idle' } as const;
    expect(await act(mark, { ...candidate, tags: {} }, judged, actDeps({ dryRun: true }))).toEqual({
      kind: 'marked',
      note: 'idle',
    });
    expect(ecrMock).not.toHaveReceivedCommand(TagResourceCommand);
    expect(await act(mark, { ...candidate, tags: {} }, judged, actDeps())).toEqual({
      kind: 'marked',
      note: 'idle',
    });
    expect(ecrMock).toHaveReceivedCommandWith(TagResourceCommand, {
      resourceArn: arn('team/old'),
      tags: [{ Key: REPOSITORY_TAGS.staleSince, Value: NOW.toISOString().slice(0, 10) }],
    });
  });

  it('logs each repository it marks or deletes, saying when it only would', async () => {
    unchanged();
    ecrMock.on(TagResourceCommand).resolves({});
    const mark = { kind: 'mark', note: 'idle' } as const;
    for (const dryRun of [false, true]) {
      const deps = actDeps({ dryRun });
      await act(mark, { ...candidate, tags: {} }, judged, deps);
      await act(due, candidate, judged, deps);
      expect(deps.logger.info.mock.calls).toEqual(
        dryRun
          ? [
              ['would mark stale', { repository: 'team/old' }],
              ['would delete', { repository: 'team/old' }],
            ]
          : [
              ['marked stale', { repository: 'team/old' }],
              ['deleted', { repository: 'team/old' }],
            ],
      );
    }
  });

  it('deletes a repository listed with no build in progress', async () => {
    unchanged();
    const deps = actDeps({ buildsInProgress: async () => new Map([['team/old', []]]) });
    expect(await act(due, candidate, judged, deps)).toEqual({ kind: 'deleted', note: 'idle' });
    expect(ecrMock).toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('keeps a repository whose build started after the sweep read the builds: it reads them again right before deleting', async () => {
    unchanged();
    const deps = actDeps({
      buildsInProgress: async () => new Map(),
      buildsInProgressNow: async () => new Map([['team/old', ['p:9']]]),
    });
    expect(await act(due, candidate, judged, deps)).toEqual({ kind: 'in-use', note: '(being built: p:9)' });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('deletes a repository whose builds, read again, list none for it', async () => {
    unchanged();
    const deps = actDeps({ buildsInProgressNow: async () => new Map([['team/old', []]]) });
    expect(await act(due, candidate, judged, deps)).toEqual({ kind: 'deleted', note: 'idle' });
    expect(ecrMock).toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('names at most three of the builds found on the second read', async () => {
    unchanged();
    const deps = actDeps({
      buildsInProgressNow: async () => new Map([['team/old', ['p:8', 'p:7', 'p:6', 'p:5']]]),
    });
    expect(await act(due, candidate, judged, deps)).toEqual({
      kind: 'in-use',
      note: '(being built: p:8, p:7, p:6)',
    });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('names at most three of the builds that keep a repository', async () => {
    unchanged();
    const ids = ['p:4', 'p:3', 'p:2', 'p:1'];
    const deps = actDeps({ buildsInProgress: async () => new Map([['team/old', ids]]) });
    expect(await act(due, candidate, judged, deps)).toEqual({
      kind: 'in-use',
      note: '(being built: p:4, p:3, p:2)',
    });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('reports a repository gone when its tags or its images can no longer be read, and deletes nothing', async () => {
    unchanged();
    ecrMock.on(ListTagsForResourceCommand).rejects(notFound());
    expect(await act(due, candidate, judged, actDeps())).toEqual({ kind: 'gone' });
    ecrMock.reset();
    unchanged();
    ecrMock.on(DescribeImagesCommand).rejects(notFound());
    expect(await act(due, candidate, judged, actDeps())).toEqual({ kind: 'gone' });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('fails, deleting nothing, when the mark cannot be re-read for another reason', async () => {
    unchanged();
    ecrMock.on(ListTagsForResourceCommand).rejects(throttled());
    await expect(act(due, candidate, judged, actDeps())).rejects.toThrow('Rate exceeded');
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });

  it('fails when the deletion fails for another reason than the repository being gone', async () => {
    unchanged();
    ecrMock.on(DeleteRepositoryCommand).rejects(throttled());
    await expect(act(due, candidate, judged, actDeps())).rejects.toThrow('Rate exceeded');
  });

  it('keeps a repository with any push later than the one judged, and removes its mark', async () => {
    unchanged();
    const later = new Date(judged.lastPush.getTime() + 1);
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: 'sha256:2', imagePushedAt: later }] });
    expect(await act(due, candidate, judged, actDeps())).toEqual({
      kind: 'unmarked',
      note: `pushed ${later.toISOString()}, after it was judged stale`,
    });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(ecrMock).toHaveReceivedCommand(UntagResourceCommand);
  });

  it('keeps a repository pushed to after its mark even when the judgment saw that push (its event lost)', async () => {
    // Marked on 1 November; the push of 5 November did not remove the mark, and no sweep ran until
    // the repository was stale again: the mark is older than the last push, so no notice was given.
    unchanged();
    const afterMark: Activity = { lastPush: new Date('2026-11-05T08:00:00Z') };
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: 'sha256:3', imagePushedAt: afterMark.lastPush }] });
    expect(await act(due, candidate, afterMark, actDeps())).toMatchObject({ kind: 'unmarked' });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(ecrMock).toHaveReceivedCommand(UntagResourceCommand);
  });

  it('keeps a repository pushed to on the day of its mark or later, and removes its mark', async () => {
    unchanged();
    const onMarkDay = new Date('2026-11-01T00:00:00Z');
    ecrMock
      .on(DescribeImagesCommand)
      .resolves({ imageDetails: [{ imageDigest: 'sha256:2', imagePushedAt: onMarkDay }] });
    expect(await act(due, candidate, judged, actDeps())).toEqual({
      kind: 'unmarked',
      note: 'pushed 2026-11-01T00:00:00.000Z, after it was judged stale',
    });
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
    expect(ecrMock).toHaveReceivedCommand(UntagResourceCommand);
  });
});

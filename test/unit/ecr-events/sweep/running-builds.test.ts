import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import {
  findBuildsInProgress,
  MAX_BUILD_LIFETIME_MS,
  MAX_BUILD_PAGES,
} from '../../../../functions/ecr-events/sweep/running-builds.ts';

const codebuild = new CodeBuildClient({
  region: 'us-west-2',
  credentials: { accessKeyId: 'a', secretAccessKey: 'b' },
});
const codebuildMock = mockClient(codebuild);
const NOW = new Date('2026-11-20T10:00:00.000Z');
const deps = { codebuild, projectName: 'ecr-pipeline-dev', now: NOW };

const build = (
  id: string,
  repository: string | undefined,
  buildStatus: Build['buildStatus'],
  startedMsAgo = 0,
): Build => ({
  id,
  buildStatus,
  startTime: new Date(NOW.getTime() - startedMsAgo),
  environment: {
    type: 'LINUX_CONTAINER',
    image: 'aws/codebuild/amazonlinux-x86_64-standard:5.0',
    computeType: 'BUILD_GENERAL1_SMALL',
    environmentVariables: [
      { name: 'IMAGE_TAG', value: 'v1' },
      ...(repository === undefined ? [] : [{ name: 'IMAGE_REPOSITORY', value: repository }]),
    ],
  },
});

beforeEach(() => {
  codebuildMock.reset();
});

describe('findBuildsInProgress', () => {
  it('maps each repository to the builds queued or running into it, newest first', async () => {
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: ['p:4', 'p:3', 'p:2', 'p:1'] });
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        build('p:4', 'team/web', 'IN_PROGRESS'),
        build('p:3', 'team/api', 'IN_PROGRESS'),
        build('p:2', 'team/web', 'IN_PROGRESS'),
        build('p:1', 'team/web', 'SUCCEEDED'),
      ],
    });
    const found = await findBuildsInProgress(deps);
    expect(found).toEqual(
      new Map([
        ['team/web', ['p:4', 'p:2']],
        ['team/api', ['p:3']],
      ]),
    );
    expect(codebuildMock).toHaveReceivedCommandWith(ListBuildsForProjectCommand, {
      projectName: 'ecr-pipeline-dev',
      sortOrder: 'DESCENDING',
    });
    expect(codebuildMock).toHaveReceivedCommandWith(BatchGetBuildsCommand, {
      ids: ['p:4', 'p:3', 'p:2', 'p:1'],
    });
  });

  it('leaves out builds without an id or without a repository', async () => {
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: ['p:2', 'p:1'] });
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        { ...build('x', 'team/web', 'IN_PROGRESS'), id: undefined },
        build('p:1', undefined, 'IN_PROGRESS'),
        { id: 'p:0', buildStatus: 'IN_PROGRESS' },
      ],
    });
    expect(await findBuildsInProgress(deps)).toEqual(new Map());
  });

  it('reads the next page only while the builds on a page could still be running', async () => {
    codebuildMock
      .on(ListBuildsForProjectCommand)
      .resolvesOnce({ ids: ['p:3'], nextToken: 't2' })
      .resolvesOnce({ ids: ['p:2'], nextToken: 't3' })
      .resolves({ ids: ['p:1'] });
    codebuildMock
      .on(BatchGetBuildsCommand, { ids: ['p:3'] })
      .resolves({ builds: [build('p:3', 'team/web', 'IN_PROGRESS', MAX_BUILD_LIFETIME_MS)] })
      .on(BatchGetBuildsCommand, { ids: ['p:2'] })
      .resolves({ builds: [build('p:2', 'team/api', 'IN_PROGRESS', MAX_BUILD_LIFETIME_MS + 1)] });
    const found = await findBuildsInProgress(deps);
    expect(found).toEqual(
      new Map([
        ['team/web', ['p:3']],
        ['team/api', ['p:2']],
      ]),
    );
    expect(codebuildMock).toHaveReceivedCommandTimes(ListBuildsForProjectCommand, 2);
    expect(codebuildMock).toHaveReceivedNthCommandWith(ListBuildsForProjectCommand, 2, { nextToken: 't2' });
  });

  it('counts a build as still running for 36 hours of build and 8 in the queue', () => {
    expect(MAX_BUILD_LIFETIME_MS).toBe(44 * 3_600_000);
    expect(MAX_BUILD_PAGES).toBe(10);
  });

  it('stops at an empty page without asking for the builds', async () => {
    codebuildMock
      .on(ListBuildsForProjectCommand)
      .resolvesOnce({ ids: [], nextToken: 't2' })
      .resolves({ ids: ['p:1'] });
    expect(await findBuildsInProgress(deps)).toEqual(new Map());
    expect(codebuildMock).toHaveReceivedCommandTimes(ListBuildsForProjectCommand, 1);
    expect(codebuildMock).not.toHaveReceivedCommand(BatchGetBuildsCommand);
    codebuildMock.reset();
    codebuildMock.on(ListBuildsForProjectCommand).resolves({});
    expect(await findBuildsInProgress(deps)).toEqual(new Map());
    expect(codebuildMock).not.toHaveReceivedCommand(BatchGetBuildsCommand);
  });

  it('throws when the project has more pages of recent builds than it reads, naming them', async () => {
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: ['p:1'], nextToken: 'more' });
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [build('p:1', 'team/web', 'SUCCEEDED')] });
    await expect(findBuildsInProgress({ ...deps, maxPages: 2 })).rejects.toThrow(
      'more than 2 pages of builds of ecr-pipeline-dev in the last 44 hours',
    );
    expect(codebuildMock).toHaveReceivedCommandTimes(ListBuildsForProjectCommand, 2);
    codebuildMock.resetHistory();
    await expect(findBuildsInProgress(deps)).rejects.toThrow('more than 10 pages');
    expect(codebuildMock).toHaveReceivedCommandTimes(ListBuildsForProjectCommand, 10);
  });

  it('reads the last allowed page when it is the last page of all', async () => {
    codebuildMock
      .on(ListBuildsForProjectCommand)
      .resolvesOnce({ ids: ['p:2'], nextToken: 't2' })
      .resolves({ ids: ['p:1'] });
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [] });
    expect(await findBuildsInProgress({ ...deps, maxPages: 2 })).toEqual(new Map());
    expect(codebuildMock).toHaveReceivedCommandTimes(BatchGetBuildsCommand, 2);
  });

  it('throws without a project name, before any call', async () => {
    await expect(findBuildsInProgress({ ...deps, projectName: '' })).rejects.toThrow(
      'no CodeBuild project name (BUILD_PROJECT_NAME)',
    );
    expect(codebuildMock).not.toHaveReceivedAnyCommand();
  });

  it('leaves out a build whose environment lists no variables', async () => {
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: ['p:1'] });
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: 'p:1',
          buildStatus: 'IN_PROGRESS',
          environment: { type: 'LINUX_CONTAINER', image: 'i', computeType: 'BUILD_GENERAL1_SMALL' },
        },
      ],
    });
    expect(await findBuildsInProgress(deps)).toEqual(new Map());
  });
});

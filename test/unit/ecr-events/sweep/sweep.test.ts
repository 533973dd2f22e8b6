/** The whole sweep: the account-wide lookups, scale, failures, the invocation's deadline. */
import {
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  TagResourceCommand,
} from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { GetFunctionCommand, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import { GetResourcesCommand } from '@aws-sdk/client-resource-groups-tagging-api';
import { describe, expect, it, vi } from 'vitest';
import { sweep } from '../../../../functions/ecr-events/sweep/sweep.ts';
import { stubLogger } from '../fixtures.ts';
import {
  ACCOUNT,
  arn,
  deps,
  ecrMock,
  ecs,
  ecsMock,
  image,
  images,
  lambda,
  lambdaMock,
  managed,
  managedTags,
  notFound,
  options,
  repos,
  resetBeforeEach,
  staleMark,
  taggingMock,
} from './fixtures.ts';

resetBeforeEach();

describe('images still in use', () => {
  const digest = `sha256:${'a'.repeat(64)}`;

  it('keeps a stale repository a Lambda function runs by digest, or an ECS task definition by tag', async () => {
    repos(managed('fn-image'), managed('task-image'), managed('nobody'));
    images('fn-image', image(200));
    images('task-image', image(200));
    images('nobody', image(200));
    lambdaMock
      .on(ListFunctionsCommand)
      .resolvesOnce({ Functions: [{ FunctionName: 'api', PackageType: 'Image' }], NextMarker: 'm2' })
      .resolvesOnce({ Functions: [{ FunctionName: 'zip', PackageType: 'Zip' }] });
    lambdaMock.on(GetFunctionCommand, { FunctionName: 'api' }).resolves({
      Code: { ImageUri: `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/fn-image@${digest}` },
    });
    ecsMock.on(ListTaskDefinitionsCommand).resolves({
      taskDefinitionArns: ['arn:aws:ecs:us-west-2:123456789012:task-definition/web:3'],
    });
    ecsMock.on(DescribeTaskDefinitionCommand).resolves({
      taskDefinition: {
        family: 'web',
        revision: 3,
        containerDefinitions: [
          { name: 'app', image: `${ACCOUNT}.dkr.ecr.us-west-2.amazonaws.com/task-image:v2` },
          { name: 'proxy', image: 'public.ecr.aws/nginx/nginx:latest' },
          { name: 'other', image: '999999999999.dkr.ecr.us-west-2.amazonaws.com/nobody:v1' },
        ],
      },
    });
    const report = await sweep({ ...options, checkInUse: true }, deps());
    expect(report.inUse).toEqual([
      { repository: 'fn-image', note: '(used by lambda:api)' },
      { repository: 'task-image', note: '(used by ecs:web:3)' },
    ]);
    expect(report.marked.map((r) => r.repository)).toEqual(['nobody']);
    expect(lambdaMock).toHaveReceivedNthCommandWith(ListFunctionsCommand, 2, { Marker: 'm2' });
    expect(lambdaMock).toHaveReceivedCommandExactlyOnceWith(GetFunctionCommand, { FunctionName: 'api' });
    expect(ecsMock).toHaveReceivedCommandWith(ListTaskDefinitionsCommand, { status: 'ACTIVE' });
    expect(ecsMock).toHaveReceivedCommandWith(DescribeTaskDefinitionCommand, {
      taskDefinition: 'arn:aws:ecs:us-west-2:123456789012:task-definition/web:3',
    });
  });

  it('lists functions and task definitions once per sweep, and only when something is stale', async () => {
    const loaders = { lambda: vi.fn(async () => lambda), ecs: vi.fn(async () => ecs) };
    repos(managed('fresh'));
    images('fresh', image(1));
    await sweep({ ...options, checkInUse: true }, deps(loaders));
    expect(lambdaMock).not.toHaveReceivedAnyCommand();
    // Not even loaded.
    expect(loaders.lambda).not.toHaveBeenCalled();
    repos(managed('a'), managed('b'));
    images('a', image(200));
    images('b', image(200));
    await sweep({ ...options, checkInUse: true }, deps(loaders));
    expect(lambdaMock).toHaveReceivedCommandTimes(ListFunctionsCommand, 1);
    expect(ecsMock).toHaveReceivedCommandTimes(ListTaskDefinitionsCommand, 1);
  });

  it('marks nothing when it cannot tell what is in use', async () => {
    repos(managed('team/old'));
    images('team/old', image(200));
    lambdaMock
      .on(ListFunctionsCommand)
      .rejects(Object.assign(new Error('not authorized'), { name: 'AccessDeniedException' }));
    const report = await sweep({ ...options, checkInUse: true }, deps());
    expect(report.marked).toEqual([]);
    expect(report.errors).toEqual([
      { repository: 'team/old', error: 'AccessDeniedException: not authorized' },
    ]);
    expect(ecrMock).not.toHaveReceivedCommand(TagResourceCommand);
  });
});

describe('scale', () => {
  it('follows every page of the Tagging API and of DescribeImages', async () => {
    const pages = [
      { ResourceTagMappingList: [managed('p1')], PaginationToken: 't2' },
      { ResourceTagMappingList: [managed('p2')], PaginationToken: 't3' },
      { ResourceTagMappingList: [managed('p3')], PaginationToken: '' },
    ];
    // The SDK's paginator reuses one input object: the tokens are recorded as each request is sent.
    const sent: (string | undefined)[] = [];
    taggingMock.on(GetResourcesCommand).callsFake((input) => {
      sent.push(input.PaginationToken);
      return pages[sent.length - 1];
    });
    images('p1', image(200));
    images('p3', image(200));
    ecrMock
      .on(DescribeImagesCommand, { repositoryName: 'p2' })
      .resolvesOnce({ imageDetails: [image(300)], nextToken: 'i2' })
      .resolvesOnce({ imageDetails: [image(3)] });
    const report = await sweep(options, deps());
    expect(taggingMock).toHaveReceivedCommandTimes(GetResourcesCommand, 3);
    expect(sent).toEqual([undefined, 't2', 't3']);
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'p2',
      nextToken: 'i2',
    });
    expect(report.candidates).toBe(3);
    // p2's recent push is on the second page.
    expect(report.marked.map((r) => r.repository).sort()).toEqual(['p1', 'p3']);
  });

  it('reports a repository whose calls keep failing, and goes on with the others', async () => {
    repos(managed('bad'), managed('good'));
    ecrMock.on(DescribeImagesCommand, { repositoryName: 'bad' }).rejects(new Error('socket hang up'));
    images('good', image(200));
    const report = await sweep(options, deps());
    expect(report.errors).toEqual([{ repository: 'bad', error: 'Error: socket hang up' }]);
    expect(report.marked.map((r) => r.repository)).toEqual(['good']);
  });

  it('stops starting repositories when the invocation is about to time out', async () => {
    repos(managed('a'), managed('b'));
    images('a', image(200));
    images('b', image(200));
    const report = await sweep({ ...options, concurrency: 1 }, deps({ shouldStop: () => true }));
    expect(report.errors.map((e) => e.repository)).toEqual(['a', 'b']);
    expect(ecrMock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });
});

describe('the orchestration', () => {
  it('logs a repository whose sweep failed, with its name and the error', async () => {
    repos(managed('bad'));
    ecrMock.on(DescribeImagesCommand, { repositoryName: 'bad' }).rejects(new Error('socket hang up'));
    const logger = stubLogger();
    await sweep(options, deps({ logger }));
    expect(logger.error).toHaveBeenCalledWith('sweep failed for repository', {
      repository: 'bad',
      error: 'Error: socket hang up',
    });
  });

  it('leaves out of the report a repository deleted since it was discovered', async () => {
    repos(managed('gone'), managed('here'));
    ecrMock.on(DescribeImagesCommand, { repositoryName: 'gone' }).rejects(notFound());
    images('here', image(1));
    const report = await sweep(options, deps());
    expect(report).toMatchObject({ candidates: 2, kept: 1, errors: [], marked: [] });
  });

  it('never reads the images of a protected repository', async () => {
    repos(managed('keep/me'));
    images('keep/me', image(200));
    const report = await sweep({ ...options, protectedPatterns: ['keep/*'] }, deps());
    expect(report.protected).toEqual([{ repository: 'keep/me' }]);
    expect(ecrMock).not.toHaveReceivedCommand(DescribeImagesCommand);
  });

  it('reports the regions the repositories replicate to', async () => {
    repos(managed('a'));
    images('a', image(1));
    expect((await sweep({ ...options, replicaRegions: ['eu-west-1'] }, deps())).replicaRegions).toEqual([
      'eu-west-1',
    ]);
  });

  it('counts a reference as use of a repository found without its registry, whatever the registry', async () => {
    taggingMock
      .on(GetResourcesCommand)
      .rejects(Object.assign(new Error('no'), { name: 'AccessDeniedException' }));
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        { repositoryName: 'old', repositoryArn: arn('old') },
        { repositoryName: 'unused', repositoryArn: arn('unused') },
      ],
    });
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: managedTags() });
    images('old', image(200));
    images('unused', image(200));
    lambdaMock
      .on(ListFunctionsCommand)
      .resolves({ Functions: [{ FunctionName: 'api', PackageType: 'Image' }] });
    lambdaMock
      .on(GetFunctionCommand)
      .resolves({ Code: { ImageUri: '999999999999.dkr.ecr.us-west-2.amazonaws.com/old:v1' } });
    const report = await sweep({ ...options, checkInUse: true, discovery: 'list-tags' }, deps());
    expect(report.inUse.map((r) => r.repository)).toEqual(['old']);
    expect(report.marked.map((r) => r.repository)).toEqual(['unused']);
  });

  it('deletes nothing without a project name, and says it cannot read the builds of the project', async () => {
    repos(managed('team/old', staleMark('2026-11-01')));
    images('team/old', image(200));
    ecrMock
      .on(ListTagsForResourceCommand, { resourceArn: arn('team/old') })
      .resolves({ tags: managedTags(staleMark('2026-11-01')) });
    ecrMock.on(DeleteRepositoryCommand).resolves({});
    const report = await sweep({ ...options, projectName: '' }, deps());
    expect(report.errors).toEqual([
      {
        repository: 'team/old',
        error:
          'Error: not deleted: cannot read the builds of the project (Error: no CodeBuild project name (BUILD_PROJECT_NAME))',
      },
    ]);
    expect(ecrMock).not.toHaveReceivedCommand(DeleteRepositoryCommand);
  });
});

import {
  BatchGetBuildsCommand,
  type Build,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import {
  DeleteRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  type ImageDetail,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { DescribeTaskDefinitionCommand, ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { GetFunctionCommand, LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { type SweepDeps, type SweepOptions, sweep } from '../../../functions/ecr-events/sweep.ts';
import { BUILD_ENV, REPOSITORY_TAGS } from '../../../functions/shared/contract.ts';
import { AdaptiveRate } from '../../../functions/shared/retry.ts';
import { stubLogger } from './fixtures.ts';

const ecrMock = mockClient(ECRClient);
const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
const lambdaMock = mockClient(LambdaClient);
const ecsMock = mockClient(ECSClient);
const codebuildMock = mockClient(CodeBuildClient);
const ecr = new ECRClient({ region: 'us-west-2' });
const tagging = new ResourceGroupsTaggingAPIClient({ region: 'us-west-2' });
const lambda = new LambdaClient({ region: 'us-west-2' });
const ecs = new ECSClient({ region: 'us-west-2' });
const codebuild = new CodeBuildClient({ region: 'us-west-2' });

const NOW = new Date('2026-11-16T12:00:00Z');
const DAY = 86_400_000;
const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);
const ACCOUNT = '123456789012';
const STACK = 'ecr-pipeline-dev';
const arn = (name: string) => `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`;
const throttled = () =>
  Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
const notFound = () =>
  Object.assign(new Error('gone'), { name: 'RepositoryNotFoundException', $metadata: {} });

const options: SweepOptions = {
  stackName: STACK,
  repositoryPattern: '*',
  dryRun: false,
  staleDays: 90,
  graceDays: 7,
  protectedPatterns: [],
  checkInUse: false,
  concurrency: 4,
  discovery: 'tagging-api',
  projectName: STACK,
};

function deps(extra: Partial<SweepDeps> = {}): SweepDeps {
  return {
    ecr,
    tagging: async () => tagging,
    lambda: async () => lambda,
    ecs: async () => ecs,
    codebuild: async () => codebuild,
    now: () => NOW,
    logger: stubLogger(),
    sleep: async () => {},
    random: () => 0.5,
    ...extra,
  };
}

/** The tags of a repository this stack manages, plus `tags`. */
function managedTags(tags: Record<string, string> = {}) {
  return [
    { Key: REPOSITORY_TAGS.managedBy, Value: STACK },
    ...Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  ];
}

function managed(name: string, tags: Record<string, string> = {}) {
  return { ResourceARN: arn(name), Tags: managedTags(tags) };
}

function image(pushedDaysAgo: number, pulledDaysAgo?: number): ImageDetail {
  return {
    imageDigest: `sha256:${String(pushedDaysAgo).padStart(64, '0')}`,
    imageTags: [`v${pushedDaysAgo}`],
    imagePushedAt: daysAgo(pushedDaysAgo),
    lastRecordedPullTime: pulledDaysAgo === undefined ? undefined : daysAgo(pulledDaysAgo),
  };
}

function repos(...mappings: ReturnType<typeof managed>[]) {
  taggingMock.on(GetResourcesCommand).resolves({ ResourceTagMappingList: mappings, PaginationToken: '' });
}

function images(name: string, ...details: ImageDetail[]) {
  ecrMock.on(DescribeImagesCommand, { repositoryName: name }).resolves({ imageDetails: details });
}

const staleMark = (day: string) => ({ [REPOSITORY_TAGS.staleSince]: day });

beforeEach(() => {
  for (const mock of [ecrMock, taggingMock, lambdaMock, ecsMock, codebuildMock]) mock.reset();
  // No Lambda image functions and no task definitions unless a test says otherwise.
  lambdaMock.on(ListFunctionsCommand).resolves({ Functions: [] });
  ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
  // No builds of the project unless a test says otherwise.
  codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: [] });
});

describe('which repositories are candidates', () => {
  it('asks the Tagging API only for repositories tagged as managed by this stack', async () => {
    repos();
    await sweep(options, deps());
    expect(taggingMock).toHaveReceivedCommandWith(GetResourcesCommand, {
      ResourceTypeFilters: ['ecr:repository'],
      TagFilters: [{ Key: REPOSITORY_TAGS.managedBy, Values: [STACK] }],
    });
  });

  it('never looks into an unmanaged repository or one managed by another stack (ListTagsForResource discovery)', async () => {
    ecrMock.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        { repositoryName: 'ours', repositoryArn: arn('ours'), registryId: ACCOUNT },
        { repositoryName: 'theirs', repositoryArn: arn('theirs'), registryId: ACCOUNT },
        { repositoryName: 'hand-made', repositoryArn: arn('hand-made'), registryId: ACCOUNT },
      ],
    });
    ecrMock
      .on(ListTagsForResourceCommand, { resourceArn: arn('ours') })
      .resolves({ tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: STACK }] })
      .on(ListTagsForResourceCommand, { resourceArn: arn('theirs') })
      .resolves({ tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-prod' }] })
      .on(ListTagsForResourceCommand, { resourceArn: arn('hand-made') })
      .resolves({ tags: [] });
    images('ours', image(200));
    images('theirs', image(200));
    images('hand-made', image(200));
    const loadTagging = vi.fn(async () => tagging);
    const report = await sweep({ ...options, discovery: 'list-tags' }, deps({ tagging: loadTagging }));
    expect(report.candidates).toBe(1);
    expect(loadTagging).not.toHaveBeenCalled();
    expect(report.marked).toEqual([{ repository: 'ours', note: expect.stringContaining('no push since') }]);
    expect(ecrMock).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, { repositoryName: 'ours' });
    expect(ecrMock).toHaveReceivedCommandTimes(TagResourceCommand, 1);
  });

  it('never touches a protected repository, by name or wildcard', async () => {
    repos(managed('team/keep-me'), managed('base'), managed('team/old'));
    images('team/old', image(200));
    const report = await sweep({ ...options, protectedPatterns: ['team/keep-*', 'base'] }, deps());
    expect(report.protected.map((r) => r.repository).sort()).toEqual(['base', 'team/keep-me']);
    expect(report.marked.map((r) => r.repository)).toEqual(['team/old']);
    expect(ecrMock).not.toHaveReceivedCommandWith(DescribeImagesCommand, { repositoryName: 'base' });
    expect(ecrMock).not.toHaveReceivedCommandWith(TagResourceCommand, { resourceArn: arn('base') });
  });

  it('ignores managed repositories outside the repository pattern', async () => {
    repos(managed('team/old'), managed('other/old'));
    images('team/old', image(200));
    images('other/old', image(200));
    const report = await sweep({ ...options, repositoryPattern: 'team/*' }, deps());
    expect(report.candidates).toBe(1);
    expect(ecrMock).not.toHaveReceivedCommandWith(DescribeImagesCommand, { repositoryName: 'other/old' });
  });
});

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

  it('reads the builds once per sweep, only as far back as a build can still run', async () => {
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
    expect(codebuildMock).toHaveReceivedCommandTimes(ListBuildsForProjectCommand, 2);
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
    taggingMock
      .on(GetResourcesCommand)
      .resolvesOnce({ ResourceTagMappingList: [managed('p1')], PaginationToken: 't2' })
      .resolvesOnce({ ResourceTagMappingList: [managed('p2')], PaginationToken: 't3' })
      .resolvesOnce({ ResourceTagMappingList: [managed('p3')], PaginationToken: '' });
    images('p1', image(200));
    images('p3', image(200));
    ecrMock
      .on(DescribeImagesCommand, { repositoryName: 'p2' })
      .resolvesOnce({ imageDetails: [image(300)], nextToken: 'i2' })
      .resolvesOnce({ imageDetails: [image(3)] });
    const report = await sweep(options, deps());
    expect(taggingMock).toHaveReceivedCommandTimes(GetResourcesCommand, 3);
    expect(taggingMock).toHaveReceivedNthCommandWith(GetResourcesCommand, 2, { PaginationToken: 't2' });
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, {
      repositoryName: 'p2',
      nextToken: 'i2',
    });
    expect(report.candidates).toBe(3);
    // p2's recent push is on the second page.
    expect(report.marked.map((r) => r.repository).sort()).toEqual(['p1', 'p3']);
  });

  it('retries throttled calls with exponential backoff and finishes the sweep', async () => {
    const logger = stubLogger();
    taggingMock
      .on(GetResourcesCommand)
      .rejectsOnce(throttled())
      .resolves({ ResourceTagMappingList: [managed('team/old')], PaginationToken: '' });
    ecrMock
      .on(DescribeImagesCommand)
      .rejectsOnce(throttled())
      .rejectsOnce(throttled())
      .resolves({ imageDetails: [image(200)] });
    ecrMock.on(TagResourceCommand).rejectsOnce(throttled()).resolves({});
    const report = await sweep(options, deps({ logger }));
    expect(report).toMatchObject({ marked: [{ repository: 'team/old' }], errors: [] });
    const retries = logger.debug.mock.calls
      .filter(([message]) => message === 'retrying')
      .map(([, fields]) => [fields.operation, fields.delayMs]);
    // Full jitter (random 0.5 here) of a cap that doubles: 100 ms, then 200 ms.
    expect(retries).toEqual([
      ['GetResources', 50],
      ['DescribeImages', 50],
      ['DescribeImages', 100],
      ['TagResource', 50],
    ]);
  });

  it('slows every worker down when the service throttles, and speeds up again on success', async () => {
    let now = 0;
    const waits: number[] = [];
    const rate = new AdaptiveRate({
      maxPerSecond: 100,
      now: () => now,
      sleep: async (ms) => {
        waits.push(ms);
      },
    });
    await rate.acquire();
    await rate.acquire();
    expect(waits).toEqual([10]);
    rate.throttled();
    rate.throttled();
    expect(rate.rate).toBe(25);
    now = 1000;
    await rate.acquire();
    await rate.acquire();
    expect(waits).toEqual([10, 40]);
    rate.succeeded();
    expect(rate.rate).toBe(25.5);
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

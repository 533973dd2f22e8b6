/** Mocked clients, a fixed clock and helpers shared by the sweeper's tests. */
import { CodeBuildClient, ListBuildsForProjectCommand } from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand, ECRClient, type ImageDetail } from '@aws-sdk/client-ecr';
import { ECSClient, ListTaskDefinitionsCommand } from '@aws-sdk/client-ecs';
import { LambdaClient, ListFunctionsCommand } from '@aws-sdk/client-lambda';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach } from 'vitest';
import type { SweepDeps, SweepOptions } from '../../../../functions/ecr-events/sweep/sweep.ts';
import { REPOSITORY_TAGS } from '../../../../functions/shared/contract.ts';
import { stubLogger } from '../fixtures.ts';

export const ecrMock = mockClient(ECRClient);
export const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
export const lambdaMock = mockClient(LambdaClient);
export const ecsMock = mockClient(ECSClient);
export const codebuildMock = mockClient(CodeBuildClient);
export const ecr = new ECRClient({ region: 'us-west-2' });
export const tagging = new ResourceGroupsTaggingAPIClient({ region: 'us-west-2' });
export const lambda = new LambdaClient({ region: 'us-west-2' });
export const ecs = new ECSClient({ region: 'us-west-2' });
export const codebuild = new CodeBuildClient({ region: 'us-west-2' });

export const NOW = new Date('2026-11-16T12:00:00Z');
export const DAY = 86_400_000;
export const daysAgo = (days: number) => new Date(NOW.getTime() - days * DAY);
export const ACCOUNT = '123456789012';
export const STACK = 'ecr-pipeline-dev';
export const arn = (name: string) => `arn:aws:ecr:us-west-2:${ACCOUNT}:repository/${name}`;
export const throttled = () =>
  Object.assign(new Error('Rate exceeded'), { name: 'ThrottlingException', $metadata: {} });
export const notFound = () =>
  Object.assign(new Error('gone'), { name: 'RepositoryNotFoundException', $metadata: {} });

export const options: SweepOptions = {
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

export function deps(extra: Partial<SweepDeps> = {}): SweepDeps {
  return {
    ecr,
    tagging: async () => tagging,
    lambda: async () => lambda,
    ecs: async () => ecs,
    codebuild: async () => codebuild,
    now: () => NOW,
    logger: stubLogger(),
    ...extra,
  };
}

/** The tags of a repository this stack manages, plus `tags`. */
export function managedTags(tags: Record<string, string> = {}) {
  return [
    { Key: REPOSITORY_TAGS.managedBy, Value: STACK },
    ...Object.entries(tags).map(([Key, Value]) => ({ Key, Value })),
  ];
}

export function managed(name: string, tags: Record<string, string> = {}) {
  return { ResourceARN: arn(name), Tags: managedTags(tags) };
}

export function image(pushedDaysAgo: number, pulledDaysAgo?: number): ImageDetail {
  return {
    imageDigest: `sha256:${String(pushedDaysAgo).padStart(64, '0')}`,
    imageTags: [`v${pushedDaysAgo}`],
    imagePushedAt: daysAgo(pushedDaysAgo),
    lastRecordedPullTime: pulledDaysAgo === undefined ? undefined : daysAgo(pulledDaysAgo),
  };
}

export function repos(...mappings: ReturnType<typeof managed>[]) {
  taggingMock.on(GetResourcesCommand).resolves({ ResourceTagMappingList: mappings, PaginationToken: '' });
}

export function images(name: string, ...details: ImageDetail[]) {
  ecrMock.on(DescribeImagesCommand, { repositoryName: name }).resolves({ imageDetails: details });
}

export const staleMark = (day: string) => ({ [REPOSITORY_TAGS.staleSince]: day });

/** Resets the mocks before each test: no images in use and no builds unless a test says otherwise. */
export function resetBeforeEach(): void {
  beforeEach(() => {
    for (const mock of [ecrMock, taggingMock, lambdaMock, ecsMock, codebuildMock]) mock.reset();
    // No Lambda image functions and no task definitions unless a test says otherwise.
    lambdaMock.on(ListFunctionsCommand).resolves({ Functions: [] });
    ecsMock.on(ListTaskDefinitionsCommand).resolves({ taskDefinitionArns: [] });
    // No builds of the project unless a test says otherwise.
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: [] });
  });
}

/** ensureRepository, clearStaleMark and tagExists against ECR answers the trigger tests do not give. */
import {
  CreateRepositoryCommand,
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ListTagsForResourceCommand,
  PutLifecyclePolicyCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import {
  clearStaleMark,
  ensureRepository,
  type RepositoryInfo,
  tagExists,
} from '../../../functions/build-trigger/ensure-repository.ts';
import { PermanentError, TransientError } from '../../../functions/build-trigger/errors.ts';
import { awsError, clients, containerDeps, MANAGED_TAGS, repository, repositoryArn } from './helpers.ts';

const ecr = mockClient(clients.ecr);
const NAME = 'team-a/api';

beforeEach(() => {
  ecr.reset();
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository(NAME)] });
  ecr.on(ListTagsForResourceCommand).resolves({ tags: MANAGED_TAGS });
  ecr.on(CreateRepositoryCommand).resolves({ repository: repository(NAME) });
  ecr.on(PutLifecyclePolicyCommand).resolves({});
});

describe('ensureRepository', () => {
  it('describes exactly the repository it is asked for', async () => {
    await ensureRepository(containerDeps(), NAME);
    expect(ecr).toHaveReceivedCommandWith(DescribeRepositoriesCommand, { repositoryNames: [NAME] });
  });

  it('reads an absent mutability as MUTABLE and keeps only the exclusion filters that are set', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({
      repositories: [
        {
          ...repository(NAME),
          imageTagMutability: undefined,
          imageTagMutabilityExclusionFilters: [
            { filterType: 'WILDCARD', filter: 'dev-*' },
            { filterType: 'WILDCARD', filter: undefined },
          ],
        },
      ],
    });
    expect(await ensureRepository(containerDeps(), NAME)).toMatchObject({
      mutability: 'MUTABLE',
      exclusions: ['dev-*'],
    });
  });

  it.each([
    ['without a URI', { repositoryUri: undefined }],
    ['without an ARN', { repositoryArn: undefined }],
  ])('refuses, as a permanent error, a description %s', async (_, missing) => {
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [{ ...repository(NAME), ...missing }] });
    const attempt = ensureRepository(containerDeps(), NAME);
    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(
      `ECR ${NAME} failed: Error: no repositoryUri or repositoryArn in the response`,
    );
  });

  it('refuses a CreateRepository answer without the repository', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({});
    ecr.on(CreateRepositoryCommand).resolves({});
    await expect(ensureRepository(containerDeps(), NAME)).rejects.toThrow(PermanentError);
  });

  it('creates a repository DescribeRepositories lists no entry for', async () => {
    ecr.on(DescribeRepositoriesCommand).resolves({});
    expect(await ensureRepository(containerDeps(), NAME)).toMatchObject({ created: true });
  });

  it('returns a repository it created as managed, unmarked and created, and logs its URI', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    const deps = containerDeps();
    const info = vi.spyOn(deps.logger, 'info');
    const expected: RepositoryInfo = {
      name: NAME,
      uri: repository(NAME).repositoryUri,
      arn: repositoryArn(NAME),
      mutability: 'IMMUTABLE',
      exclusions: [],
      created: true,
      ownership: { kind: 'managed' },
      staleMarked: false,
    };
    expect(await ensureRepository(deps, NAME)).toStrictEqual(expected);
    expect(info).toHaveBeenCalledWith('created repository', { repositoryUri: expected.uri });
  });

  it('builds anyway, logging an error that names the call, when the lifecycle policy cannot be set', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    ecr.on(PutLifecyclePolicyCommand).rejects(awsError('AccessDeniedException', 400));
    const deps = containerDeps();
    const error = vi.spyOn(deps.logger, 'error');
    expect(await ensureRepository(deps, NAME)).toMatchObject({ created: true });
    expect(error).toHaveBeenCalledWith(
      'could not set the lifecycle policy of a created repository',
      expect.objectContaining({ message: expect.stringContaining(`PutLifecyclePolicy ${NAME} failed`) }),
    );
  });

  it('creates the repository anew when it vanishes between DescribeRepositories and ListTagsForResource', async () => {
    ecr.on(ListTagsForResourceCommand).rejects(awsError('RepositoryNotFoundException', 400));
    expect(await ensureRepository(containerDeps(), NAME)).toMatchObject({ created: true });
    expect(ecr).toHaveReceivedCommandTimes(CreateRepositoryCommand, 1);
  });

  it('fails permanently when the repository someone else created is gone by the time it is read', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    ecr.on(CreateRepositoryCommand).rejects(awsError('RepositoryAlreadyExistsException', 400));
    const attempt = ensureRepository(containerDeps(), NAME);
    await expect(attempt).rejects.toThrow(PermanentError);
    await expect(attempt).rejects.toThrow(`ECR ${NAME} failed: Error: created by someone else, then deleted`);
  });

  it('retries, creating nothing, when DescribeRepositories is throttled', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('ThrottlingException', 400));
    const attempt = ensureRepository(containerDeps(), NAME);
    await expect(attempt).rejects.toThrow(TransientError);
    await expect(attempt).rejects.toThrow(`DescribeRepositories ${NAME} failed: ThrottlingException`);
    expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
  });

  it('retries, creating nothing, when ListTagsForResource is throttled', async () => {
    ecr.on(ListTagsForResourceCommand).rejects(awsError('ThrottlingException', 400));
    const attempt = ensureRepository(containerDeps(), NAME);
    await expect(attempt).rejects.toThrow(TransientError);
    await expect(attempt).rejects.toThrow(`ListTagsForResource ${NAME} failed: ThrottlingException`);
    expect(ecr).not.toHaveReceivedCommand(CreateRepositoryCommand);
  });

  it('retries when CreateRepository is throttled, naming the call', async () => {
    ecr.on(DescribeRepositoriesCommand).rejects(awsError('RepositoryNotFoundException', 400));
    ecr.on(CreateRepositoryCommand).rejects(awsError('ThrottlingException', 400));
    const attempt = ensureRepository(containerDeps(), NAME);
    await expect(attempt).rejects.toThrow(TransientError);
    await expect(attempt).rejects.toThrow(`CreateRepository ${NAME} failed: ThrottlingException`);
  });
});

describe('clearStaleMark and tagExists', () => {
  it('names the untag in the error when the stale mark cannot be removed', async () => {
    ecr.on(UntagResourceCommand).rejects(awsError('ThrottlingException', 400));
    const info = await ensureRepository(containerDeps(), NAME);
    await expect(clearStaleMark(containerDeps(), info)).rejects.toThrow(
      `UntagResource ${NAME} failed: ThrottlingException`,
    );
  });

  it.each([
    ['an empty list', { imageDetails: [] }],
    ['no list at all', {}],
  ])('finds no tag when DescribeImages answers %s', async (_, answer) => {
    ecr.on(DescribeImagesCommand).resolves(answer);
    expect(await tagExists(clients.ecr, NAME, 'v1')).toBe(false);
  });

  it('finds the tag when DescribeImages lists an image', async () => {
    ecr.on(DescribeImagesCommand).resolves({ imageDetails: [{ imageTags: ['v1'] }] });
    expect(await tagExists(clients.ecr, NAME, 'v1')).toBe(true);
  });

  it('names the repository and tag when DescribeImages fails', async () => {
    ecr.on(DescribeImagesCommand).rejects(awsError('ThrottlingException', 400));
    await expect(tagExists(clients.ecr, NAME, 'v1')).rejects.toThrow(
      `DescribeImages ${NAME}:v1 failed: ThrottlingException`,
    );
  });
});

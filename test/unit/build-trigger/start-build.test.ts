import {
  BatchGetBuildsCommand,
  type Build,
  ListBuildsForProjectCommand,
  StartBuildCommand,
} from '@aws-sdk/client-codebuild';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../functions/build-trigger/errors.ts';
import {
  type BuildRequest,
  buildVariables,
  startBuild,
} from '../../../functions/build-trigger/start-build.ts';
import { awsError, BUCKET, clients, PROJECT } from './helpers.ts';

const codebuild = mockClient(clients.codebuild);

const request: BuildRequest = {
  projectName: PROJECT,
  bucket: BUCKET,
  key: 'team-a/api/v1.tar.gz',
  repository: 'team-a/api',
  repositoryUri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/api',
  tag: 'v1',
  cacheTag: 'ecr-pipeline-cache',
  idempotencyToken: 'a'.repeat(64),
};

beforeEach(() => codebuild.reset());

describe('buildVariables', () => {
  it('passes an empty version id and ETag for an object that has none', () => {
    expect(buildVariables(request)).toEqual([
      { name: 'CONTEXT_BUCKET', value: BUCKET, type: 'PLAINTEXT' },
      { name: 'CONTEXT_KEY', value: 'team-a/api/v1.tar.gz', type: 'PLAINTEXT' },
      { name: 'CONTEXT_VERSION_ID', value: '', type: 'PLAINTEXT' },
      { name: 'CONTEXT_ETAG', value: '', type: 'PLAINTEXT' },
      { name: 'IMAGE_REPOSITORY_URI', value: request.repositoryUri, type: 'PLAINTEXT' },
      { name: 'IMAGE_REPOSITORY', value: 'team-a/api', type: 'PLAINTEXT' },
      { name: 'IMAGE_TAG', value: 'v1', type: 'PLAINTEXT' },
      { name: 'IMAGE_CACHE_TAG', value: 'ecr-pipeline-cache', type: 'PLAINTEXT' },
    ]);
  });
});

describe('startBuild', () => {
  it('answers an empty build id when CodeBuild returns no build', async () => {
    codebuild.on(StartBuildCommand).resolves({});
    await expect(startBuild(clients.codebuild, request)).resolves.toBe('');
  });

  it('names the project in the error of a refused start, transient or permanent as the cause is', async () => {
    codebuild.on(StartBuildCommand).rejects(awsError('AccountLimitExceededException', 400));
    const transient = startBuild(clients.codebuild, request);
    await expect(transient).rejects.toBeInstanceOf(TransientError);
    await expect(transient).rejects.toThrow(
      `StartBuild ${PROJECT} failed: AccountLimitExceededException: AccountLimitExceededException (test)`,
    );
    codebuild.on(StartBuildCommand).rejects(awsError('ResourceNotFoundException', 400));
    await expect(startBuild(clients.codebuild, request)).rejects.toBeInstanceOf(PermanentError);
  });

  const env = (environmentVariables: { name: string; value: string }[]) =>
    ({ environmentVariables }) as unknown as NonNullable<Build['environment']>;
  const variables = (key: string) =>
    buildVariables({ ...request, key }).map(({ name, value }) => ({
      name,
      value,
      type: 'PLAINTEXT' as const,
    }));

  it('starts no second build of an object version whose StartBuild answer was lost: it answers the first', async () => {
    codebuild.on(ListBuildsForProjectCommand, { projectName: PROJECT, sortOrder: 'DESCENDING' }).resolves({
      ids: [`${PROJECT}:other`, `${PROJECT}:first`],
    });
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        { id: `${PROJECT}:other`, environment: env(variables('team-a/api/v2.tar.gz')) },
        { id: `${PROJECT}:first`, environment: env(variables('team-a/api/v1.tar.gz')) },
      ],
    });
    await expect(startBuild(clients.codebuild, request, true)).resolves.toBe(`${PROJECT}:first`);
    expect(codebuild).not.toHaveReceivedCommand(StartBuildCommand);
  });

  it('starts the build when none of the newest builds is of this object version', async () => {
    codebuild.on(ListBuildsForProjectCommand).resolves({ ids: [`${PROJECT}:other`] });
    codebuild.on(BatchGetBuildsCommand).resolves({
      builds: [
        {
          id: `${PROJECT}:other`,
          environment: env([
            ...variables('team-a/api/v1.tar.gz').slice(0, 2),
            { name: 'CONTEXT_VERSION_ID', value: 'v0' },
          ]),
        },
      ],
    });
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:new` } });
    await expect(startBuild(clients.codebuild, request, true)).resolves.toBe(`${PROJECT}:new`);
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, {
      idempotencyToken: request.idempotencyToken,
    });
  });
});

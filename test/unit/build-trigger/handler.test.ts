import { CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import { DescribeImagesCommand, DescribeRepositoriesCommand, ECRClient } from '@aws-sdk/client-ecr';
import { EventBridgeClient } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { awsError, BUCKET, PROJECT, repository, s3Event } from './helpers.ts';

// The module-scope clients of clients.ts are instances of these classes.
const s3 = mockClient(S3Client);
const ecr = mockClient(ECRClient);
const codebuild = mockClient(CodeBuildClient);
const events = mockClient(EventBridgeClient);

beforeEach(() => {
  for (const mock of [s3, ecr, codebuild, events]) mock.reset();
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('CONTEXT_BUCKET', BUCKET);
  vi.stubEnv('BUILD_PROJECT', PROJECT);
  vi.stubEnv('STACK_NAME', 'ecr-pipeline-dev');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
});

describe('handler', () => {
  it('reads its configuration from the environment and starts the build', async () => {
    s3.on(PutObjectCommand).resolves({});
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api')] });
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-9` } });
    const { handler } = await import('../../../functions/build-trigger/handler.ts');

    await expect(handler(s3Event('put-versioned.json'))).resolves.toBeUndefined();
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, { projectName: PROJECT });
  });
});

import { CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { awsError, BUCKET, MANAGED_TAGS, PROJECT, repository, s3Event } from './helpers.ts';

// The module-scope clients of clients.ts are instances of these classes.
const s3 = mockClient(S3Client);
const ecr = mockClient(ECRClient);
const codebuild = mockClient(CodeBuildClient);
const events = mockClient(EventBridgeClient);

beforeEach(() => {
  for (const mock of [s3, ecr, codebuild, events]) mock.reset();
  vi.resetModules();
  vi.stubEnv('AWS_REGION', 'us-east-1');
  vi.stubEnv('CONTEXT_BUCKET', BUCKET);
  vi.stubEnv('BUILD_PROJECT', PROJECT);
  vi.stubEnv('STACK_NAME', 'ecr-pipeline-dev');
  vi.stubEnv('EVENT_BUS_NAME', 'ecr-pipeline-dev-build-rejected');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDEXAMPLE');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  vi.stubEnv('AWS_ENDPOINT_URL', '');
  vi.stubEnv('AWS_ENDPOINT_URL_S3', '');
});

describe('handler', () => {
  it('reads its configuration from the environment, claims the upload in S3 and starts the build', async () => {
    s3.on(PutObjectCommand).resolves({});
    ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api')] });
    ecr.on(ListTagsForResourceCommand).resolves({ tags: MANAGED_TAGS });
    ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
    codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-9` } });
    const { handler } = await import('../../../functions/build-trigger/handler.ts');

    await expect(handler(s3Event('put-versioned.json'))).resolves.toBeUndefined();
    expect(s3).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: expect.stringMatching(/^\.ecr-pipeline\/uploads\/[0-9a-f]{64}\.json$/),
      IfNoneMatch: '*',
    });
    expect(codebuild).toHaveReceivedCommandWith(StartBuildCommand, { projectName: PROJECT });
    expect(events).not.toHaveReceivedCommand(PutEventsCommand);
  });

  it('publishes a rejection through the EventBridge client it loads on that path', async () => {
    s3.on(PutObjectCommand).resolves({});
    events.on(PutEventsCommand).resolves({ FailedEntryCount: 0, Entries: [{ EventId: 'e-1' }] });
    const event = s3Event('put-versioned.json');
    Object.assign(event.Records[0]?.s3.object ?? {}, { size: 0 });
    const { handler } = await import('../../../functions/build-trigger/handler.ts');

    await handler(event);
    expect(events).toHaveReceivedCommandWith(PutEventsCommand, {
      Entries: [expect.objectContaining({ EventBusName: 'ecr-pipeline-dev-build-rejected' })],
    });
    expect(ecr).not.toHaveReceivedAnyCommand();
  });

  it.each([
    [{}, false],
    [{ AWS_ENDPOINT_URL: 'http://127.0.0.1:4566' }, true],
    [{ AWS_ENDPOINT_URL_S3: 'http://127.0.0.1:4566' }, true],
  ])('addresses S3 by path only when an endpoint is configured (%o)', async (env, pathStyle) => {
    for (const [name, value] of Object.entries(env)) vi.stubEnv(name, value);
    const { deps } = await import('../../../functions/build-trigger/clients.ts');
    expect(deps.s3.config.forcePathStyle).toBe(pathStyle);
  });
});

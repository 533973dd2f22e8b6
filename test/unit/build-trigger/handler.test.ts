import { CodeBuildClient, StartBuildCommand } from '@aws-sdk/client-codebuild';
import {
  DescribeImagesCommand,
  DescribeRepositoriesCommand,
  ECRClient,
  ListTagsForResourceCommand,
} from '@aws-sdk/client-ecr';
import { EventBridgeClient, PutEventsCommand } from '@aws-sdk/client-eventbridge';
import { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
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

afterEach(() => {
  vi.restoreAllMocks();
});

const context = {
  functionName: 'ecr-pipeline-dev-buildTrigger',
  functionVersion: '$LATEST',
  invokedFunctionArn: 'arn:aws:lambda:us-east-1:123456789012:function:ecr-pipeline-dev-buildTrigger',
  memoryLimitInMB: '256',
  awsRequestId: 'c6af9ac6-7b61-11e6-9a41-93e8deadbeef',
} as Context;

function acceptUploads() {
  s3.on(PutObjectCommand).resolves({});
  ecr.on(DescribeRepositoriesCommand).resolves({ repositories: [repository('team-a/api')] });
  ecr.on(ListTagsForResourceCommand).resolves({ tags: MANAGED_TAGS });
  ecr.on(DescribeImagesCommand).rejects(awsError('ImageNotFoundException', 400));
  codebuild.on(StartBuildCommand).resolves({ build: { id: `${PROJECT}:b-9` } });
}

/** The JSON records of the upload records the handler wrote. */
const writtenRecords = () =>
  s3
    .commandCalls(PutObjectCommand)
    .map((call) => JSON.parse(String(call.args[0].input.Body)) as Record<string, unknown>);

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

  it("claims the upload in the name of the invocation's request id", async () => {
    acceptUploads();
    const { handler } = await import('../../../functions/build-trigger/handler.ts');
    await handler(s3Event('put-versioned.json'), context);
    expect(writtenRecords()[0]).toMatchObject({ status: 'accepted', owner: context.awsRequestId });
  });

  it('claims the upload in the name of a fresh id when there is no Lambda context', async () => {
    acceptUploads();
    const { handler } = await import('../../../functions/build-trigger/handler.ts');
    await handler(s3Event('put-versioned.json'));
    expect(writtenRecords()[0]?.owner).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("logs as the build-trigger service, with the invocation's request id", async () => {
    acceptUploads();
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'INFO');
    const lines: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk) => {
      lines.push(String(chunk));
      return true;
    });
    const { handler } = await import('../../../functions/build-trigger/handler.ts');
    await handler(s3Event('put-versioned.json'), context);
    const written = lines.map((line) => JSON.parse(line) as Record<string, unknown>);
    expect(written.length).toBeGreaterThan(0);
    for (const line of written)
      expect(line).toMatchObject({ service: 'build-trigger', function_request_id: context.awsRequestId });
  });

  it('gives every client a connection and a request timeout', async () => {
    const { deps } = await import('../../../functions/build-trigger/clients.ts');
    const eventsClient = await deps.events();
    for (const client of [deps.s3, deps.ecr, deps.codebuild, eventsClient]) {
      const requestHandler = client.config.requestHandler as unknown as { configProvider: Promise<unknown> };
      expect(await requestHandler.configProvider).toMatchObject({
        connectionTimeout: 2000,
        requestTimeout: 5000,
      });
    }
  });

  it('trusts a cached repository description for five minutes', async () => {
    const { deps } = await import('../../../functions/build-trigger/clients.ts');
    const info = {
      name: 'team-a/api',
      uri: '123456789012.dkr.ecr.us-east-1.amazonaws.com/team-a/api',
      arn: 'arn:aws:ecr:us-east-1:123456789012:repository/team-a/api',
      mutability: 'IMMUTABLE',
      exclusions: [],
      created: false,
      ownership: { kind: 'managed' as const },
      staleMarked: false,
    };
    deps.repositories.set(info, 0);
    expect(deps.repositories.get('team-a/api', 5 * 60 * 1000 - 1)).toEqual(info);
    expect(deps.repositories.get('team-a/api', 5 * 60 * 1000)).toBeUndefined();
  });
});

import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  DescribeImagesCommand,
  ECRClient,
  ListTagsForResourceCommand,
  TagResourceCommand,
  UntagResourceCommand,
} from '@aws-sdk/client-ecr';
import {
  GetResourcesCommand,
  ResourceGroupsTaggingAPIClient,
} from '@aws-sdk/client-resource-groups-tagging-api';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { afterAll, beforeAll, beforeEach, describe, expect, it, vi } from 'vitest';
import { REPOSITORY_TAGS } from '../../../functions/shared/contract.ts';
import { event } from './fixtures.ts';

const snsMock = mockClient(SNSClient);
const ecrMock = mockClient(ECRClient);
const taggingMock = mockClient(ResourceGroupsTaggingAPIClient);
const ssmMock = mockClient(SSMClient);
const logsMock = mockClient(CloudWatchLogsClient);

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:ecr-pipeline-dev-events';
const HOOK = 'http://127.0.0.1:4590/slack';

type Handler = (event: unknown) => Promise<void>;
let handler: Handler;
let slackStatus = 200;
const slackBodies: { text: string; blocks: unknown[] }[] = [];

const fetchStub = vi.fn(async (input: string | URL | Request, init?: RequestInit) => {
  const url = String(input);
  if (url === HOOK) {
    slackBodies.push(JSON.parse(String(init?.body)));
    return new Response(slackStatus === 200 ? 'ok' : 'error', { status: slackStatus });
  }
  throw new Error(`unexpected fetch ${url}`);
});

beforeAll(async () => {
  vi.stubEnv('STACK_NAME', 'ecr-pipeline-dev');
  vi.stubEnv('BUILD_PROJECT_NAME', 'ecr-pipeline-dev');
  vi.stubEnv('IGNORE_REPOSITORIES', 'ecr-pipeline-dev/build-cache');
  vi.stubEnv('SNS_TOPIC_ARN', TOPIC);
  vi.stubEnv('SLACK_WEBHOOK_PARAMETER', '/ecr-pipeline/dev/slack-webhook-url');
  vi.stubEnv('MIN_SCAN_SEVERITY', 'HIGH');
  vi.stubEnv('AWS_REGION', 'us-west-2');
  vi.stubEnv('AWS_ACCESS_KEY_ID', 'AKIDTEST');
  vi.stubEnv('AWS_SECRET_ACCESS_KEY', 'secret');
  vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
  // The in-use check has its own tests (sweep.test.ts); here it would need Lambda and ECS endpoints.
  vi.stubEnv('SWEEP_CHECK_IN_USE', 'false');
  vi.stubGlobal('fetch', fetchStub);
  ({ handler } = (await import('../../../functions/ecr-events/handler.ts')) as { handler: Handler });
});

afterAll(() => {
  vi.unstubAllEnvs();
  vi.unstubAllGlobals();
});

beforeEach(() => {
  snsMock.reset();
  ecrMock.reset();
  taggingMock.reset();
  ssmMock.reset();
  logsMock.reset();
  ssmMock.on(GetParameterCommand).resolves({ Parameter: { Value: HOOK, Type: 'SecureString' } });
  snsMock.on(PublishCommand).resolves({ MessageId: 'm-1' });
  ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [] });
  slackBodies.length = 0;
  slackStatus = 200;
});

describe('ecr-events handler', () => {
  it('sends a push to Slack and SNS, reading the webhook from SSM once per container', async () => {
    await handler(event('ecr/image-action-push.json'));
    await handler(event('ecr/image-action-push.json'));
    expect(slackBodies).toHaveLength(2);
    expect(slackBodies[0]?.text).toBe('Image pushed: team/web:v1.4.2');
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 2);
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, { TopicArn: TOPIC });
    expect(ssmMock).toHaveReceivedCommandExactlyOnceWith(GetParameterCommand, {
      Name: '/ecr-pipeline/dev/slack-webhook-url',
      WithDecryption: true,
    });
  });

  it('looks at the stale mark of a pushed repository, and leaves it while the dry run is on', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({
      tags: [
        { Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' },
        { Key: REPOSITORY_TAGS.staleSince, Value: '2026-11-01' },
      ],
    });
    await handler(event('ecr/image-action-push.json'));
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: 'arn:aws:ecr:us-west-2:123456789012:repository/team/web',
    });
    expect(ecrMock).not.toHaveReceivedCommand(UntagResourceCommand);
  });

  it('still notifies when the stale mark cannot be read', async () => {
    ecrMock
      .on(ListTagsForResourceCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await handler(event('ecr/image-action-push.json'));
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('keeps quiet about scans below the minimum severity', async () => {
    await handler(event('ecr/image-scan-clean.json'));
    expect(slackBodies).toHaveLength(0);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
    await handler(event('ecr/image-scan-untagged.json'));
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      MessageAttributes: expect.objectContaining({ severity: { DataType: 'String', StringValue: 'HIGH' } }),
    });
  });

  it('keeps quiet about the build cache repository', async () => {
    const e = event('ecr/image-action-push.json');
    e.detail['repository-name'] = 'ecr-pipeline-dev/build-cache';
    await handler(e);
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
    expect(slackBodies).toHaveLength(0);
  });

  it('keeps quiet about started builds by default', async () => {
    await handler(event('codebuild/build-in-progress.json'));
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it.each([
    null,
    'text',
    { hello: 'world' },
    { source: 'aws.ecr', 'detail-type': 'ECR Image Scan', detail: 3 },
  ])('returns without retrying on a malformed payload (%j)', async (payload) => {
    await expect(handler(payload)).resolves.toBeUndefined();
    expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
  });

  it("tells why a build failed: the refusal line read from the build's log, in Slack and SNS", async () => {
    logsMock.on(GetLogEventsCommand).resolves({
      events: [
        '[Container] 2026/11/16 16:13:25.000000 Running command python3 "$PIPELINE_DIR/extract.py"',
        'ecr-pipeline: no Dockerfile at Dockerfile in the context',
        '[Container] 2026/11/16 16:13:26.000000 Command did not exit successfully python3 exit status 2',
      ].map((message, i) => ({ message, timestamp: i })),
    });
    await handler(event('codebuild/build-failed.json'));
    expect(logsMock).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/aws/codebuild/ecr-pipeline-dev',
      logStreamName: '8745a7a9-c340-456a-9166-edf953571bef',
      startFromHead: false,
    });
    expect(JSON.stringify(slackBodies[0]?.blocks)).toContain(
      '*Reason:* no Dockerfile at Dockerfile in the context',
    );
    const published = snsMock.commandCalls(PublishCommand)[0]?.args[0].input.Message ?? '';
    expect(JSON.parse(published).default).toContain('Reason:     no Dockerfile at Dockerfile in the context');
  });

  it('still notifies a failed build when its log cannot be read, and says so', async () => {
    logsMock.on(GetLogEventsCommand).rejects(new Error('Rate exceeded'));
    await handler(event('codebuild/build-failed.json'));
    expect(slackBodies).toHaveLength(1);
    expect(JSON.stringify(slackBodies[0]?.blocks)).toContain('The build log could not be read');
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('reads no log for a build that succeeded', async () => {
    await handler(event('codebuild/build-succeeded.json'));
    expect(logsMock).not.toHaveReceivedCommand(GetLogEventsCommand);
  });

  it('returns on an unknown detail-type', async () => {
    const e = event('ecr/image-scan-complete.json');
    e['detail-type'] = 'ECR Pull Through Cache Action';
    await expect(handler(e)).resolves.toBeUndefined();
  });

  it('throws when both Slack and SNS fail, so that Lambda retries and then uses the failure destination', async () => {
    slackStatus = 500;
    snsMock
      .on(PublishCommand)
      .rejects(Object.assign(new Error('Internal'), { name: 'InternalErrorException' }));
    await expect(handler(event('codebuild/build-failed.json'))).rejects.toThrow('every channel failed');
  });

  it('does not throw when only one channel fails', async () => {
    slackStatus = 500;
    await expect(handler(event('codebuild/build-failed.json'))).resolves.toBeUndefined();
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('keeps the dry run of the configuration even if the payload asks otherwise, and sends one summary', async () => {
    taggingMock.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        {
          ResourceARN: 'arn:aws:ecr:us-west-2:123456789012:repository/team/old',
          Tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' }],
        },
      ],
    });
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imagePushedAt: new Date('2020-01-01T00:00:00Z'), imageTags: ['v1'] }],
    });
    await handler({ action: 'sweep', dryRun: false });
    expect(ecrMock).not.toHaveReceivedCommand(TagResourceCommand);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      Subject: '[ecr-pipeline] Stale repository sweep (dry run)',
      MessageAttributes: expect.objectContaining({
        'event-type': { DataType: 'String', StringValue: 'sweep' },
      }),
    });
    expect(slackBodies).toHaveLength(1);
    const summary = JSON.stringify(slackBodies[0]);
    expect(summary).toContain('*Marked stale*\\n1');
    expect(summary).toContain('*Errors*\\n0');
    expect(summary).toContain('`team/old`');
  });

  it('sends one summary after a sweep with nothing to mark or delete, so a quiet sweeper is seen to run', async () => {
    taggingMock.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    await handler(event('ecr-pipeline/scheduled-sweep.json'));
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      MessageAttributes: expect.objectContaining({
        'event-type': { DataType: 'String', StringValue: 'sweep' },
        outcome: { DataType: 'String', StringValue: 'info' },
      }),
    });
    expect(slackBodies).toHaveLength(1);
    expect(JSON.stringify(slackBodies[0])).toContain('*Marked stale*\\n0');
  });
});

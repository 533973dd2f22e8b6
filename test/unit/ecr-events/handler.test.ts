import { Logger } from '@aws-lambda-powertools/logger';
import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import { BatchGetBuildsCommand, CodeBuildClient } from '@aws-sdk/client-codebuild';
import {
  DescribeImageReplicationStatusCommand,
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
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { PublishCommand, SNSClient } from '@aws-sdk/client-sns';
import { GetParameterCommand, SSMClient } from '@aws-sdk/client-ssm';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { loadConfig } from '../../../functions/ecr-events/config.ts';
import type { Deps } from '../../../functions/ecr-events/deps.ts';
import { handleEvent } from '../../../functions/ecr-events/events.ts';
import { slackChannel, snsChannel } from '../../../functions/ecr-events/notify/deliver.ts';
import { webhookSecret } from '../../../functions/ecr-events/notify/webhook-secret.ts';
import { REPOSITORY_TAGS } from '../../../functions/shared/contract.ts';
import { HIDDEN_LINE } from '../../../functions/shared/redact.ts';
import {
  imageIndexKey,
  replicationWatchKey,
  scanMemoryKey,
  uploadRecordKey,
} from '../../../functions/shared/upload-record.ts';
import { conditionalBucket, confirmed, event } from './fixtures.ts';

const credentials = { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' };
const client = { region: 'us-west-2', credentials };
const sns = new SNSClient(client);
const ecr = new ECRClient(client);
const tagging = new ResourceGroupsTaggingAPIClient(client);
const ssm = new SSMClient(client);
const logs = new CloudWatchLogsClient(client);
const s3 = new S3Client(client);
const codebuild = new CodeBuildClient(client);
const snsMock = mockClient(sns);
const ecrMock = mockClient(ecr);
const taggingMock = mockClient(tagging);
const ssmMock = mockClient(ssm);
const logsMock = mockClient(logs);
const s3Mock = mockClient(s3);
const codebuildMock = mockClient(codebuild);

const TOPIC = 'arn:aws:sns:us-west-2:123456789012:ecr-pipeline-dev-events';
const HOOK = 'http://127.0.0.1:4590/slack';
const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
/** The upload the build fixtures build (their environment names it: no version id, no ETag). */
const RECORD_KEY = uploadRecordKey('', { bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz' });
const BUILD_ID =
  'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef';
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
const claim = {
  status: 'accepted',
  bucket: BUCKET,
  key: 'team/web/v1.4.3.tar.gz',
  repository: 'team/web',
  tag: 'v1.4.3',
  owner: 'req-1',
  claimExpiresAt: '2026-11-16T16:20:00.000Z',
  buildId: BUILD_ID,
  at: '2026-11-16T16:10:00.000Z',
};
const body = (value: object) => ({ transformToString: async () => JSON.stringify(value) }) as never;
const notFound = () =>
  Object.assign(new Error('NoSuchKey'), { name: 'NoSuchKey', $metadata: { httpStatusCode: 404 } });
/** What the function wrote to the object `key`, parsed. */
const writtenTo = (key: string) =>
  s3Mock
    .commandCalls(PutObjectCommand)
    .filter((c) => c.args[0].input.Key === key)
    .map((c) => JSON.parse(String(c.args[0].input.Body)));
/** A build log whose failing command ended with `lines`. */
const failingLog = (...lines: string[]) => ({
  events: [
    '[Container] 2026/11/16 16:13:25.000000 Running command bash "$PIPELINE_DIR/build-image.sh"',
    ...lines,
    '[Container] 2026/11/16 16:14:17.000000 Command did not exit successfully bash exit status 1',
  ].map((message, i) => ({ message, timestamp: i })),
});

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

const config = loadConfig({
  STACK_NAME: 'ecr-pipeline-dev',
  REPOSITORY_PATTERN: '*',
  BUILD_PROJECT_NAME: 'ecr-pipeline-dev',
  IGNORE_REPOSITORIES: 'ecr-pipeline-dev/build-cache',
  SNS_TOPIC_ARN: TOPIC,
  SLACK_WEBHOOK_PARAMETER: '/ecr-pipeline/dev/slack-webhook-url',
  MIN_SCAN_SEVERITY: 'HIGH',
  AWS_REGION: 'us-west-2',
  ACCOUNT_ID: '123456789012',
  // The in-use check has its own tests (sweep/); here it would need Lambda and ECS clients.
  SWEEP_CHECK_IN_USE: 'false',
  CONTEXT_BUCKET: BUCKET,
  KEY_PREFIX: '',
});
const logger = new Logger({ serviceName: 'ecr-events', logLevel: 'SILENT' });
const unused = async (): Promise<never> => {
  throw new Error('this client is not used here');
};

/** One container's Deps, built once as clients.ts does: the webhook cache lives across the tests. */
const deps: Deps = {
  config,
  ecr,
  tagging: async () => tagging,
  lambda: unused,
  ecs: unused,
  codebuild: async () => codebuild,
  logs: async () => logs,
  uploadRecords: async () => ({ s3, commands: { GetObjectCommand, PutObjectCommand } }),
  replicationWatches: async () => ({
    s3,
    paginate: paginateListObjectsV2,
    commands: { GetObjectCommand, PutObjectCommand, DeleteObjectCommand },
  }),
  channels: [
    slackChannel({
      webhookUrl: webhookSecret({
        source: 'ssm',
        name: '/ecr-pipeline/dev/slack-webhook-url',
        ssm: async () => ssm,
        secretsManager: unused,
        ttlMs: config.secretTtlMs,
        logger,
      }),
      timeoutMs: config.httpTimeoutMs,
      fetch: fetchStub as typeof fetch,
    }),
    snsChannel({ sns, topicArn: config.topicArn, timeoutMs: config.httpTimeoutMs }),
  ],
  logger,
  now: () => new Date(),
};
const handler = (payload: unknown) => handleEvent(deps, payload);

beforeEach(() => {
  snsMock.reset();
  ecrMock.reset();
  taggingMock.reset();
  ssmMock.reset();
  logsMock.reset();
  s3Mock.reset();
  codebuildMock.reset();
  codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [confirmed('FAILED')] });
  s3Mock.on(GetObjectCommand).rejects(notFound());
  s3Mock.on(PutObjectCommand).resolves({});
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

  it("tells why a build failed: the verdict the build's scripts exported, in Slack and SNS", async () => {
    codebuildMock.on(BatchGetBuildsCommand, { ids: [BUILD_ID] }).resolves({
      builds: [
        confirmed('FAILED', {
          exportedEnvironmentVariables: [
            { name: 'IMAGE_DIGEST', value: '' },
            { name: 'PIPELINE_VERDICT', value: 'no Dockerfile at Dockerfile in the context\n' },
          ],
        }),
      ],
    });
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

  it("shows a log line that looks like the pipeline's as the build's output, never as its reason", async () => {
    logsMock.on(GetLogEventsCommand).resolves({
      events: [
        '[Container] 2026/11/16 16:13:25.000000 Running command bash "$PIPELINE_DIR/build-image.sh"',
        'ecr-pipeline: superseded: see https://evil.example/login',
        '[Container] 2026/11/16 16:13:26.000000 Command did not exit successfully bash exit status 1',
      ].map((message, i) => ({ message, timestamp: i })),
    });
    await handler(event('codebuild/build-failed.json'));
    expect(slackBodies[0]?.text).toBe('Build failed: team/web:v1.4.3');
    const blocks = JSON.stringify(slackBodies[0]?.blocks);
    expect(blocks).not.toContain('*Reason:*');
    expect(blocks).toContain("*Last lines of the build's output*");
  });

  it('still notifies a failed build when its log cannot be read, and says so', async () => {
    logsMock.on(GetLogEventsCommand).rejects(new Error('Rate exceeded'));
    await handler(event('codebuild/build-failed.json'));
    expect(slackBodies).toHaveLength(1);
    expect(JSON.stringify(slackBodies[0]?.blocks)).toContain('The build log could not be read');
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('reads no log for a build that succeeded', async () => {
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [confirmed('SUCCEEDED')] });
    await handler(event('codebuild/build-succeeded.json'));
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
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

describe('ecr-events handler: upload records', () => {
  it('writes nothing for a succeeded build: the release function records it', async () => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim), ETag: '"e1"' });
    codebuildMock.on(BatchGetBuildsCommand).resolves({
      builds: [
        confirmed('SUCCEEDED', { exportedEnvironmentVariables: [{ name: 'IMAGE_DIGEST', value: DIGEST }] }),
      ],
    });
    await handler(event('codebuild/build-succeeded.json'));
    // Once, to confirm the build the notification names.
    expect(codebuildMock).toHaveReceivedCommandExactlyOnceWith(BatchGetBuildsCommand, { ids: [BUILD_ID] });
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });

  it('makes the record failed with the reason the notification shows, reading the log once', async () => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim), ETag: '"e1"' });
    logsMock.on(GetLogEventsCommand).resolves(failingLog('error: configuration missing'));
    await handler(event('codebuild/build-failed.json'));
    expect(logsMock).toHaveReceivedCommandTimes(GetLogEventsCommand, 1);
    expect(writtenTo(RECORD_KEY)).toEqual([
      {
        ...claim,
        status: 'failed',
        reason: 'error: configuration missing',
        phase: 'BUILD',
        buildStatus: 'FAILED',
        finishedAt: '2026-11-16T16:14:21Z',
      },
    ]);
    // Once: the answer that confirms the build also carries its verdict.
    expect(codebuildMock).toHaveReceivedCommandTimes(BatchGetBuildsCommand, 1);
    expect(slackBodies[0]?.text).toBe('Build failed: team/web:v1.4.3');
    expect(JSON.stringify(slackBodies[0]?.blocks)).toContain('error: configuration missing');
  });

  it("records where a failed build's time went as CodeBuild describes the build, not as the event says", async () => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim), ETag: '"e1"' });
    codebuildMock.on(BatchGetBuildsCommand, { ids: [BUILD_ID] }).resolves({
      builds: [
        confirmed('FAILED', {
          phases: [
            { phaseType: 'QUEUED', durationInSeconds: 2 },
            { phaseType: 'PROVISIONING', durationInSeconds: 41 },
            { phaseType: 'BUILD', durationInSeconds: 9 },
          ],
        }),
      ],
    });
    logsMock.on(GetLogEventsCommand).resolves(failingLog('error: configuration missing'));
    const e = event('codebuild/build-failed.json');
    (e.detail['additional-information'] as { phases: unknown }).phases = [
      { 'phase-type': 'BUILD', 'duration-in-seconds': 99999 },
    ];
    await handler(e);
    expect(writtenTo(RECORD_KEY)).toEqual([
      expect.objectContaining({ status: 'failed', durations: { queued: 2, provisioning: 41, build: 9 } }),
    ]);
  });

  it("keeps a build failed whose RUN step printed the superseded line: the log is not the pipeline's word", async () => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim), ETag: '"e1"' });
    codebuildMock.on(BatchGetBuildsCommand, { ids: [BUILD_ID] }).resolves({
      builds: [
        confirmed('FAILED', { exportedEnvironmentVariables: [{ name: 'PIPELINE_VERDICT', value: '' }] }),
      ],
    });
    logsMock
      .on(GetLogEventsCommand)
      .resolves(failingLog('ecr-pipeline: superseded: a newer upload of team/web/v1.4.3.tar.gz exists'));
    await handler(event('codebuild/build-failed.json'));
    expect(writtenTo(RECORD_KEY)).toEqual([
      expect.objectContaining({
        status: 'failed',
        reason: 'ecr-pipeline: superseded: a newer upload of team/web/v1.4.3.tar.gz exists',
      }),
    ]);
    expect(slackBodies[0]?.text).toBe('Build failed: team/web:v1.4.3');
  });

  it('hides a credential in the log before it reaches the record, Slack or SNS', async () => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim), ETag: '"e1"' });
    logsMock.on(GetLogEventsCommand).resolves(failingLog('PGPASSWORD=hunter2 psql -h db'));
    await handler(event('codebuild/build-failed.json'));
    expect(writtenTo(RECORD_KEY)).toEqual([expect.objectContaining({ reason: HIDDEN_LINE })]);
    expect(JSON.stringify(slackBodies)).not.toContain('hunter2');
    expect(JSON.stringify(snsMock.commandCalls(PublishCommand)[0]?.args[0].input)).not.toContain('hunter2');
  });

  it('makes a build that a newer upload superseded `superseded`, and says so in the notification', async () => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim), ETag: '"e1"' });
    const reason =
      'superseded: a newer upload of team/web/v1.4.3.tar.gz exists (version v-2); this build of version v-1 did not push';
    codebuildMock.on(BatchGetBuildsCommand, { ids: [BUILD_ID] }).resolves({
      builds: [
        confirmed('FAILED', { exportedEnvironmentVariables: [{ name: 'PIPELINE_VERDICT', value: reason }] }),
      ],
    });
    logsMock.on(GetLogEventsCommand).resolves(failingLog(`ecr-pipeline: ${reason}`));
    await handler(event('codebuild/build-failed.json'));
    expect(writtenTo(RECORD_KEY)).toEqual([
      expect.objectContaining({ status: 'superseded', reason, phase: 'BUILD', buildStatus: 'FAILED' }),
    ]);
    expect(slackBodies[0]?.text).toBe('Build superseded: team/web:v1.4.3');
    expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
      Subject: '[ecr-pipeline] Build superseded: team/web:v1.4.3',
      MessageAttributes: expect.objectContaining({ outcome: { DataType: 'String', StringValue: 'info' } }),
    });
  });

  it("adds a completed scan's counts to the record of the upload that built the image", async () => {
    const built = { ...claim, status: 'built', digest: DIGEST, finishedAt: '2026-11-16T02:30:00Z' };
    s3Mock
      .on(GetObjectCommand, { Key: imageIndexKey('', 'team/web', DIGEST) })
      .resolves({ Body: body({ record: RECORD_KEY, repository: 'team/web', digest: DIGEST }) });
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(built), ETag: '"e2"' });
    await handler(event('ecr/image-scan-complete.json'));
    expect(s3Mock).toHaveReceivedCommandExactlyOnceWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: RECORD_KEY,
      Body: JSON.stringify({
        ...built,
        scan: {
          status: 'COMPLETE',
          scanner: 'basic',
          counts: { CRITICAL: 10, MEDIUM: 9 },
          at: '2026-11-16T02:36:48Z',
        },
      }),
      ContentType: 'application/json',
      IfMatch: '"e2"',
    });
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  it('notifies a scan of an image no upload built (pushed by hand) as before, writing nothing', async () => {
    await handler(event('ecr/image-scan-complete.json'));
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
  });

  describe('enhanced scanning (Amazon Inspector)', () => {
    const summary = (findingSeverityCounts: Record<string, number>) => ({
      imageDetails: [{ imageDigest: DIGEST, imageScanFindingsSummary: { findingSeverityCounts } }],
    });
    let bucket: ReturnType<typeof conditionalBucket>;
    beforeEach(() => {
      bucket = conditionalBucket();
      s3Mock.on(GetObjectCommand).callsFake(bucket.get);
      s3Mock.on(PutObjectCommand).callsFake(bucket.put);
    });

    it("notifies a finding with its image's counts, then keeps quiet while rescans find nothing new", async () => {
      ecrMock.on(DescribeImagesCommand).resolves(summary({ HIGH: 2, MEDIUM: 4 }));
      await handler(event('inspector/finding-ecr-image.json'));
      const rescan = event('inspector/finding-ecr-image.json');
      rescan.time = '2026-11-21T06:02:30Z';
      await handler(rescan);
      expect(ecrMock).toHaveReceivedCommandWith(DescribeImagesCommand, {
        repositoryName: 'team/web',
        imageIds: [{ imageDigest: DIGEST }],
      });
      expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
      expect(slackBodies.map((b) => b.text)).toEqual([
        'Vulnerabilities found (worst: HIGH): team/web:v1.4.3',
      ]);
      expect(
        JSON.parse(String(bucket.objects.get(scanMemoryKey('', 'team/web', DIGEST))?.body)),
      ).toMatchObject({
        counts: { HIGH: 2, MEDIUM: 4 },
      });
    });

    it('notifies again when a rescan finds a worse severity', async () => {
      ecrMock
        .on(DescribeImagesCommand)
        .resolvesOnce(summary({ HIGH: 2 }))
        .resolves(summary({ CRITICAL: 1, HIGH: 2 }));
      await handler(event('inspector/finding-ecr-image.json'));
      const worse = event('inspector/finding-ecr-image.json');
      worse.time = '2026-11-21T06:02:30Z';
      worse.detail.severity = 'CRITICAL';
      await handler(worse);
      expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 2);
      expect(slackBodies[1]?.text).toBe('Vulnerabilities found (worst: CRITICAL): team/web:v1.4.3');
    });

    it('notifies the initial scan and the findings that came with it once', async () => {
      ecrMock.on(DescribeImagesCommand).resolves(summary({ CRITICAL: 7, HIGH: 61, MEDIUM: 62 }));
      const scan = event('inspector/scan-initial-complete.json');
      Object.assign(scan, { region: 'us-west-2', time: '2026-11-20T06:02:30Z' });
      Object.assign(scan.detail, {
        'repository-name': 'arn:aws:ecr:us-west-2:123456789012:repository/team/web',
        'image-digest': DIGEST,
      });
      await Promise.all([
        handler(scan),
        handler(event('inspector/finding-ecr-image.json')),
        handler(event('inspector/finding-ecr-image.json')),
      ]);
      expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    });

    it('ignores a closed finding', async () => {
      const closed = event('inspector/finding-ecr-image.json');
      closed.detail.status = 'CLOSED';
      await handler(closed);
      expect(ecrMock).not.toHaveReceivedCommand(DescribeImagesCommand);
      expect(snsMock).not.toHaveReceivedCommand(PublishCommand);
    });

    it('puts the memory back when no channel took the news, so that the retry tells it', async () => {
      ecrMock.on(DescribeImagesCommand).resolves(summary({ HIGH: 2 }));
      snsMock
        .on(PublishCommand)
        .rejects(Object.assign(new Error('down'), { $metadata: { httpStatusCode: 500 } }));
      slackStatus = 500;
      await expect(handler(event('inspector/finding-ecr-image.json'))).rejects.toThrow();
      snsMock.on(PublishCommand).resolves({ MessageId: 'm-2' });
      slackStatus = 200;
      const tried = slackBodies.length;
      await handler(event('inspector/finding-ecr-image.json'));
      expect(slackBodies.slice(tried).map((b) => b.text)).toEqual([
        'Vulnerabilities found (worst: HIGH): team/web:v1.4.3',
      ]);
    });
  });

  describe('replication (replicationRegions set)', () => {
    const replicating: Deps = {
      ...deps,
      config: { ...config, replication: { regions: ['eu-west-1'], timeoutMs: 6 * 3_600_000 } },
    };
    const watchKey = replicationWatchKey('', 'team/web', DIGEST);

    it('watches the replication of a pushed image, and of none when the stack does not replicate', async () => {
      const push = event('ecr/image-action-push.json');
      push.detail['image-digest'] = DIGEST;
      await handler(push);
      expect(s3Mock).not.toHaveReceivedCommandWith(PutObjectCommand, { Key: watchKey });
      await handleEvent(replicating, push);
      expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
        Bucket: BUCKET,
        Key: watchKey,
        IfNoneMatch: '*',
      });
      expect(writtenTo(watchKey)[0]).toMatchObject({ repository: 'team/web', digest: DIGEST, tag: 'v1.4.2' });
    });

    it('tells a failed replication on the scheduled check, in Slack and SNS', async () => {
      const bucket = conditionalBucket();
      s3Mock.on(GetObjectCommand).callsFake(bucket.get);
      s3Mock.on(PutObjectCommand).callsFake(bucket.put);
      s3Mock.on(DeleteObjectCommand).callsFake(bucket.delete);
      s3Mock.on(ListObjectsV2Command).callsFake(bucket.list);
      const push = event('ecr/image-action-push.json');
      push.detail['image-digest'] = DIGEST;
      await handleEvent(replicating, push);
      ecrMock.on(DescribeImageReplicationStatusCommand).resolves({
        replicationStatuses: [
          { region: 'eu-west-1', registryId: '123456789012', status: 'FAILED', failureCode: 'KMS_ERROR' },
        ],
      });
      slackBodies.length = 0;
      await handleEvent(replicating, { action: 'check-replication' });
      expect(slackBodies.map((b) => b.text)).toEqual(['Replication failed: team/web:v1.4.2']);
      expect(snsMock).toHaveReceivedCommandWith(PublishCommand, {
        MessageAttributes: expect.objectContaining({
          'event-type': { DataType: 'String', StringValue: 'replication-failed' },
        }),
      });
      expect(bucket.objects.has(watchKey)).toBe(false);
    });
  });

  it('notifies once, without throwing, when the record cannot be read or written', async () => {
    s3Mock
      .on(GetObjectCommand)
      .rejects(Object.assign(new Error('Slow Down'), { $metadata: { httpStatusCode: 503 } }));
    logsMock.on(GetLogEventsCommand).resolves(failingLog('error: configuration missing'));
    await expect(handler(event('codebuild/build-failed.json'))).resolves.toBeUndefined();
    expect(snsMock).toHaveReceivedCommandTimes(PublishCommand, 1);
    expect(slackBodies).toHaveLength(1);
  });
});

describe('handler.ts: the Lambda entry point', () => {
  async function entry() {
    vi.resetModules();
    vi.stubEnv('STACK_NAME', 'ecr-pipeline-dev');
    vi.stubEnv('REPOSITORY_PATTERN', '*');
    vi.stubEnv('ACCOUNT_ID', '123456789012');
    vi.stubEnv('POWERTOOLS_LOG_LEVEL', 'SILENT');
    try {
      const [{ handler: entryHandler }, { deps: deployed }] = await Promise.all([
        import('../../../functions/ecr-events/handler.ts'),
        import('../../../functions/ecr-events/clients.ts'),
      ]);
      return { entryHandler, deployed };
    } finally {
      vi.unstubAllEnvs();
    }
  }

  it("hands the event to the container's deps, and adds the Lambda context to the log lines", async () => {
    const { entryHandler, deployed } = await entry();
    const addContext = vi.spyOn(deployed.logger, 'addContext');
    const warn = vi.spyOn(deployed.logger, 'warn');
    const context = { awsRequestId: 'req-1', functionName: 'ecr-events' } as never;
    await entryHandler('text', context);
    expect(addContext).toHaveBeenCalledExactlyOnceWith(context);
    expect(warn).toHaveBeenCalledWith(
      'event ignored',
      expect.objectContaining({ reason: 'payload is not a JSON object' }),
    );
  });

  it('adds no context when it is invoked without one, or with one that has no request id', async () => {
    const { entryHandler, deployed } = await entry();
    const addContext = vi.spyOn(deployed.logger, 'addContext');
    await entryHandler('text');
    await entryHandler('text', {} as never);
    expect(addContext).not.toHaveBeenCalled();
  });
});

import { CloudWatchLogsClient, GetLogEventsCommand } from '@aws-sdk/client-cloudwatch-logs';
import {
  BatchGetBuildsCommand,
  CodeBuildClient,
  ListBuildsForProjectCommand,
} from '@aws-sdk/client-codebuild';
import {
  DeleteRepositoryCommand,
  DescribeImageReplicationStatusCommand,
  DescribeImagesCommand,
  ECRClient,
  ListTagsForResourceCommand,
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
import type { Context } from 'aws-lambda';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it } from 'vitest';
import { loadConfig } from '../../../functions/ecr-events/config.ts';
import type { Deps } from '../../../functions/ecr-events/deps.ts';
import { handleEvent } from '../../../functions/ecr-events/events.ts';
import type { Notification } from '../../../functions/ecr-events/notify/notification.ts';
import { REPOSITORY_TAGS } from '../../../functions/shared/contract.ts';
import { imageIndexKey, uploadRecordKey } from '../../../functions/shared/upload-record.ts';
import { conditionalBucket, confirmed, event, namingNoUpload, stubLogger } from './fixtures.ts';

const client = { region: 'us-west-2', credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } };
const ecr = new ECRClient(client);
const s3 = new S3Client(client);
const codebuild = new CodeBuildClient(client);
const logs = new CloudWatchLogsClient(client);
const tagging = new ResourceGroupsTaggingAPIClient(client);
const ecrMock = mockClient(ecr);
const s3Mock = mockClient(s3);
const codebuildMock = mockClient(codebuild);
const logsMock = mockClient(logs);
const taggingMock = mockClient(tagging);

const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
const BUILD_ID =
  'arn:aws:codebuild:us-west-2:123456789012:build/ecr-pipeline-dev:8745a7a9-c340-456a-9166-edf953571bef';
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
const RECORD_KEY = uploadRecordKey('', { bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz' });
const NOW = new Date('2026-11-20T10:00:00.000Z');
const FUNCTION_ARN = 'arn:aws:lambda:us-west-2:210987654321:function:ecr-pipeline-dev-ecrEvents';
const env = {
  STACK_NAME: 'ecr-pipeline-dev',
  REPOSITORY_PATTERN: '*',
  BUILD_PROJECT_NAME: 'ecr-pipeline-dev',
  AWS_REGION: 'us-west-2',
  ACCOUNT_ID: '123456789012',
  CONTEXT_BUCKET: BUCKET,
  KEY_PREFIX: '',
};
const body = (value: object) => ({ transformToString: async () => JSON.stringify(value) }) as never;
const status = (code: number, name = `status ${code}`) =>
  Object.assign(new Error(name), { name, $metadata: { httpStatusCode: code } });
const failingLog = {
  events: [
    '[Container] 2026/11/16 16:13:25.000000 Running command bash build-image.sh',
    'error: configuration missing',
    '[Container] 2026/11/16 16:14:17.000000 Command did not exit successfully bash exit status 1',
  ].map((message, i) => ({ message, timestamp: i })),
};

let logger: ReturnType<typeof stubLogger>;
let delivered: Notification[];

function depsWith(vars: Record<string, string> = {}): Deps {
  return {
    config: loadConfig({ ...env, ...vars }),
    ecr,
    tagging: async () => tagging,
    lambda: async () => {
      throw new Error('not used');
    },
    ecs: async () => {
      throw new Error('not used');
    },
    codebuild: async () => codebuild,
    logs: async () => logs,
    uploadRecords: async () => ({ s3, commands: { GetObjectCommand, PutObjectCommand } }),
    replicationWatches: async () => ({
      s3,
      paginate: paginateListObjectsV2,
      commands: { GetObjectCommand, PutObjectCommand, DeleteObjectCommand },
    }),
    channels: [
      {
        name: 'slack',
        deliver: async (n: Notification) => {
          delivered.push(n);
          return 'sent' as const;
        },
      },
      { name: 'sns', deliver: async () => 'off' as const },
    ],
    logger: logger as never,
    now: () => NOW,
  };
}

const contextWith = (remainingMs: number) =>
  ({
    awsRequestId: 'req-1',
    invokedFunctionArn: FUNCTION_ARN,
    getRemainingTimeInMillis: () => remainingMs,
  }) as unknown as Context;

beforeEach(() => {
  for (const mock of [ecrMock, s3Mock, codebuildMock, logsMock, taggingMock]) mock.reset();
  s3Mock.on(GetObjectCommand).rejects(status(404, 'NoSuchKey'));
  s3Mock.on(PutObjectCommand).resolves({});
  ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [] });
  codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [confirmed('FAILED')] });
  logger = stubLogger();
  delivered = [];
});

describe('ignored events', () => {
  it('logs an event it does not handle as information, with its reason, detail-type and repository', async () => {
    const e = event('ecr/image-action-push.json');
    e.detail['action-type'] = 'REPLICATE';
    await handleEvent(depsWith(), e);
    expect(logger.info).toHaveBeenCalledWith('event ignored', {
      reason: 'unknown action-type REPLICATE',
      detailType: 'ECR Image Action',
      repository: 'team/web',
    });
    expect(logger.warn).not.toHaveBeenCalled();
    expect(delivered).toEqual([]);
  });

  it('logs a malformed event as a warning', async () => {
    await handleEvent(depsWith(), 'text');
    expect(logger.warn).toHaveBeenCalledWith('event ignored', {
      reason: 'payload is not a JSON object',
      detailType: undefined,
      repository: undefined,
    });
    expect(logger.info).not.toHaveBeenCalledWith('event ignored', expect.anything());
  });
});

describe('notifications', () => {
  it('logs each delivery with the channels that took it and those that are off', async () => {
    await handleEvent(depsWith(), event('ecr/image-action-delete.json'));
    expect(delivered.map((n) => n.title)).toEqual(['Image deleted']);
    expect(logger.info).toHaveBeenCalledWith('notification delivered', {
      kind: 'image-delete',
      repository: 'team/web',
      tag: expect.any(String),
      buildId: undefined,
      sent: ['slack'],
      off: ['sns'],
      failed: [],
    });
  });

  it('logs a notification it keeps back, with the reason and the build', async () => {
    await handleEvent(depsWith(), event('codebuild/build-in-progress.json'));
    expect(delivered).toEqual([]);
    expect(logger.info).toHaveBeenCalledWith('notification skipped', {
      kind: 'build-started',
      repository: 'team/web',
      tag: 'v1.4.3',
      buildId: BUILD_ID,
      reason: 'notifications of kind build-started are off',
    });
  });
});

describe('the stale mark of a pushed repository', () => {
  const marked = [
    { Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' },
    { Key: REPOSITORY_TAGS.staleSince, Value: '2026-11-01' },
  ];

  it('logs what became of the mark, and says nothing of a repository that had none', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: marked });
    await handleEvent(depsWith(), event('ecr/image-action-push.json'));
    expect(logger.info).toHaveBeenCalledWith('stale mark after push', {
      repository: 'team/web',
      result: 'would-clear',
    });
    logger.info.mockClear();
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: [marked[0] as (typeof marked)[0]] });
    await handleEvent(depsWith(), event('ecr/image-action-push.json'));
    expect(logger.info).not.toHaveBeenCalledWith('stale mark after push', expect.anything());
    expect(delivered).toHaveLength(2);
  });

  it('asks for the mark in the region and account of the push, and clears it when the dry run is off', async () => {
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags: marked });
    await handleEvent(depsWith({ SWEEP_DRY_RUN: 'false' }), event('ecr/image-action-push.json'));
    expect(ecrMock).toHaveReceivedCommandWith(ListTagsForResourceCommand, {
      resourceArn: 'arn:aws:ecr:us-west-2:123456789012:repository/team/web',
    });
    expect(logger.info).toHaveBeenCalledWith('stale mark after push', {
      repository: 'team/web',
      result: 'cleared',
    });
  });

  it('logs a mark it could not read as an error, and still notifies', async () => {
    ecrMock
      .on(ListTagsForResourceCommand)
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    await handleEvent(depsWith(), event('ecr/image-action-push.json'));
    expect(logger.error).toHaveBeenCalledWith('could not clear the stale mark', {
      repository: 'team/web',
      error: 'AccessDeniedException: denied',
    });
    expect(delivered.map((n) => n.kind)).toEqual(['image-push']);
  });
});

describe('replication', () => {
  const replicating = { REPLICATION_REGIONS: 'eu-west-1' };

  it('watches a pushed image with its tag and push time, and logs it', async () => {
    await handleEvent(depsWith(replicating), event('ecr/image-action-push.json'));
    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(put).toMatchObject({ Bucket: BUCKET, IfNoneMatch: '*' });
    expect(JSON.parse(String(put?.Body))).toMatchObject({
      repository: 'team/web',
      digest: DIGEST,
      tag: 'v1.4.2',
      pushedAt: expect.stringMatching(/^2026-/),
    });
    expect(logger.info).toHaveBeenCalledWith('replication watched', {
      repository: 'team/web',
      digest: DIGEST,
      result: expect.any(String),
    });
  });

  it('watches an untagged image without a tag', async () => {
    const e = event('ecr/image-action-push.json');
    delete e.detail['image-tag'];
    await handleEvent(depsWith(replicating), e);
    const put = s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input;
    expect(JSON.parse(String(put?.Body))).not.toHaveProperty('tag');
  });

  it('watches nothing without a digest, a bucket or replication regions', async () => {
    const noDigest = event('ecr/image-action-push.json');
    delete noDigest.detail['image-digest'];
    await handleEvent(depsWith(replicating), noDigest);
    await handleEvent(depsWith({ ...replicating, CONTEXT_BUCKET: '' }), event('ecr/image-action-push.json'));
    await handleEvent(depsWith(), event('ecr/image-action-push.json'));
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(delivered).toHaveLength(3);
  });

  it('logs a watch it could not write as an error, and still notifies', async () => {
    s3Mock.on(PutObjectCommand).rejects(status(403, 'AccessDenied'));
    await handleEvent(depsWith(replicating), event('ecr/image-action-push.json'));
    expect(logger.error).toHaveBeenCalledWith('could not watch the replication of the pushed image', {
      repository: 'team/web',
      digest: DIGEST,
      error: 'AccessDenied: AccessDenied',
    });
    expect(delivered).toHaveLength(1);
  });

  it('skips the scheduled check, and says so, without replication regions or without a bucket', async () => {
    await handleEvent(depsWith(), { action: 'check-replication' });
    await handleEvent(depsWith({ ...replicating, CONTEXT_BUCKET: '' }), { action: 'check-replication' });
    expect(
      logger.info.mock.calls.filter(
        ([message]) => message === 'replication check skipped: no replication regions or no bucket',
      ),
    ).toHaveLength(2);
    expect(s3Mock).not.toHaveReceivedCommand(ListObjectsV2Command);
  });

  it('checks the watched images on the schedule and logs what it found', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [], IsTruncated: false });
    await handleEvent(depsWith(replicating), { action: 'check-replication' }, contextWith(60_000));
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectsV2Command, { Bucket: BUCKET });
    expect(logger.info).toHaveBeenCalledWith('replication check finished', {
      told: 0,
      completed: 0,
      pending: 0,
      errors: 0,
    });
  });
});

describe('failed builds: the log excerpt', () => {
  it('reads no log when NOTIFY_LOG_LINES is 0', async () => {
    await handleEvent(depsWith({ NOTIFY_LOG_LINES: '0' }), event('codebuild/build-failed.json'));
    expect(logsMock).not.toHaveReceivedCommand(GetLogEventsCommand);
    expect(delivered).toHaveLength(1);
  });

  it('reads no log when nobody needs it: the notification is off and there is no upload record', async () => {
    const off = { NOTIFY_EVENTS: 'image-push', CONTEXT_BUCKET: '' };
    await handleEvent(depsWith(off), event('codebuild/build-failed.json'));
    expect(logsMock).not.toHaveReceivedCommand(GetLogEventsCommand);
  });

  it('reads the log for the upload record even when the notification is off', async () => {
    logsMock.on(GetLogEventsCommand).resolves(failingLog);
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({
      Body: body({ status: 'accepted', bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz', buildId: BUILD_ID }),
      ETag: '"e1"',
    });
    await handleEvent(depsWith({ NOTIFY_EVENTS: 'image-push' }), event('codebuild/build-failed.json'));
    expect(logsMock).toHaveReceivedCommandWith(GetLogEventsCommand, {
      logGroupName: '/aws/codebuild/ecr-pipeline-dev',
      logStreamName: '8745a7a9-c340-456a-9166-edf953571bef',
    });
    const written = s3Mock
      .commandCalls(PutObjectCommand)
      .map((c) => JSON.parse(String(c.args[0].input.Body)));
    expect(written).toEqual([
      expect.objectContaining({ status: 'failed', reason: 'error: configuration missing' }),
    ]);
    expect(delivered).toEqual([]);
  });

  it('logs a log it could not read, with the build, the repository and why', async () => {
    logsMock.on(GetLogEventsCommand).rejects(new Error('Rate exceeded'));
    await handleEvent(depsWith(), event('codebuild/build-failed.json'));
    expect(logger.warn).toHaveBeenCalledWith('build log excerpt unavailable', {
      buildId: BUILD_ID,
      repository: 'team/web',
      why: expect.any(String),
    });
    expect(delivered).toHaveLength(1);
  });

  it('reads no log of a build without a log stream', async () => {
    const e = event('codebuild/build-failed.json');
    delete (e.detail['additional-information'] as Record<string, unknown>).logs;
    await handleEvent(depsWith(), e);
    expect(logsMock).not.toHaveReceivedCommand(GetLogEventsCommand);
  });
});

describe('upload records', () => {
  const keys = {
    kind: 'build-failed',
    buildId: BUILD_ID,
    key: 'team/web/v1.4.3.tar.gz',
    repository: 'team/web',
  };
  const claim = { status: 'accepted', bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz', repository: 'team/web' };

  it('logs a record it updated, with the keys that follow the upload', async () => {
    logsMock.on(GetLogEventsCommand).resolves(failingLog);
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim), ETag: '"e1"' });
    await handleEvent(depsWith(), event('codebuild/build-failed.json'));
    expect(logger.info).toHaveBeenCalledWith('upload record updated', { ...keys, digest: undefined });
  });

  it('warns of a build whose record is missing', async () => {
    await handleEvent(depsWith(), event('codebuild/build-failed.json'));
    expect(logger.warn).toHaveBeenCalledWith(
      'no upload record for the build (expired, or a build not started by this stack)',
      { ...keys, digest: undefined },
    );
  });

  it('logs a scan of an image no upload of this stack built, and no missing record for a scan', async () => {
    await handleEvent(depsWith(), event('ecr/image-scan-complete.json'));
    expect(logger.info).toHaveBeenCalledWith('scanned image built by no upload of this stack', {
      kind: 'scan',
      buildId: undefined,
      key: undefined,
      repository: 'team/web',
      digest: DIGEST,
    });
    s3Mock
      .on(GetObjectCommand, { Key: imageIndexKey('', 'team/web', DIGEST) })
      .resolves({ Body: body({ record: RECORD_KEY }) });
    await handleEvent(depsWith(), event('ecr/image-scan-complete.json'));
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('logs a record it could not update as an error, and still notifies', async () => {
    s3Mock.on(GetObjectCommand).rejects(status(503, 'SlowDown'));
    await handleEvent(depsWith(), event('codebuild/build-in-progress.json'));
    expect(logger.error).toHaveBeenCalledWith('could not update the upload record', {
      kind: 'build-running',
      buildId: BUILD_ID,
      key: 'team/web/v1.4.3.tar.gz',
      repository: 'team/web',
      digest: undefined,
      error: 'SlowDown: SlowDown',
    });
  });

  it('writes nothing without a bucket, for a build that names no upload, or for an event no record follows', async () => {
    await handleEvent(depsWith({ CONTEXT_BUCKET: '' }), event('codebuild/build-in-progress.json'));
    const bare = event('codebuild/build-in-progress.json');
    const info = bare.detail['additional-information'] as { environment: Record<string, unknown> };
    info.environment['environment-variables'] = [{ name: 'IMAGE_REPOSITORY', value: 'team/web' }];
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [namingNoUpload()] });
    await handleEvent(depsWith(), bare);
    await handleEvent(depsWith(), event('ecr/image-action-delete.json'));
    expect(s3Mock).not.toHaveReceivedAnyCommand();
  });

  it("leaves a succeeded build's record to the release function: reads no digest, writes nothing", async () => {
    s3Mock
      .on(GetObjectCommand, { Key: RECORD_KEY })
      .resolves({ Body: body({ ...claim, buildId: BUILD_ID }) });
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [confirmed('SUCCEEDED')] });
    await handleEvent(depsWith(), event('codebuild/build-succeeded.json'));
    // Asked once, to confirm the build the notification names; nothing written.
    expect(codebuildMock).toHaveReceivedCommandExactlyOnceWith(BatchGetBuildsCommand, { ids: [BUILD_ID] });
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
  });
});

describe("a build event's origin, confirmed with CodeBuild", () => {
  const claim = { status: 'accepted', bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz', buildId: BUILD_ID };

  it.each([
    ['a build CodeBuild does not have', { builds: [] }],
    ['a build of another project', { builds: [confirmed('FAILED', { projectName: 'other' })] }],
    ['a build that in fact succeeded', { builds: [confirmed('SUCCEEDED')] }],
  ])('changes no record and notifies nobody for %s', async (_what, answer) => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim) });
    codebuildMock.on(BatchGetBuildsCommand).resolves(answer);
    await handleEvent(depsWith(), event('codebuild/build-failed.json'));
    expect(codebuildMock).toHaveReceivedCommandWith(BatchGetBuildsCommand, { ids: [BUILD_ID] });
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(delivered).toEqual([]);
    expect(logger.warn).toHaveBeenCalledWith(
      'event ignored',
      expect.objectContaining({
        detailType: 'CodeBuild Build State Change',
        reason: expect.stringContaining(BUILD_ID),
      }),
    );
  });

  it("writes the record of the upload CodeBuild names, not the one the event's variables name", async () => {
    const forged = event('codebuild/build-failed.json');
    const info = forged.detail['additional-information'] as {
      environment: { 'environment-variables': unknown[] };
    };
    info.environment['environment-variables'] = [
      { name: 'CONTEXT_BUCKET', value: BUCKET },
      { name: 'CONTEXT_KEY', value: 'colleague/app/v9.tar.gz' },
    ];
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({ Body: body(claim) });
    await handleEvent(depsWith(), forged);
    const keys = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input.Key);
    expect(keys).toEqual([RECORD_KEY]);
  });

  it('lets Lambda retry when CodeBuild cannot be asked', async () => {
    codebuildMock.on(BatchGetBuildsCommand).rejects(status(500, 'InternalFailure'));
    await expect(handleEvent(depsWith(), event('codebuild/build-failed.json'))).rejects.toThrow(
      'InternalFailure',
    );
    expect(delivered).toEqual([]);
  });
});

describe('sweeps', () => {
  const oneRepository = () => {
    taggingMock.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        {
          ResourceARN: 'arn:aws:ecr:us-west-2:123456789012:repository/team/web',
          Tags: [{ Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' }],
        },
      ],
    });
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imagePushedAt: new Date('2026-11-19T00:00:00Z'), imageTags: ['v1'] }],
    });
  };

  it('logs the start and the end of a sweep, and sends its summary with the account of the function', async () => {
    oneRepository();
    await handleEvent(depsWith(), event('ecr-pipeline/scheduled-sweep.json'), contextWith(60_000));
    expect(logger.info).toHaveBeenCalledWith('sweep started', { trigger: 'schedule', dryRun: true });
    expect(logger.info).toHaveBeenCalledWith('sweep finished', {
      dryRun: true,
      candidates: 1,
      marked: 0,
      deleted: 0,
      unmarked: 0,
      pending: 0,
      inUse: 0,
      protected: 0,
      kept: 1,
      errors: 0,
    });
    expect(delivered).toEqual([
      {
        kind: 'sweep',
        outcome: 'info',
        title: 'Stale repository sweep',
        region: 'us-west-2',
        account: '210987654321',
        time: NOW.toISOString(),
        sweep: expect.objectContaining({ candidates: 1, kept: 1 }),
        links: [],
      },
    ]);
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('runs a dry run the payload asks for, and warns when the payload asks to turn off the configured one', async () => {
    taggingMock.on(GetResourcesCommand).resolves({ ResourceTagMappingList: [] });
    await handleEvent(depsWith({ SWEEP_DRY_RUN: 'false' }), { action: 'sweep', dryRun: true });
    expect(logger.info).toHaveBeenCalledWith('sweep started', { trigger: 'on-demand', dryRun: true });
    await handleEvent(depsWith({ SWEEP_DRY_RUN: 'false' }), { action: 'sweep' });
    expect(logger.info).toHaveBeenCalledWith('sweep started', { trigger: 'on-demand', dryRun: false });
    expect(logger.warn).not.toHaveBeenCalled();
    await handleEvent(depsWith(), { action: 'sweep', dryRun: false });
    expect(logger.warn).toHaveBeenCalledWith('dryRun=false in the payload ignored: SWEEP_DRY_RUN is on');
    expect(delivered.map((n) => n.account)).toEqual(['', '', '']);
  });

  it('stops starting repositories when less than 20 seconds of the invocation are left, and calls that a failure', async () => {
    oneRepository();
    await handleEvent(depsWith(), event('ecr-pipeline/scheduled-sweep.json'), contextWith(20_000));
    expect(delivered.at(-1)).toMatchObject({ outcome: 'info', sweep: { kept: 1 } });
    await handleEvent(depsWith(), event('ecr-pipeline/scheduled-sweep.json'), contextWith(19_999));
    expect(delivered.at(-1)).toMatchObject({ outcome: 'failure', sweep: { kept: 0 } });
    expect(ecrMock).toHaveReceivedCommandTimes(DescribeImagesCommand, 1);
  });
});

describe('only what each notification needs', () => {
  it('watches the replication of pushes only, and clears the mark of pushes only', async () => {
    const deps = depsWith({ REPLICATION_REGIONS: 'eu-west-1' });
    await handleEvent(deps, event('ecr/image-action-delete.json'));
    await handleEvent(deps, event('ecr/image-scan-complete.json'));
    expect(s3Mock).not.toHaveReceivedCommand(PutObjectCommand);
    expect(ecrMock).not.toHaveReceivedCommand(ListTagsForResourceCommand);
    expect(delivered).toHaveLength(2);
  });

  it('loads no S3 client for a build that names no upload', async () => {
    const bare = event('codebuild/build-in-progress.json');
    const info = bare.detail['additional-information'] as { environment: Record<string, unknown> };
    info.environment['environment-variables'] = [{ name: 'IMAGE_REPOSITORY', value: 'team/web' }];
    codebuildMock.on(BatchGetBuildsCommand).resolves({ builds: [namingNoUpload()] });
    const deps = depsWith();
    let loaded = 0;
    const uploadRecords = deps.uploadRecords;
    deps.uploadRecords = async () => {
      loaded++;
      return uploadRecords();
    };
    await handleEvent(deps, bare);
    expect(loaded).toBe(0);
  });
});

describe('the summary of a sweep that deleted', () => {
  it('calls a sweep that deleted a repository a warning', async () => {
    const tags = [
      { Key: REPOSITORY_TAGS.managedBy, Value: 'ecr-pipeline-dev' },
      { Key: REPOSITORY_TAGS.staleSince, Value: '2026-11-01' },
    ];
    taggingMock.on(GetResourcesCommand).resolves({
      ResourceTagMappingList: [
        { ResourceARN: 'arn:aws:ecr:us-west-2:123456789012:repository/team/old', Tags: tags },
      ],
    });
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [{ imagePushedAt: new Date('2026-01-01T00:00:00Z'), imageTags: ['v1'] }],
    });
    ecrMock.on(ListTagsForResourceCommand).resolves({ tags });
    ecrMock.on(DeleteRepositoryCommand).resolves({});
    codebuildMock.on(ListBuildsForProjectCommand).resolves({ ids: [] });
    await handleEvent(depsWith({ SWEEP_DRY_RUN: 'false' }), event('ecr-pipeline/scheduled-sweep.json'));
    expect(ecrMock).toHaveReceivedCommandWith(DeleteRepositoryCommand, { repositoryName: 'team/old' });
    expect(delivered).toEqual([expect.objectContaining({ kind: 'sweep', outcome: 'warning' })]);
  });
});

describe('the scan memory when no channel took the news', () => {
  it('logs a memory it could not put back, and still throws so that Lambda retries', async () => {
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [
        { imageDigest: DIGEST, imageScanFindingsSummary: { findingSeverityCounts: { HIGH: 2 } } },
      ],
    });
    s3Mock
      .on(PutObjectCommand)
      .resolvesOnce({ ETag: '"m1"' })
      .rejects(
        Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      );
    const down = async (): Promise<'sent'> => {
      throw new Error('down');
    };
    const deps = {
      ...depsWith(),
      channels: [
        { name: 'slack', deliver: down },
        { name: 'sns', deliver: down },
      ],
    };
    await expect(handleEvent(deps, event('inspector/finding-ecr-image.json'))).rejects.toThrow(
      'every channel failed',
    );
    expect(s3Mock).toHaveReceivedCommandTimes(PutObjectCommand, 2);
    expect(logger.error).toHaveBeenCalledWith('could not put the scan memory back', {
      repository: 'team/web',
      digest: DIGEST,
      error: 'AccessDenied: denied',
    });
  });
});

describe('what is logged and told, and what is not', () => {
  it('tells a failed replication without an account when invoked without a context', async () => {
    const bucket = conditionalBucket();
    s3Mock.on(GetObjectCommand).callsFake(bucket.get);
    s3Mock.on(PutObjectCommand).callsFake(bucket.put);
    s3Mock.on(DeleteObjectCommand).callsFake(bucket.delete);
    s3Mock.on(ListObjectsV2Command).callsFake(bucket.list);
    const deps = depsWith({ REPLICATION_REGIONS: 'eu-west-1', REPLICATION_TIMEOUT_MINUTES: '5' });
    await handleEvent(deps, event('ecr/image-action-push.json'));
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves({
      replicationStatuses: [{ region: 'eu-west-1', registryId: '123456789012', status: 'FAILED' }],
    });
    delivered.length = 0;
    await handleEvent(deps, { action: 'check-replication' });
    expect(delivered).toEqual([expect.objectContaining({ kind: 'replication-failed', account: '' })]);
  });

  it('logs an enhanced scan result that is not news, and sends nothing', async () => {
    const bucket = conditionalBucket();
    s3Mock.on(GetObjectCommand).callsFake(bucket.get);
    s3Mock.on(PutObjectCommand).callsFake(bucket.put);
    ecrMock.on(DescribeImagesCommand).resolves({
      imageDetails: [
        { imageDigest: DIGEST, imageScanFindingsSummary: { findingSeverityCounts: { HIGH: 2 } } },
      ],
    });
    await handleEvent(depsWith(), event('inspector/finding-ecr-image.json'));
    const rescan = event('inspector/finding-ecr-image.json');
    rescan.time = '2026-11-21T06:02:30Z';
    await handleEvent(depsWith(), rescan);
    expect(delivered).toHaveLength(1);
    expect(logger.info).toHaveBeenCalledWith('notification skipped', {
      kind: 'scan',
      repository: 'team/web',
      digest: DIGEST,
      reason: expect.any(String),
    });
  });

  it('warns of no excerpt when the log was read', async () => {
    logsMock.on(GetLogEventsCommand).resolves(failingLog);
    await handleEvent(depsWith({ CONTEXT_BUCKET: '' }), event('codebuild/build-failed.json'));
    expect(delivered).toHaveLength(1);
    expect(logger.warn).not.toHaveBeenCalled();
  });

  it('warns of nothing for a build event that leaves a final record unchanged', async () => {
    s3Mock.on(GetObjectCommand, { Key: RECORD_KEY }).resolves({
      Body: body({ status: 'built', bucket: BUCKET, key: 'team/web/v1.4.3.tar.gz', buildId: BUILD_ID }),
    });
    await handleEvent(depsWith(), event('codebuild/build-in-progress.json'));
    expect(logger.warn).not.toHaveBeenCalled();
    expect(logger.info).not.toHaveBeenCalledWith('upload record updated', expect.anything());
  });
});

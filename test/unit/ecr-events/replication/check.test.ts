import { DescribeImageReplicationStatusCommand, ECRClient } from '@aws-sdk/client-ecr';
import {
  DeleteObjectCommand,
  GetObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  paginateListObjectsV2,
  S3Client,
} from '@aws-sdk/client-s3';
import { mockClient } from 'aws-sdk-client-mock';
import { beforeEach, describe, expect, it, vi } from 'vitest';
import { consoleLinks } from '../../../../functions/ecr-events/notify/notification.ts';
import {
  checkReplication,
  type ReplicationCheckDeps,
  type ReplicationFailure,
  replicationFailure,
  replicationNotification,
} from '../../../../functions/ecr-events/replication/check.ts';
import {
  type ReplicationWatch,
  watchReplication,
} from '../../../../functions/ecr-events/replication/watch.ts';
import { replicationWatchKey } from '../../../../functions/shared/upload-record.ts';
import { conditionalBucket, stubLogger } from '../fixtures.ts';

const client = { region: 'us-west-2', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const s3 = new S3Client(client);
const ecr = new ECRClient(client);
const s3Mock = mockClient(s3);
const ecrMock = mockClient(ecr);
const BUCKET = 'ecr-pipeline-dev-contexts-123456789012-us-west-2';
const DIGEST = 'sha256:7f5b2640fe6fb4f46592dfd3410c4a79dac4f89e4782432e0378abcd1234abcd';
const KEY = replicationWatchKey('', 'team/web', DIGEST);
const HOUR = 3_600_000;
const TIMEOUT = 6 * HOUR;
const PUSHED = '2026-11-20T06:00:00.000Z';
const watch: ReplicationWatch = { repository: 'team/web', digest: DIGEST, tag: 'v1.4.3', pushedAt: PUSHED };
let now = new Date(Date.parse(PUSHED) + HOUR);
let bucket: ReturnType<typeof conditionalBucket>;
const deps = (): ReplicationCheckDeps => ({
  s3,
  paginate: paginateListObjectsV2,
  commands: { GetObjectCommand, PutObjectCommand, DeleteObjectCommand },
  ecr,
  bucket: BUCKET,
  keyPrefix: '',
  now: () => now,
  logger: stubLogger(),
});
const failed = {
  replicationStatuses: [
    { region: 'eu-west-1', registryId: '123456789012', status: 'COMPLETE' as const },
    {
      region: 'eu-central-1',
      registryId: '123456789012',
      status: 'FAILED' as const,
      failureCode: 'KMS_ERROR',
    },
  ],
};

beforeEach(async () => {
  s3Mock.reset();
  ecrMock.reset();
  bucket = conditionalBucket();
  s3Mock.on(GetObjectCommand).callsFake(bucket.get);
  s3Mock.on(PutObjectCommand).callsFake(bucket.put);
  s3Mock.on(DeleteObjectCommand).callsFake(bucket.delete);
  s3Mock.on(ListObjectsV2Command).callsFake(bucket.list);
  now = new Date(Date.parse(PUSHED) + HOUR);
  await watchReplication(
    { s3, commands: { GetObjectCommand, PutObjectCommand }, bucket: BUCKET, keyPrefix: '' },
    watch,
  );
});

describe('replicationFailure', () => {
  it('tells the failed destinations with their failure codes', () => {
    expect(replicationFailure(watch, failed.replicationStatuses, now, TIMEOUT)?.reason).toBe(
      'ECR could not replicate the image to eu-central-1 (KMS_ERROR).',
    );
  });

  it('waits for a replication in progress, and tells it once it is late', () => {
    const statuses = [{ region: 'eu-west-1', status: 'IN_PROGRESS' as const }];
    expect(replicationFailure(watch, statuses, now, TIMEOUT)).toBeUndefined();
    const late = new Date(Date.parse(PUSHED) + 7 * HOUR);
    expect(replicationFailure(watch, statuses, late, TIMEOUT)?.reason).toBe(
      'Replication to eu-west-1 has not completed 6 h after the push.',
    );
  });
});

describe('replicationFailure, more', () => {
  it('names every failed destination, with a failure code only where ECR gave one', () => {
    const statuses = [
      { region: 'eu-west-1', status: 'FAILED' as const },
      { region: 'eu-central-1', status: 'FAILED' as const, failureCode: 'KMS_ERROR' },
      { region: 'ap-south-1', status: 'COMPLETE' as const },
    ];
    expect(replicationFailure(watch, statuses, now, TIMEOUT)).toEqual({
      watch,
      destinations: statuses,
      reason: 'ECR could not replicate the image to eu-west-1, eu-central-1 (KMS_ERROR).',
    });
  });

  it('tells a failure at once, before the replication is late', () => {
    const statuses = [{ region: 'eu-west-1', status: 'FAILED' as const }];
    expect(replicationFailure(watch, statuses, new Date(Date.parse(PUSHED)), TIMEOUT)?.reason).toBe(
      'ECR could not replicate the image to eu-west-1.',
    );
  });

  it('names only the destinations still waiting once late, in whole hours, and not before the timeout has passed', () => {
    const statuses = [
      { region: 'eu-west-1', status: 'COMPLETE' as const },
      { region: 'eu-central-1', status: 'IN_PROGRESS' as const },
      { region: 'ap-south-1', status: 'IN_PROGRESS' as const },
    ];
    const at = (ms: number) => new Date(Date.parse(PUSHED) + ms);
    expect(replicationFailure(watch, statuses, at(TIMEOUT), TIMEOUT)).toBeUndefined();
    expect(replicationFailure(watch, statuses, at(TIMEOUT + 1), TIMEOUT)).toEqual({
      watch,
      destinations: statuses,
      reason: 'Replication to eu-central-1, ap-south-1 has not completed 6 h after the push.',
    });
    expect(replicationFailure(watch, statuses, at(3 * HOUR), 2.6 * HOUR)?.reason).toBe(
      'Replication to eu-central-1, ap-south-1 has not completed 3 h after the push.',
    );
  });

  it('has nothing to tell of a late replication that completed everywhere', () => {
    const statuses = [{ region: 'eu-west-1', status: 'COMPLETE' as const }];
    expect(
      replicationFailure(watch, statuses, new Date(Date.parse(PUSHED) + 7 * HOUR), TIMEOUT),
    ).toBeUndefined();
  });
});

describe('replicationNotification', () => {
  it('links the image in the console of the region and account the check runs in', () => {
    const failure = replicationFailure(watch, failed.replicationStatuses, now, TIMEOUT) as ReplicationFailure;
    const n = replicationNotification(failure, 'us-west-2', '123456789012');
    expect(n).toMatchObject({
      region: 'us-west-2',
      account: '123456789012',
      repository: 'team/web',
      tag: 'v1.4.3',
      digest: DIGEST,
      links: [consoleLinks.image('us-west-2', '123456789012', 'team/web', DIGEST)],
    });
    expect(Date.parse(n.time)).not.toBeNaN();
  });
});

describe('checkReplication', () => {
  it('tells a failed replication once, like a failed build, and ends the watch', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    const tell = vi.fn(async (_failure: ReplicationFailure) => undefined);
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ told: 1 });
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ told: 0 });
    expect(tell).toHaveBeenCalledTimes(1);
    expect(ecrMock).toHaveReceivedCommandWith(DescribeImageReplicationStatusCommand, {
      repositoryName: 'team/web',
      imageId: { imageDigest: DIGEST },
    });
    expect(bucket.objects.has(KEY)).toBe(false);
    const n = replicationNotification(
      tell.mock.calls[0]?.[0] as ReplicationFailure,
      'us-west-2',
      '123456789012',
    );
    expect(n).toMatchObject({
      kind: 'replication-failed',
      outcome: 'failure',
      title: 'Replication failed',
      repository: 'team/web',
      tag: 'v1.4.3',
      detail: 'ECR could not replicate the image to eu-central-1 (KMS_ERROR).',
    });
  });

  it('tells a failure once when two checks run at once', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    const tell = vi.fn(async () => undefined);
    await Promise.all([checkReplication(deps(), TIMEOUT, tell), checkReplication(deps(), TIMEOUT, tell)]);
    expect(tell).toHaveBeenCalledTimes(1);
  });

  it('ends the watch of a complete replication quietly, and keeps one in progress', async () => {
    const tell = vi.fn(async () => undefined);
    ecrMock
      .on(DescribeImageReplicationStatusCommand)
      .resolves({ replicationStatuses: [{ region: 'eu-west-1', status: 'IN_PROGRESS' }] });
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ pending: 1 });
    expect(bucket.objects.has(KEY)).toBe(true);
    ecrMock
      .on(DescribeImageReplicationStatusCommand)
      .resolves({ replicationStatuses: [{ region: 'eu-west-1', status: 'COMPLETE' }] });
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ completed: 1 });
    expect(bucket.objects.has(KEY)).toBe(false);
    expect(tell).not.toHaveBeenCalled();
  });

  it('takes its claim back when no channel took the news, so that the next check tells it', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    const tell = vi.fn(async () => undefined).mockRejectedValueOnce(new Error('Slack and SNS failed'));
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ errors: 1 });
    expect(JSON.parse(String(bucket.objects.get(KEY)?.body)).notifiedAt).toBeUndefined();
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ told: 1 });
    expect(tell).toHaveBeenCalledTimes(2);
  });

  it('ends the watch of an image deleted since its push', async () => {
    ecrMock
      .on(DescribeImageReplicationStatusCommand)
      .rejects(Object.assign(new Error('gone'), { name: 'ImageNotFoundException' }));
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toMatchObject({ completed: 1 });
    expect(bucket.objects.has(KEY)).toBe(false);
  });
});

describe('watchReplication', () => {
  const store = () => ({
    s3,
    commands: { GetObjectCommand, PutObjectCommand },
    bucket: BUCKET,
    keyPrefix: 'contexts/',
  });

  it("writes a new watch as JSON under the stack's prefix", async () => {
    const other = { ...watch, repository: 'team/api' };
    expect(await watchReplication(store(), other)).toBe('watched');
    const key = replicationWatchKey('contexts/', 'team/api', DIGEST);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: key,
      ContentType: 'application/json',
      IfNoneMatch: '*',
    });
    expect(JSON.parse(String(bucket.objects.get(key)?.body))).toEqual(other);
  });

  it('takes a conflict (409) as a watch that already exists, and throws other errors', async () => {
    const failing = (status: number) =>
      Object.assign(new Error(`HTTP ${status}`), { name: 'S3Error', $metadata: { httpStatusCode: status } });
    const errors = [failing(409), failing(503)];
    s3Mock.on(PutObjectCommand).callsFake(async () => {
      throw errors.shift();
    });
    expect(await watchReplication(store(), watch)).toBe('exists');
    await expect(watchReplication(store(), watch)).rejects.toThrow('HTTP 503');
  });

  it('watches an image once, whatever the redeliveries of its push', async () => {
    const store = { s3, commands: { GetObjectCommand, PutObjectCommand }, bucket: BUCKET, keyPrefix: '' };
    expect(await watchReplication(store, { ...watch, pushedAt: '2026-11-20T07:00:00.000Z' })).toBe('exists');
    expect(JSON.parse(String(bucket.objects.get(KEY)?.body)).pushedAt).toBe(PUSHED);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Key: KEY, IfNoneMatch: '*' });
  });
});

describe('checkReplication, more', () => {
  const replicating = { replicationStatuses: [{ region: 'eu-west-1', status: 'IN_PROGRESS' as const }] };
  const store = () => ({
    s3,
    commands: { GetObjectCommand, PutObjectCommand },
    bucket: BUCKET,
    keyPrefix: '',
  });

  it("lists the watches under the stack's prefix, a page of up to 1000 keys at a time", async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(replicating);
    await checkReplication({ ...deps(), keyPrefix: 'contexts/' }, TIMEOUT, vi.fn());
    expect(s3Mock).toHaveReceivedCommandWith(ListObjectsV2Command, {
      Bucket: BUCKET,
      Prefix: 'contexts/.ecr-pipeline/replication/',
      MaxKeys: 1000,
    });
  });

  it('looks at 500 images per check at most, leaving the rest for the next one', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(replicating);
    const keys = Array.from(
      { length: 1200 },
      (_, i) => `.ecr-pipeline/replication/${String(i).padStart(4, '0')}.json`,
    );
    s3Mock
      .on(ListObjectsV2Command)
      .resolvesOnce({
        Contents: keys.slice(0, 400).map((Key) => ({ Key })),
        NextContinuationToken: 't2',
        IsTruncated: true,
      })
      .resolvesOnce({
        Contents: keys.slice(400, 800).map((Key) => ({ Key })),
        NextContinuationToken: 't3',
        IsTruncated: true,
      })
      .resolvesOnce({ Contents: keys.slice(800).map((Key) => ({ Key })), IsTruncated: false });
    s3Mock.on(GetObjectCommand).resolves({
      Body: { transformToString: async () => JSON.stringify(watch) } as never,
      ETag: '"e1"',
    });
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toEqual({
      told: 0,
      completed: 0,
      pending: 500,
      errors: 0,
    });
    expect(s3Mock).toHaveReceivedCommandTimes(ListObjectsV2Command, 2);
    expect(s3Mock).toHaveReceivedCommandTimes(GetObjectCommand, 500);
    expect(s3Mock).toHaveReceivedNthCommandWith(GetObjectCommand, 500, { Key: keys[499] });
  });

  it('leaves a failure to the check that claimed it first (412), without counting an error', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    s3Mock.on(PutObjectCommand).rejects(
      Object.assign(new Error('precondition'), {
        name: 'PreconditionFailed',
        $metadata: { httpStatusCode: 412 },
      }),
    );
    const tell = vi.fn();
    expect(await checkReplication(deps(), TIMEOUT, tell)).toEqual({
      told: 0,
      completed: 0,
      pending: 1,
      errors: 0,
    });
    expect(tell).not.toHaveBeenCalled();
  });

  it('reads a page of the listing that holds no objects', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ IsTruncated: false });
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toEqual({
      told: 0,
      completed: 0,
      pending: 0,
      errors: 0,
    });
  });

  it('skips a listed object without a key', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Size: 1 }], IsTruncated: false });
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toEqual({
      told: 0,
      completed: 0,
      pending: 0,
      errors: 0,
    });
    expect(s3Mock).not.toHaveReceivedCommand(GetObjectCommand);
  });

  it('counts as completed a watch removed since it was listed', async () => {
    s3Mock.on(ListObjectsV2Command).resolves({ Contents: [{ Key: KEY }], IsTruncated: false });
    bucket.objects.delete(KEY);
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toMatchObject({ completed: 1 });
    expect(ecrMock).not.toHaveReceivedAnyCommand();
  });

  it('counts an unreadable watch as an error, logged with its key, and goes on with the others', async () => {
    const other = replicationWatchKey('', 'team/api', DIGEST);
    await watchReplication(store(), { ...watch, repository: 'team/api' });
    s3Mock
      .on(GetObjectCommand, { Key: KEY })
      .rejects(
        Object.assign(new Error('Slow Down'), { name: 'SlowDown', $metadata: { httpStatusCode: 503 } }),
      );
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(replicating);
    const logger = stubLogger();
    expect(await checkReplication({ ...deps(), logger }, TIMEOUT, vi.fn())).toEqual({
      told: 0,
      completed: 0,
      pending: 1,
      errors: 1,
    });
    expect(logger.error).toHaveBeenCalledWith('could not check the replication of an image', {
      key: KEY,
      error: 'SlowDown: Slow Down',
    });
    expect(bucket.objects.has(other)).toBe(true);
  });

  it('keeps a watch already claimed by another check, without asking ECR', async () => {
    bucket.objects.set(KEY, { body: JSON.stringify({ ...watch, notifiedAt: PUSHED }), eTag: '"x"' });
    const tell = vi.fn();
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ pending: 1 });
    expect(ecrMock).not.toHaveReceivedAnyCommand();
    expect(tell).not.toHaveBeenCalled();
  });

  it('ends the watch of an image whose repository was deleted, and counts other ECR errors', async () => {
    ecrMock
      .on(DescribeImageReplicationStatusCommand)
      .rejectsOnce(Object.assign(new Error('gone'), { name: 'RepositoryNotFoundException' }))
      .rejects(Object.assign(new Error('denied'), { name: 'AccessDeniedException' }));
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toMatchObject({ completed: 1 });
    expect(bucket.objects.has(KEY)).toBe(false);
    await watchReplication(store(), watch);
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toMatchObject({ errors: 1, completed: 0 });
    expect(bucket.objects.has(KEY)).toBe(true);
  });

  it('waits for an image no rule replicates yet, and ends its watch once the timeout has passed', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves({});
    const tell = vi.fn();
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ pending: 1 });
    expect(bucket.objects.has(KEY)).toBe(true);
    now = new Date(Date.parse(PUSHED) + TIMEOUT);
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ pending: 1 });
    now = new Date(Date.parse(PUSHED) + TIMEOUT + 1);
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ completed: 1 });
    expect(bucket.objects.has(KEY)).toBe(false);
    expect(tell).not.toHaveBeenCalled();
  });

  it('keeps the watch of a replication complete in one region and in progress in another', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves({
      replicationStatuses: [
        { region: 'eu-west-1', status: 'COMPLETE' },
        { region: 'eu-central-1', status: 'IN_PROGRESS' },
      ],
    });
    expect(await checkReplication(deps(), TIMEOUT, vi.fn())).toMatchObject({ pending: 1 });
    expect(bucket.objects.has(KEY)).toBe(true);
  });

  it('claims a failure with If-Match on the ETag read, recording when, before telling it', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    const eTag = bucket.objects.get(KEY)?.eTag;
    const claims: unknown[] = [];
    const tell = vi.fn(async () => {
      claims.push(JSON.parse(String(bucket.objects.get(KEY)?.body)));
    });
    await checkReplication(deps(), TIMEOUT, tell);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, {
      Bucket: BUCKET,
      Key: KEY,
      IfMatch: eTag,
      ContentType: 'application/json',
    });
    expect(claims).toEqual([{ ...watch, notifiedAt: now.toISOString() }]);
    expect(tell).toHaveBeenCalledWith(
      expect.objectContaining({
        watch,
        reason: 'ECR could not replicate the image to eu-central-1 (KMS_ERROR).',
      }),
    );
  });

  it('leaves a failure to the check that claimed it first (409 as well as 412)', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    s3Mock.on(PutObjectCommand).rejects(
      Object.assign(new Error('conflict'), {
        name: 'ConditionalRequestConflict',
        $metadata: { httpStatusCode: 409 },
      }),
    );
    const tell = vi.fn();
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ pending: 1, errors: 0 });
    expect(tell).not.toHaveBeenCalled();
  });

  it('counts as an error a claim S3 refuses for another reason, telling nothing', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    s3Mock
      .on(PutObjectCommand)
      .rejects(
        Object.assign(new Error('denied'), { name: 'AccessDenied', $metadata: { httpStatusCode: 403 } }),
      );
    const tell = vi.fn();
    expect(await checkReplication(deps(), TIMEOUT, tell)).toMatchObject({ pending: 0, errors: 1 });
    expect(tell).not.toHaveBeenCalled();
  });

  it('takes its claim back on the ETag of the claim, and keeps the watch', async () => {
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(failed);
    let claimed: string | undefined;
    const tell = vi.fn(async () => {
      claimed = bucket.objects.get(KEY)?.eTag;
      throw new Error('every channel failed');
    });
    await checkReplication(deps(), TIMEOUT, tell);
    const puts = s3Mock.commandCalls(PutObjectCommand).map((c) => c.args[0].input);
    expect(claimed).toBeDefined();
    expect(puts.at(-1)).toMatchObject({ Key: KEY, IfMatch: claimed });
    expect(JSON.parse(String(bucket.objects.get(KEY)?.body))).toEqual(watch);
    expect(s3Mock).not.toHaveReceivedCommand(DeleteObjectCommand);
  });
});

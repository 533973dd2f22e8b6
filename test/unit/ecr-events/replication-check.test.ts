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
import {
  checkReplication,
  type ReplicationCheckDeps,
  type ReplicationFailure,
  replicationFailure,
  replicationNotification,
} from '../../../functions/ecr-events/replication-check.ts';
import { type ReplicationWatch, watchReplication } from '../../../functions/ecr-events/replication-watch.ts';
import { replicationWatchKey } from '../../../functions/shared/upload-record.ts';
import { conditionalBucket, stubLogger } from './fixtures.ts';

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
  it('watches an image once, whatever the redeliveries of its push', async () => {
    const store = { s3, commands: { GetObjectCommand, PutObjectCommand }, bucket: BUCKET, keyPrefix: '' };
    expect(await watchReplication(store, { ...watch, pushedAt: '2026-11-20T07:00:00.000Z' })).toBe('exists');
    expect(JSON.parse(String(bucket.objects.get(KEY)?.body)).pushedAt).toBe(PUSHED);
    expect(s3Mock).toHaveReceivedCommandWith(PutObjectCommand, { Key: KEY, IfNoneMatch: '*' });
  });
});

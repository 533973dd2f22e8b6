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
import { checkReplication } from '../../../../functions/ecr-events/replication/check.ts';
import { noteToldDestination } from '../../../../functions/ecr-events/replication/told-destinations.ts';
import { watchReplication } from '../../../../functions/ecr-events/replication/watch.ts';
import { replicationWatchKey } from '../../../../functions/shared/upload-record.ts';
import { conditionalBucket, stubLogger } from '../fixtures.ts';

const client = { region: 'us-east-1', credentials: { accessKeyId: 'a', secretAccessKey: 'b' } };
const s3 = new S3Client(client);
const ecr = new ECRClient(client);
const s3Mock = mockClient(s3);
const ecrMock = mockClient(ecr);
const BUCKET = 'contexts';
const DIGEST = 'sha256:4b1a0e2f6c9d8a7b3e5f1c0d2a4b6c8e9f0a1b2c3d4e5f60718293a4b5c6d7e8';
const IMAGE = { repository: 'team-a/api', digest: DIGEST };
const KEY = replicationWatchKey('', 'team-a/api', DIGEST);
const PUSHED = '2026-11-30T10:00:00.000Z';
const store = { s3, commands: { GetObjectCommand, PutObjectCommand }, bucket: BUCKET, keyPrefix: '' };
let bucket: ReturnType<typeof conditionalBucket>;
const stored = () => JSON.parse(bucket.objects.get(KEY)?.body ?? 'null');

beforeEach(() => {
  s3Mock.reset();
  ecrMock.reset();
  bucket = conditionalBucket();
  s3Mock.on(GetObjectCommand).callsFake(bucket.get);
  s3Mock.on(PutObjectCommand).callsFake(bucket.put);
  s3Mock.on(DeleteObjectCommand).callsFake(bucket.delete);
  s3Mock.on(ListObjectsV2Command).callsFake(bucket.list);
});

describe('noteToldDestination', () => {
  it('writes the told destination into the watch, keeping what it held', async () => {
    await watchReplication(store, { ...IMAGE, tag: 'v1.2.3', pushedAt: PUSHED });
    expect(await noteToldDestination(store, IMAGE, 'eu-west-1')).toBe('noted');
    expect(await noteToldDestination(store, IMAGE, 'ap-south-1')).toBe('noted');
    expect(await noteToldDestination(store, IMAGE, 'eu-west-1')).toBe('noted');
    expect(stored()).toEqual({
      ...IMAGE,
      tag: 'v1.2.3',
      pushedAt: PUSHED,
      toldRegions: ['ap-south-1', 'eu-west-1'],
    });
  });

  it('writes nothing for an image that is not watched', async () => {
    expect(await noteToldDestination(store, IMAGE, 'eu-west-1')).toBe('no-watch');
    expect(s3Mock.commandCalls(PutObjectCommand)).toHaveLength(0);
  });

  it('writes only over the watch it read (If-Match), and says so when another writer came first', async () => {
    await watchReplication(store, { ...IMAGE, pushedAt: PUSHED });
    const eTag = bucket.objects.get(KEY)?.eTag;
    s3Mock
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error('PreconditionFailed'), { $metadata: { httpStatusCode: 412 } }));
    expect(await noteToldDestination(store, IMAGE, 'eu-west-1')).toBe('raced');
    expect(s3Mock.commandCalls(PutObjectCommand).at(-1)?.args[0].input.IfMatch).toBe(eTag);
  });

  it('says raced on a conflicting write too (409), and lets a failed write through', async () => {
    await watchReplication(store, { ...IMAGE, pushedAt: PUSHED });
    s3Mock
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error('Conflict'), { $metadata: { httpStatusCode: 409 } }));
    expect(await noteToldDestination(store, IMAGE, 'eu-west-1')).toBe('raced');
    s3Mock
      .on(PutObjectCommand)
      .rejects(Object.assign(new Error('InternalError'), { $metadata: { httpStatusCode: 500 } }));
    await expect(noteToldDestination(store, IMAGE, 'eu-west-1')).rejects.toThrow('InternalError');
  });

  it('writes the watch back as JSON', async () => {
    await watchReplication(store, { ...IMAGE, pushedAt: PUSHED });
    await noteToldDestination(store, IMAGE, 'eu-west-1');
    expect(s3Mock.commandCalls(PutObjectCommand).at(-1)?.args[0].input.ContentType).toBe('application/json');
  });

  it('lets another error through (the invocation is retried)', async () => {
    s3Mock
      .on(GetObjectCommand)
      .rejects(Object.assign(new Error('SlowDown'), { $metadata: { httpStatusCode: 503 } }));
    await expect(noteToldDestination(store, IMAGE, 'eu-west-1')).rejects.toThrow('SlowDown');
  });
});

describe('the scheduled check after an event told a destination', () => {
  const deps = () => ({
    s3,
    paginate: paginateListObjectsV2,
    commands: { GetObjectCommand, PutObjectCommand, DeleteObjectCommand },
    ecr,
    bucket: BUCKET,
    keyPrefix: '',
    now: () => new Date(Date.parse(PUSHED) + 3_600_000),
    logger: stubLogger(),
  });
  const statuses = (second: 'FAILED' | 'IN_PROGRESS') => ({
    replicationStatuses: [
      {
        region: 'eu-west-1',
        registryId: '123456789012',
        status: 'FAILED' as const,
        failureCode: 'KMS_ERROR',
      },
      { region: 'ap-south-1', registryId: '123456789012', status: 'COMPLETE' as const },
      { region: 'us-west-2', registryId: '123456789012', status: second },
    ],
  });

  it('does not tell a told destination again and ends the watch once the others are complete', async () => {
    await watchReplication(store, { ...IMAGE, pushedAt: PUSHED });
    await noteToldDestination(store, IMAGE, 'eu-west-1');
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves({
      replicationStatuses: statuses('IN_PROGRESS').replicationStatuses.slice(0, 2),
    });
    const tell = vi.fn(async () => {});
    expect(await checkReplication(deps(), 6 * 3_600_000, tell)).toMatchObject({ told: 0, completed: 1 });
    expect(tell).not.toHaveBeenCalled();
    expect(bucket.objects.has(KEY)).toBe(false);
  });

  it('still tells a destination no event told', async () => {
    await watchReplication(store, { ...IMAGE, pushedAt: PUSHED });
    await noteToldDestination(store, IMAGE, 'eu-west-1');
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(statuses('FAILED'));
    const tell = vi.fn(async () => {});
    expect(await checkReplication(deps(), 6 * 3_600_000, tell)).toMatchObject({ told: 1 });
    expect(tell).toHaveBeenCalledWith(
      expect.objectContaining({ reason: 'ECR could not replicate the image to us-west-2.' }),
    );
  });

  it('keeps watching while another destination is still in progress', async () => {
    await watchReplication(store, { ...IMAGE, pushedAt: PUSHED });
    await noteToldDestination(store, IMAGE, 'eu-west-1');
    ecrMock.on(DescribeImageReplicationStatusCommand).resolves(statuses('IN_PROGRESS'));
    expect(await checkReplication(deps(), 6 * 3_600_000, vi.fn())).toMatchObject({ pending: 1 });
    expect(bucket.objects.has(KEY)).toBe(true);
  });
});

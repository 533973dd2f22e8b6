import {
  DeleteObjectCommand,
  GetObjectCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../functions/release/errors.ts';
import {
  clearPending,
  currentUpload,
  listPending,
  markPending,
  readRecord,
  recordOfImage,
  writeImageIndex,
  writeRecord,
} from '../../../functions/release/store.ts';
import { imageIndexKey, type UploadRecord } from '../../../functions/shared/upload-record.ts';
import { awsError, DIGEST, s3Mock } from './helpers.ts';

const deps = { s3: new S3Client({ region: 'us-west-2' }), bucket: 'b', keyPrefix: '' };
const body = (value: unknown) => ({ transformToString: async () => JSON.stringify(value) }) as never;
beforeEach(() => s3Mock.reset());

describe('store', () => {
  it('reads no record where there is none, or none readable', async () => {
    s3Mock.on(GetObjectCommand).rejects(awsError('AccessDenied', 403));
    expect(await readRecord(deps, 'k')).toBeUndefined();
    s3Mock.on(GetObjectCommand).resolves({ Body: { transformToString: async () => '{not json' } as never });
    expect(await readRecord(deps, 'k')).toBeUndefined();
    s3Mock.on(GetObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(readRecord(deps, 'k')).rejects.toBeInstanceOf(TransientError);
  });

  it('follows an image index only to a record of its own folder, for the same image', async () => {
    const key = imageIndexKey('', 'team/web', DIGEST);
    const record = `.ecr-pipeline/uploads/${'a'.repeat(64)}.json`;
    s3Mock
      .on(GetObjectCommand, { Key: key })
      .resolves({ Body: body({ record, repository: 'team/web', digest: DIGEST }) });
    expect(await recordOfImage(deps, 'team/web', DIGEST)).toBe(record);
    s3Mock
      .on(GetObjectCommand, { Key: key })
      .resolves({ Body: body({ record: 'team/web/x.tar.gz', repository: 'team/web', digest: DIGEST }) });
    expect(await recordOfImage(deps, 'team/web', DIGEST)).toBeUndefined();
    s3Mock
      .on(GetObjectCommand, { Key: key })
      .resolves({ Body: body({ record, repository: 'other', digest: DIGEST }) });
    expect(await recordOfImage(deps, 'team/web', DIGEST)).toBeUndefined();
    s3Mock
      .on(GetObjectCommand, { Key: key })
      .resolves({ Body: body({ record, repository: 'team/web', digest: 'x' }) });
    expect(await recordOfImage(deps, 'team/web', DIGEST)).toBeUndefined();
  });

  it('takes a 404 or 405 for a deleted upload, but never a denial', async () => {
    const identity = { bucket: 'b', key: 'k.tar.gz', versionId: 'v1' };
    s3Mock.on(HeadObjectCommand).rejects(awsError('NotFound', 404));
    expect(await currentUpload(deps, identity)).toEqual({ current: false, metadata: {} });
    s3Mock.on(HeadObjectCommand).rejects(awsError('MethodNotAllowed', 405));
    expect(await currentUpload(deps, identity)).toEqual({ current: false, metadata: {} });
    s3Mock.on(HeadObjectCommand).rejects(awsError('Forbidden', 403));
    await expect(currentUpload(deps, identity)).rejects.toBeInstanceOf(PermanentError);
  });

  it('asks about the other keys of the same image, and is superseded only by a later one', async () => {
    const at = (seconds: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, seconds));
    const heads = (times: Record<string, Date | number>) =>
      s3Mock.on(HeadObjectCommand).callsFake(async (input: { Key: string }) => {
        const time = times[input.Key];
        if (time === undefined) throw awsError('NotFound', 404);
        if (typeof time === 'number') throw awsError('Denied', time);
        return { VersionId: 'v1', LastModified: time };
      });
    const identity = { bucket: 'b', key: 'api/v1.tar.gz', versionId: 'v1' };
    heads({ 'api/v1.tar.gz': at(10) });
    expect(await currentUpload(deps, identity)).toEqual({ current: true, metadata: {} });
    expect(s3Mock.commandCalls(HeadObjectCommand).map((c) => c.args[0].input.Key)).toEqual([
      'api/v1.tar.gz',
      'api/v1.tgz',
      'api/v1.tar',
    ]);
    heads({ 'api/v1.tar.gz': at(10), 'api/v1.tgz': at(9), 'api/v1.tar': at(10) });
    expect(await currentUpload(deps, identity)).toMatchObject({ current: true });
    heads({ 'api/v1.tar.gz': at(10), 'api/v1.tgz': at(9), 'api/v1.tar': at(11) });
    expect(await currentUpload(deps, identity)).toEqual({
      current: false,
      metadata: {},
      newerKey: 'api/v1.tar',
    });
    // Without s3:ListBucket, S3 answers 403 for a key that does not exist.
    heads({ 'api/v1.tar.gz': at(10), 'api/v1.tgz': 403, 'api/v1.tar': 403 });
    expect(await currentUpload(deps, identity)).toMatchObject({ current: true });
    heads({ 'api/v1.tar.gz': at(10), 'api/v1.tgz': 503 });
    await expect(currentUpload(deps, identity)).rejects.toBeInstanceOf(TransientError);
  });

  it("gives the metadata of the upload only while it is the key's current version", async () => {
    s3Mock.on(HeadObjectCommand).resolves({ VersionId: 'v1', Metadata: { 'release-gate': 'scan' } });
    expect(await currentUpload(deps, { bucket: 'b', key: 'k', versionId: 'v1' })).toEqual({
      current: true,
      metadata: { 'release-gate': 'scan' },
    });
    expect(await currentUpload(deps, { bucket: 'b', key: 'k', versionId: 'v0' })).toEqual({
      current: false,
      metadata: {},
    });
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '"abc"' });
    expect(await currentUpload(deps, { bucket: 'b', key: 'k', eTag: 'abc' })).toEqual({
      current: true,
      metadata: {},
    });
    s3Mock.on(HeadObjectCommand).resolves({});
    expect(await currentUpload(deps, { bucket: 'b', key: 'k' })).toMatchObject({ current: false });
  });

  it('reads a record with the ETag it was read with; an empty body is an empty record', async () => {
    s3Mock.on(GetObjectCommand).resolves({ Body: body({ status: 'built' }), ETag: '"e1"' });
    expect(await readRecord(deps, 'k')).toEqual({ record: { status: 'built' }, eTag: '"e1"' });
    expect(s3Mock.commandCalls(GetObjectCommand)[0]?.args[0].input).toEqual({ Bucket: 'b', Key: 'k' });
    s3Mock.on(GetObjectCommand).resolves({});
    expect(await readRecord(deps, 'k')).toEqual({ record: {}, eTag: '' });
    s3Mock.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404));
    expect(await readRecord(deps, 'k')).toBeUndefined();
    s3Mock.on(GetObjectCommand).rejects(awsError('InvalidObjectState', 400));
    await expect(readRecord(deps, 'k')).rejects.toThrow(
      new PermanentError('reading k failed: InvalidObjectState: InvalidObjectState (test)'),
    );
  });

  it('writes a record only over the ETag it read, and says conflict when it changed', async () => {
    const record = { status: 'released', bucket: 'b', key: 'k' } as UploadRecord;
    s3Mock.on(PutObjectCommand).resolves({ ETag: '"e2"' });
    expect(await writeRecord(deps, 'rec', record, '"e1"')).toEqual({ kind: 'written', eTag: '"e2"' });
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'rec',
      Body: JSON.stringify(record),
      ContentType: 'application/json',
      IfMatch: '"e1"',
    });
    s3Mock.on(PutObjectCommand).rejects(awsError('PreconditionFailed', 412));
    expect(await writeRecord(deps, 'rec', record, '"e1"')).toEqual({ kind: 'conflict' });
    s3Mock.on(PutObjectCommand).rejects(awsError('ConditionalRequestConflict', 409));
    expect(await writeRecord(deps, 'rec', record, '"e1"')).toEqual({ kind: 'conflict' });
    s3Mock.on(PutObjectCommand).resolves({});
    expect(await writeRecord(deps, 'rec', record, '"e1"')).toEqual({ kind: 'written', eTag: '' });
    s3Mock.on(PutObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(writeRecord(deps, 'rec', record, '"e1"')).rejects.toThrow(
      new TransientError('writing the upload record failed: SlowDown: SlowDown (test)'),
    );
  });

  it('writes the image index under the hash of the image, naming the record', async () => {
    s3Mock.on(PutObjectCommand).resolves({});
    await writeImageIndex({ ...deps, keyPrefix: 'p/' }, 'p/rec.json', 'team/web', DIGEST);
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: imageIndexKey('p/', 'team/web', DIGEST),
      Body: JSON.stringify({ record: 'p/rec.json', repository: 'team/web', digest: DIGEST }),
      ContentType: 'application/json',
    });
    s3Mock.on(PutObjectCommand).rejects(awsError('AccessDenied', 403));
    await expect(writeImageIndex(deps, 'rec', 'team/web', DIGEST)).rejects.toThrow(
      new PermanentError('writing the image index failed: AccessDenied: AccessDenied (test)'),
    );
  });

  it('marks, clears and lists the releases that wait for a scan, under the stack prefix', async () => {
    const name = `${'c'.repeat(64)}.json`;
    const recordKey = `p/.ecr-pipeline/uploads/${name}`;
    const marker = `p/.ecr-pipeline/release-pending/${name}`;
    const prefixed = { ...deps, keyPrefix: 'p/' };
    s3Mock.on(PutObjectCommand).resolves({});
    await markPending(prefixed, recordKey, '2026-11-16T16:30:00.000Z');
    expect(s3Mock.commandCalls(PutObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: marker,
      Body: JSON.stringify({ record: recordKey, deadline: '2026-11-16T16:30:00.000Z' }),
      ContentType: 'application/json',
    });
    s3Mock.on(DeleteObjectCommand).resolves({});
    await clearPending(prefixed, recordKey);
    expect(s3Mock.commandCalls(DeleteObjectCommand)[0]?.args[0].input).toEqual({ Bucket: 'b', Key: marker });
    s3Mock.on(ListObjectsV2Command).resolves({
      Contents: [
        { Key: marker },
        { Key: 'p/.ecr-pipeline/release-pending/short.json' },
        { Key: `p/.ecr-pipeline/release-pending/${'C'.repeat(64)}.json` },
        { Key: `p/.ecr-pipeline/release-pending/x${name}` },
        { Key: `p/.ecr-pipeline/release-pending/${name}.bak` },
        {},
      ],
    });
    expect(await listPending(prefixed)).toEqual([recordKey]);
    expect(s3Mock.commandCalls(ListObjectsV2Command)[0]?.args[0].input).toMatchObject({
      Bucket: 'b',
      Prefix: 'p/.ecr-pipeline/release-pending/',
    });
    s3Mock.on(ListObjectsV2Command).resolves({});
    expect(await listPending(prefixed)).toEqual([]);
  });

  it('says which write of the pending markers failed', async () => {
    s3Mock.on(PutObjectCommand).rejects(awsError('AccessDenied', 403));
    await expect(markPending(deps, 'rec', 'd')).rejects.toThrow(
      new PermanentError('writing the pending-release marker failed: AccessDenied: AccessDenied (test)'),
    );
    s3Mock.on(DeleteObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(clearPending(deps, 'rec')).rejects.toThrow(
      new TransientError('removing the pending-release marker failed: SlowDown: SlowDown (test)'),
    );
    s3Mock.on(ListObjectsV2Command).rejects(awsError('SlowDown', 503));
    await expect(listPending(deps)).rejects.toThrow(
      new TransientError('listing the pending releases failed: SlowDown: SlowDown (test)'),
    );
  });

  it('follows no image index whose record is not a string', async () => {
    s3Mock
      .on(GetObjectCommand)
      .resolves({ Body: body({ record: 7, repository: 'team/web', digest: DIGEST }) });
    expect(await recordOfImage(deps, 'team/web', DIGEST)).toBeUndefined();
    s3Mock.on(GetObjectCommand).rejects(awsError('NoSuchKey', 404));
    expect(await recordOfImage(deps, 'team/web', DIGEST)).toBeUndefined();
  });

  it('names the key whose HeadObject failed', async () => {
    s3Mock.on(HeadObjectCommand).rejects(awsError('SlowDown', 503));
    await expect(currentUpload(deps, { bucket: 'b', key: 'k.tar.gz', versionId: 'v1' })).rejects.toThrow(
      new TransientError('HeadObject of k.tar.gz failed: SlowDown: SlowDown (test)'),
    );
    expect(s3Mock.commandCalls(HeadObjectCommand)[0]?.args[0].input).toEqual({
      Bucket: 'b',
      Key: 'k.tar.gz',
    });
  });

  it('is not current when neither the upload nor the object has an ETag, nor superseded by an undated key', async () => {
    s3Mock.on(HeadObjectCommand).resolves({ ETag: '""' });
    expect(await currentUpload(deps, { bucket: 'b', key: 'k', eTag: '' })).toMatchObject({ current: false });
    // The upload's own time unknown: no other key counts as newer.
    s3Mock
      .on(HeadObjectCommand)
      .resolves({ VersionId: 'v1', LastModified: new Date('2026-11-16T16:00:00Z') })
      .on(HeadObjectCommand, { Key: 'api/v1.tar.gz' })
      .resolves({ VersionId: 'v1' });
    expect(await currentUpload(deps, { bucket: 'b', key: 'api/v1.tar.gz', versionId: 'v1' })).toEqual({
      current: true,
      metadata: {},
    });
  });
});

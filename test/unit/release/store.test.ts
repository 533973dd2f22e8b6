import { GetObjectCommand, HeadObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { beforeEach, describe, expect, it } from 'vitest';
import { PermanentError, TransientError } from '../../../functions/release/errors.ts';
import { currentUpload, readRecord, recordOfImage } from '../../../functions/release/store.ts';
import { imageIndexKey } from '../../../functions/shared/upload-record.ts';
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
});
